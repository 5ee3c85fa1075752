//! Shared fixtures: a sandbox, a state folder and jobs built in code.

use std::collections::HashMap;
use std::path::Path;

use payroll::djamo::Client;
use payroll::manifest::{Job, Limits, OnKycFailure, Payment};
use payroll::money::{Amount, FeeRate};
use payroll::msisdn::Msisdn;
use payroll::sandbox::ledger::LedgerEntry;
use payroll::sandbox::testing::TestSandbox;
use payroll::state::SledStore;

/// A valid Côte d'Ivoire mobile number for recipient `index`, outside the sandbox's reserved
/// range of special numbers.
pub fn msisdn(index: usize) -> Msisdn {
    Msisdn::parse(&format!("22507{:08}", 10_000_000 + index)).expect("valid test number")
}

/// A job of `count` payments of 10 000 XOF plus `index * 1000`, references `t-2026-12-E<index>`.
pub fn job(name: &str, count: usize) -> Job {
    let payments = (0..count)
        .map(|index| Payment {
            recipient_id: format!("E{index:03}"),
            name: format!("Recipient {index}"),
            msisdn: msisdn(index),
            amount: Amount(10_000 + 1_000 * index as u64),
            reference: format!("{name}-2026-12-E{index:03}"),
            description: Some("Salaire 2026-12".to_owned()),
        })
        .collect();
    Job {
        name: name.to_owned(),
        period: "2026-12".to_owned(),
        payments,
        fee_rate: FeeRate::DEFAULT,
        limits: Limits::default(),
        chunk_size: None,
        on_kyc_failure: OnKycFailure::Block,
        sub_company_id: None,
        manifest_digest: "test-digest".to_owned(),
    }
}

/// A temporary folder removed on drop.
pub struct TempDir(pub tempfile::TempDir);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(tempfile::tempdir().expect("temporary folder"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A sandbox, a client for it and a state folder.
pub struct Fixture {
    pub sandbox: TestSandbox,
    pub client: Client,
    pub state_dir: TempDir,
}

impl Fixture {
    pub async fn new() -> Fixture {
        Fixture::with(TestSandbox::start().await)
    }

    pub fn with(sandbox: TestSandbox) -> Fixture {
        let client = Client::new(sandbox.client_config()).expect("client");
        Fixture {
            sandbox,
            client,
            state_dir: TempDir::new(),
        }
    }

    pub fn store(&self) -> SledStore {
        SledStore::open(self.state_dir.path()).expect("state opens")
    }
}

/// Ledger entries per reference; a test asserts every count is one.
pub fn count_by_reference(ledger: &[LedgerEntry]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for entry in ledger {
        *counts.entry(entry.reference.clone()).or_insert(0) += 1;
    }
    counts
}

/// Asserts that every payment of `job` is in the ledger exactly once and nothing else is.
pub fn assert_paid_once(job: &Job, ledger: &[LedgerEntry]) {
    let counts = count_by_reference(ledger);
    for payment in &job.payments {
        assert_eq!(
            counts.get(&payment.reference).copied().unwrap_or(0),
            1,
            "reference `{}` should be in the ledger exactly once",
            payment.reference
        );
    }
    assert_eq!(
        ledger.len(),
        job.payments.len(),
        "the ledger holds other transactions"
    );
}
