//! The integration tests, one binary with a module per topic. They run the real parts: the
//! sandbox over HTTP on 127.0.0.1 and sled folders in temporary directories.

mod apply;
mod bin;
mod cli;
mod client;
mod crash;
mod manifest;
mod plan;
mod render;
mod sandbox;
mod schedule;
mod state;
mod support;
mod workflow;
