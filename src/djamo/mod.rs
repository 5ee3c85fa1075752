//! The Djamo Transfer API: wire types and a typed HTTP client.

pub mod client;
pub mod error;
pub mod retry;
mod send;
pub mod token;
pub mod wire;

pub use client::{Client, ClientConfig, CustomerStatus};
pub use error::{ApiError, ApiErrorKind};
pub use token::ApiToken;
