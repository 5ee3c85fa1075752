//! Typed HTTP client for the Djamo Transfer API.

use std::time::Duration;

use crate::djamo::error::ApiError;
use crate::djamo::token::ApiToken;
use crate::djamo::wire::{Balance, Batch, CustomerCheck, NewTransaction, Transaction};
use crate::msisdn::Msisdn;

/// Where and how to reach the provider.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL without a trailing `/v1`, for example `http://127.0.0.1:8080`.
    pub base_url: String,
    pub token: ApiToken,
    /// Sent as `X-Company-Id` with every request when set.
    pub company_id: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Requests in flight at once, across all tasks sharing this client.
    pub max_concurrency: usize,
    /// Retries of an idempotent GET after the first attempt.
    pub max_retries: u32,
    /// First backoff between retries; doubled each time. Tests set it to zero.
    pub retry_base_delay: Duration,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: ApiToken) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            token,
            company_id: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_concurrency: 16,
            max_retries: 4,
            retry_base_delay: Duration::from_millis(200),
        }
    }
}

/// A cheap-to-clone handle on one HTTP connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    config: ClientConfig,
}

/// The result of a customer check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerStatus {
    Found(CustomerCheck),
    /// The provider has no Djamo customer with that number.
    NotFound,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        Ok(Client { config })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `POST /v1/transactions`. Never retried: on an unknown outcome the caller looks the
    /// reference up.
    pub async fn create_transaction(
        &self,
        request: &NewTransaction,
    ) -> Result<Transaction, ApiError> {
        let _ = request;
        unimplemented!("client")
    }

    /// `POST /v1/transactions/batch`. Never retried, as for a single transaction.
    pub async fn create_batch(&self, transactions: &[NewTransaction]) -> Result<Batch, ApiError> {
        let _ = transactions;
        unimplemented!("client")
    }

    /// `GET /v1/transactions/<id>`.
    pub async fn transaction(&self, id: &str) -> Result<Transaction, ApiError> {
        let _ = id;
        unimplemented!("client")
    }

    /// `GET /v1/transactions?reference=`, following cursors to the last page.
    pub async fn transactions_by_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<Transaction>, ApiError> {
        let _ = reference;
        unimplemented!("client")
    }

    /// `GET /v1/balance`.
    pub async fn balance(&self) -> Result<Balance, ApiError> {
        unimplemented!("client")
    }

    /// `GET /v1/transactions/customers/check`.
    pub async fn check_customer(
        &self,
        msisdn: &Msisdn,
        sub_company_id: Option<&str>,
    ) -> Result<CustomerStatus, ApiError> {
        let _ = (msisdn, sub_company_id);
        unimplemented!("client")
    }
}
