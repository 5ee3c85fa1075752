//! Typed HTTP client for the Djamo Transfer API.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use tokio::sync::Semaphore;

use crate::djamo::error::{ApiError, ApiErrorKind};
use crate::djamo::token::ApiToken;
use crate::djamo::wire::{
    Balance, Batch, BatchRequest, CustomerCheck, NewTransaction, Page, Transaction,
};
use crate::msisdn::Msisdn;

/// Settings for reaching the provider.
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
    /// Upper bound on a provider's `Retry-After`, so that a rate limit cannot stall a run for
    /// longer than this per retry.
    pub max_retry_after: Duration,
    /// Pages followed by one listing before the client gives up, in case a provider keeps
    /// handing out cursors.
    pub max_pages: u32,
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
            max_retry_after: Duration::from_secs(60),
            max_pages: 1_000,
        }
    }
}

/// A cheap-to-clone handle on one HTTP connection pool.
#[derive(Clone)]
pub struct Client {
    pub(crate) config: ClientConfig,
    /// The base URL with a trailing `/`, so that joining `v1/...` keeps any path prefix.
    pub(crate) base: Url,
    pub(crate) http: reqwest::Client,
    pub(crate) limiter: Arc<Semaphore>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The result of a customer check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerStatus {
    Found(CustomerCheck),
    /// The provider has no Djamo customer with that number.
    NotFound,
}

/// Header that names the company, as Djamo's integration samples send it.
pub const COMPANY_HEADER: &str = "X-Company-Id";

impl Client {
    /// Builds the connection pool. Fails when the base URL does not parse, is not `http` or
    /// `https`, or the TLS stack cannot start.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let invalid = |cause: String| ApiError {
            method: "",
            path: String::new(),
            kind: ApiErrorKind::InvalidConfig(cause),
            attempts: 0,
        };

        let trimmed = config.base_url.trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/")).map_err(|e| {
            invalid(format!(
                "provider URL `{}` is invalid: {e}",
                config.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "provider URL `{}` must start with `http://` or `https://`",
                config.base_url
            )));
        }
        if config.max_concurrency == 0 {
            return Err(invalid(
                "the concurrency limit must be at least 1".to_owned(),
            ));
        }

        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("payroll/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("the HTTP client could not start: {e}")))?;
        let limiter = Arc::new(Semaphore::new(config.max_concurrency));
        Ok(Client {
            config,
            base,
            http,
            limiter,
        })
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
        self.send(Method::POST, &["v1", "transactions"], &[], Some(request))
            .await
    }

    /// `POST /v1/transactions/batch`. Never retried, as for a single transaction.
    pub async fn create_batch(&self, transactions: &[NewTransaction]) -> Result<Batch, ApiError> {
        let body = BatchRequest {
            transactions: transactions.to_vec(),
        };
        self.send(
            Method::POST,
            &["v1", "transactions", "batch"],
            &[],
            Some(&body),
        )
        .await
    }

    /// `GET /v1/transactions/<id>`.
    pub async fn transaction(&self, id: &str) -> Result<Transaction, ApiError> {
        self.get(&["v1", "transactions", id], &[]).await
    }

    /// `GET /v1/transactions?reference=`, following cursors to the last page.
    ///
    /// Only transactions whose reference equals `reference` exactly are returned, whatever
    /// looser matching the provider applies to the query.
    pub async fn transactions_by_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<Transaction>, ApiError> {
        let all = self.list(&[("reference", reference)]).await?;
        Ok(exact_matches(reference, all))
    }

    /// `GET /v1/transactions`, every page: all transactions of the business account.
    pub async fn transactions(&self) -> Result<Vec<Transaction>, ApiError> {
        self.list(&[]).await
    }

    /// `GET /v1/balance`.
    pub async fn balance(&self) -> Result<Balance, ApiError> {
        self.get(&["v1", "balance"], &[]).await
    }

    /// `GET /v1/transactions/customers/check`. A 404 means the provider has no customer with
    /// that number.
    ///
    /// NOTE: the published API does not document the body of that 404, so a 404 caused by a
    /// base URL with a wrong path also reads as `NotFound`. That blocks payments, never makes one.
    pub async fn check_customer(
        &self,
        msisdn: &Msisdn,
        sub_company_id: Option<&str>,
    ) -> Result<CustomerStatus, ApiError> {
        let mut query = vec![("msisdn", msisdn.as_str())];
        if let Some(sub_company_id) = sub_company_id {
            query.push(("subCompanyId", sub_company_id));
        }
        let path = ["v1", "transactions", "customers", "check"];
        match self.get::<CustomerCheck>(&path, &query).await {
            Ok(check) => Ok(CustomerStatus::Found(check)),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND.as_u16()) => {
                Ok(CustomerStatus::NotFound)
            }
            Err(error) => Err(error),
        }
    }

    /// Follows `cursor.next` from the first page until it is null.
    async fn list(&self, query: &[(&str, &str)]) -> Result<Vec<Transaction>, ApiError> {
        let path = ["v1", "transactions"];
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let mut page_query = query.to_vec();
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor));
            }
            let page: Page<Transaction> = self.get(&path, &page_query).await?;
            all.extend(page.data);

            match page.cursor.next {
                None => return Ok(all),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(self.decode_error(
                            &path,
                            &page_query,
                            format!("cursor `{next}` was handed out twice"),
                        ));
                    }
                    cursor = Some(next);
                }
            }
        }
        Err(self.decode_error(
            &path,
            query,
            format!(
                "more than {} pages; the listing did not end",
                self.config.max_pages
            ),
        ))
    }

    fn decode_error(&self, segments: &[&str], query: &[(&str, &str)], cause: String) -> ApiError {
        ApiError {
            method: "GET",
            path: self.display_path(segments, query),
            kind: ApiErrorKind::Decode(cause),
            attempts: 1,
        }
    }
}

/// Keeps the transactions whose reference is exactly `reference`. A provider may match a query
/// by prefix or ignore case; a payment is identified by its exact reference only.
pub fn exact_matches(reference: &str, transactions: Vec<Transaction>) -> Vec<Transaction> {
    transactions
        .into_iter()
        .filter(|t| t.reference == reference)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::djamo::wire::TransactionStatus;
    use crate::money::Amount;

    fn transaction(reference: &str) -> Transaction {
        Transaction {
            id: format!("txn_{reference}"),
            created_at: String::new(),
            updated_at: String::new(),
            amount: Amount(5_000),
            fee: Amount(50),
            total_amount: Amount(5_050),
            status: TransactionStatus::Completed,
            msisdn: "2250747000000".to_owned(),
            reference: reference.to_owned(),
            description: None,
            kind: "transfer".to_owned(),
            batch_id: None,
            failure_reason: None,
        }
    }

    #[test]
    fn exact_matches_drops_near_references() {
        let page = ["sal-1", "sal-10", "SAL-1", "sal-1 ", "sal-1"]
            .into_iter()
            .map(transaction)
            .collect();
        let kept = exact_matches("sal-1", page);
        let references: Vec<&str> = kept.iter().map(|t| t.reference.as_str()).collect();
        assert_eq!(references, ["sal-1", "sal-1"]);
    }
}
