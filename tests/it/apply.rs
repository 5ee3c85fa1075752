//! Integration tests: apply pays every payment exactly once, through faults and re-runs.

use std::time::Duration;

use payroll::apply::{ApplyOptions, apply};
use payroll::djamo::wire::TransactionStatus;
use payroll::money::Amount;
use payroll::plan::{Action, PlanOptions, build};
use payroll::sandbox::faults::Fault;
use payroll::state::{PaymentStatus, Store};

use crate::support::{Fixture, assert_paid_once, job};

const BATCH: &str = "/v1/transactions/batch";

fn options(chunk_size: usize) -> ApplyOptions {
    ApplyOptions {
        chunk_size,
        poll_interval: Duration::from_millis(20),
        wait_timeout: Duration::from_secs(20),
        ..ApplyOptions::default()
    }
}

/// Plans and applies `job` once against the fixture's sandbox and state.
async fn plan_and_apply(
    fixture: &Fixture,
    job: &payroll::manifest::Job,
    chunk_size: usize,
) -> payroll::apply::ApplyReport {
    let store = fixture.store();
    let plan = build(job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    assert!(!plan.is_blocked(), "plan is blocked: {:?}", plan.blockers);
    apply(&plan, &store, &fixture.client, &options(chunk_size))
        .await
        .expect("apply")
}

#[tokio::test]
async fn apply_pays_everyone_once_and_rerun_pays_nothing() {
    let fixture = Fixture::new().await;
    let job = job("salaries", 25);

    let first = plan_and_apply(&fixture, &job, 10).await;
    assert_eq!(first.sent, 25);
    assert_eq!(first.completed, 25);
    assert_eq!(first.exit_code(true), 0);

    let second = plan_and_apply(&fixture, &job, 10).await;
    assert_eq!(second.sent, 0);
    assert_eq!(second.completed, 25);

    assert_paid_once(&job, &fixture.sandbox.ledger().await);
}

#[tokio::test]
async fn fresh_state_folder_pays_nothing_new() {
    let fixture = Fixture::new().await;
    let job = job("salaries", 12);
    plan_and_apply(&fixture, &job, 5).await;

    let fresh = crate::support::TempDir::new();
    let store = payroll::state::SledStore::open(fresh.path()).expect("fresh state opens");
    let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    assert_eq!(plan.summary.to_pay, 0);
    assert_eq!(plan.summary.already_paid, 12);
    assert!(plan.items.iter().all(|item| item.action == Action::None));

    assert_paid_once(&job, &fixture.sandbox.ledger().await);
}

/// Runs apply with `fault` armed on the batch endpoint, then again until nothing is left, and
/// checks that every payment was made exactly once.
async fn survives_batch_fault(fault: Fault, client_timeout: Option<Duration>) {
    let mut fixture = Fixture::new().await;
    if let Some(timeout) = client_timeout {
        let mut config = fixture.sandbox.client_config();
        config.request_timeout = timeout;
        fixture.client = payroll::djamo::Client::new(config).expect("client");
    }
    let job = job("faults", 9);
    fixture.sandbox.add_fault(fault).await;

    let store = fixture.store();
    for _ in 0..4 {
        let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
            .await
            .expect("plan");
        if !plan.has_work() {
            break;
        }
        let _ = apply(&plan, &store, &fixture.client, &options(4)).await;
    }
    let ledger = fixture.sandbox.wait_settled().await;
    assert_paid_once(&job, &ledger);
    let records = store.payments("faults", "2026-12").expect("records");
    assert_eq!(records.len(), 9);
    for record in &records {
        let entry = ledger
            .iter()
            .find(|e| e.reference == record.reference)
            .expect("recorded reference is in the ledger");
        assert_eq!(record.transaction_id.as_deref(), Some(entry.id.as_str()));
        assert_eq!(record.amount, entry.amount);
    }
}

#[tokio::test]
async fn batch_500_before_commit_pays_once() {
    survives_batch_fault(Fault::status(BATCH, 500, 1), None).await;
}

#[tokio::test]
async fn batch_429_pays_once() {
    survives_batch_fault(Fault::status(BATCH, 429, 2).with_retry_after(0), None).await;
}

#[tokio::test]
async fn batch_422_pays_once() {
    survives_batch_fault(Fault::status(BATCH, 422, 1), None).await;
}

#[tokio::test]
async fn batch_drop_after_commit_pays_once() {
    survives_batch_fault(Fault::drop_after_commit(BATCH, 2), None).await;
}

#[tokio::test]
async fn batch_delay_past_timeout_pays_once() {
    survives_batch_fault(
        Fault::delay(BATCH, 1_500, 1),
        Some(Duration::from_millis(400)),
    )
    .await;
}

#[tokio::test]
async fn existing_reference_is_not_paid_again() {
    let fixture = Fixture::new().await;
    let job = job("outside", 5);
    let first = &job.payments[2];
    let created = fixture
        .client
        .create_transaction(&payroll::djamo::wire::NewTransaction {
            msisdn: first.msisdn.as_str().to_owned(),
            amount: first.amount,
            reference: first.reference.clone(),
            description: None,
            kind: Some("transfer".to_owned()),
        })
        .await
        .expect("payment made outside payroll");
    assert_eq!(created.status, TransactionStatus::Pending);

    let report = plan_and_apply(&fixture, &job, 10).await;
    assert_eq!(report.sent, 4);
    assert_paid_once(&job, &fixture.sandbox.wait_settled().await);
}

#[tokio::test]
async fn racing_reference_resolved_by_409() {
    // A reference the plan thought new is created by someone else between plan and apply: the
    // batch gets a 409 and apply resolves it by lookup instead of paying twice.
    let fixture = Fixture::new().await;
    let job = job("race", 4);
    let store = fixture.store();
    let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    let racer = &job.payments[1];
    fixture
        .client
        .create_transaction(&payroll::djamo::wire::NewTransaction {
            msisdn: racer.msisdn.as_str().to_owned(),
            amount: racer.amount,
            reference: racer.reference.clone(),
            description: None,
            kind: Some("transfer".to_owned()),
        })
        .await
        .expect("racing payment");
    let report = apply(&plan, &store, &fixture.client, &options(10))
        .await
        .expect("apply");
    assert_eq!(report.completed, 4);
    assert_paid_once(&job, &fixture.sandbox.wait_settled().await);
}

#[tokio::test]
async fn insufficient_funds_stops_and_rerun_finishes() {
    let fixture = Fixture::new().await;
    let job = job("short", 10);
    // Enough for the first chunk of four (10 000 .. 13 000 plus 1 % fees), not for the second.
    fixture.sandbox.set_balance(Amount(47_000)).await;
    let store = fixture.store();

    // The plan itself is blocked by the balance; apply the unblocked shape anyway to reach the
    // provider's 402 in the middle of a run.
    let mut plan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    assert!(
        plan.is_blocked(),
        "a balance short of the total blocks the plan"
    );
    plan.blockers.clear();
    let report = apply(&plan, &store, &fixture.client, &options(4))
        .await
        .expect("apply");
    assert!(report.stopped.is_some(), "a 402 stops the run");
    assert_eq!(report.completed, 4);
    assert_eq!(report.exit_code(true), 1);

    fixture.sandbox.set_balance(Amount(1_000_000)).await;
    let replan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    let to_pay: Vec<_> = replan
        .items
        .iter()
        .filter(|i| i.action == Action::Pay)
        .collect();
    assert_eq!(to_pay.len(), 6);
    for item in &to_pay {
        let original = job
            .payments
            .iter()
            .find(|p| p.reference == item.reference)
            .expect("known");
        assert_eq!(
            item.amount, original.amount,
            "left-over payments keep their amounts"
        );
    }
    let report = apply(&replan, &store, &fixture.client, &options(4))
        .await
        .expect("apply");
    assert_eq!(report.completed, 10);
    assert_paid_once(&job, &fixture.sandbox.wait_settled().await);
}

#[tokio::test]
async fn failed_payment_is_retried_under_derived_reference() {
    let fixture = Fixture::new().await;
    let mut job = job("retry", 3);
    job.payments[0].msisdn = payroll::msisdn::Msisdn::parse("2251212121205").expect("test number");
    let report = plan_and_apply(&fixture, &job, 10).await;
    assert_eq!(report.failed, 1);
    assert_eq!(report.exit_code(true), 3);

    let store = fixture.store();
    let plain = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    assert_eq!(plain.items[0].action, Action::None);
    assert!(plain.items[0].reason.contains("--retry-failed"));

    let retry = build(
        &job,
        &store,
        &fixture.client,
        &PlanOptions {
            retry_failed: true,
            ..PlanOptions::default()
        },
    )
    .await
    .expect("plan");
    assert_eq!(retry.items[0].action, Action::Retry);
    assert_eq!(
        retry.items[0].reference,
        format!("{}-r1", job.payments[0].reference)
    );
    let again = build(
        &job,
        &store,
        &fixture.client,
        &PlanOptions {
            retry_failed: true,
            ..PlanOptions::default()
        },
    )
    .await
    .expect("plan");
    assert_eq!(
        again.items[0].reference, retry.items[0].reference,
        "the derived reference is stable"
    );

    apply(&retry, &store, &fixture.client, &options(10))
        .await
        .expect("apply");
    let records = store.payments("retry", "2026-12").expect("records");
    let retried = records
        .iter()
        .find(|r| r.reference == retry.items[0].reference)
        .expect("retry recorded");
    assert_eq!(
        retried.retry_of.as_deref(),
        Some(job.payments[0].reference.as_str())
    );
    assert_eq!(
        retried.status,
        PaymentStatus::Failed,
        "the test number always fails"
    );
}

/// Creates, outside `payroll`, the transaction of `payment` with `amount`.
async fn pay_outside(fixture: &Fixture, payment: &payroll::manifest::Payment, amount: Amount) {
    fixture
        .client
        .create_transaction(&payroll::djamo::wire::NewTransaction {
            msisdn: payment.msisdn.as_str().to_owned(),
            amount,
            reference: payment.reference.clone(),
            description: None,
            kind: Some("transfer".to_owned()),
        })
        .await
        .expect("payment made outside payroll");
}

#[tokio::test]
async fn reference_taken_elsewhere_not_recorded() {
    let fixture = Fixture::new().await;
    let job = job("taken", 3);
    let store = fixture.store();
    let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    // Between plan and apply, another process pays the same reference with another amount.
    pay_outside(&fixture, &job.payments[0], Amount(77_000)).await;

    let report = apply(&plan, &store, &fixture.client, &options(10))
        .await
        .expect("apply ends with a report");
    let stopped = report.stopped.clone().expect("a conflict stops the run");
    assert!(stopped.contains(&job.payments[0].reference), "{stopped}");
    assert_eq!(report.sent, 0, "the 409 batch created nothing");
    assert_eq!(
        report.not_created, 3,
        "all-or-nothing batch: none was created"
    );
    assert_eq!(report.exit_code(true), 1);

    let records = store.payments("taken", "2026-12").expect("records");
    assert!(
        records
            .iter()
            .all(|r| r.status == PaymentStatus::NotCreated)
    );
    let replan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    assert_eq!(
        replan.items[0].action,
        Action::Blocked,
        "a conflict is shown"
    );
    assert!(replan.items[0].reason.contains("77 000 XOF"));
    assert_eq!(
        replan.items[1].action,
        Action::Pay,
        "the rest can still be paid"
    );
}

#[tokio::test]
async fn saved_plan_applied_elsewhere_meanwhile_stops() {
    let fixture = Fixture::new().await;
    let job = job("elsewhere", 3);
    let store = fixture.store();
    let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan");
    pay_outside(&fixture, &job.payments[1], job.payments[1].amount).await;

    let saved = ApplyOptions {
        plan_digest: Some("digest".to_owned()),
        ..options(10)
    };
    let report = apply(&plan, &store, &fixture.client, &saved)
        .await
        .expect("apply ends with a report");
    let stopped = report.stopped.clone().expect("the saved plan stops");
    assert!(stopped.contains("another process"), "{stopped}");
    assert_eq!(report.found_existing, 1);
    assert_eq!(report.sent, 0);
    assert_eq!(
        fixture.sandbox.ledger().await.len(),
        1,
        "nothing more was paid"
    );
}
