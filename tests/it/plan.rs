//! Integration tests: plan actions and blockers against the sandbox.

use std::time::Duration;

use payroll::apply::{ApplyOptions, apply};
use payroll::djamo::{Client, ClientConfig};
use payroll::manifest::OnKycFailure;
use payroll::money::Amount;
use payroll::plan::{Action, PlanOptions, build};
use payroll::sandbox::admin::CustomerSpec;
use payroll::sandbox::faults::Fault;

use crate::support::{Fixture, job, msisdn};

async fn plan_of(fixture: &Fixture, job: &payroll::manifest::Job) -> payroll::plan::Plan {
    let store = fixture.store();
    build(job, &store, &fixture.client, &PlanOptions::default())
        .await
        .expect("plan")
}

#[tokio::test]
async fn new_payments_are_pay_with_fees_and_totals() {
    let fixture = Fixture::new().await;
    let job = job("fresh", 3);
    let plan = plan_of(&fixture, &job).await;
    assert!(plan.items.iter().all(|item| item.action == Action::Pay));
    assert_eq!(plan.summary.to_pay, 3);
    assert_eq!(plan.summary.amount, Amount(10_000 + 11_000 + 12_000));
    assert_eq!(plan.summary.fees, Amount(100 + 110 + 120));
    assert_eq!(plan.summary.total, Amount(33_330));
    assert_eq!(
        plan.summary.balance,
        payroll::sandbox::testing::TEST_BALANCE
    );
    assert!(!plan.is_blocked());
}

#[tokio::test]
async fn pending_kyc_blocks_the_item() {
    let fixture = Fixture::new().await;
    let job = job("kyc", 3);
    let mut spec = CustomerSpec::new(msisdn(1).as_str());
    spec.kyc_status = Some("pending".to_owned());
    fixture.sandbox.add_customer(spec).await;
    let plan = plan_of(&fixture, &job).await;
    assert_eq!(plan.items[1].action, Action::Blocked);
    assert!(
        plan.items[1].reason.contains("`pending`"),
        "{}",
        plan.items[1].reason
    );
    assert_eq!(plan.summary.blocked, 1);
    assert!(plan.is_blocked());
}

#[tokio::test]
async fn kyc_skip_drops_the_item_with_a_warning() {
    let fixture = Fixture::new().await;
    let mut job = job("kyc-skip", 3);
    job.on_kyc_failure = OnKycFailure::Skip;
    let mut spec = CustomerSpec::new(msisdn(2).as_str());
    spec.kyc_status = Some("rejected".to_owned());
    fixture.sandbox.add_customer(spec).await;
    let plan = plan_of(&fixture, &job).await;
    assert_eq!(plan.items[2].action, Action::Skip);
    assert_eq!(plan.warnings.len(), 1);
    assert!(!plan.is_blocked());
    assert_eq!(plan.summary.to_pay, 2);
}

#[tokio::test]
async fn unknown_customer_blocks_the_item() {
    let fixture = Fixture::new().await;
    let job = job("ghost", 2);
    let mut spec = CustomerSpec::new(msisdn(0).as_str());
    spec.exists = false;
    fixture.sandbox.add_customer(spec).await;
    let plan = plan_of(&fixture, &job).await;
    assert_eq!(plan.items[0].action, Action::Blocked);
    assert!(plan.items[0].reason.contains("not a Djamo customer"));
    assert_eq!(
        plan.kyc.get(msisdn(0).as_str()).map(String::as_str),
        Some("not_found")
    );
}

#[tokio::test]
async fn insufficient_balance_blocks_the_plan() {
    let fixture = Fixture::new().await;
    fixture.sandbox.set_balance(Amount(20_000)).await;
    let plan = plan_of(&fixture, &job("poor", 3)).await;
    assert!(plan.is_blocked());
    assert_eq!(plan.blockers.len(), 1);
    assert!(
        plan.blockers[0].contains("short by 13 330 XOF"),
        "{}",
        plan.blockers[0]
    );
}

#[tokio::test]
async fn limits_block_the_plan() {
    let fixture = Fixture::new().await;
    let mut job = job("capped", 4);
    job.limits.max_amount = Some(12_000);
    job.limits.max_total = Some(40_000);
    job.limits.max_recipients = Some(3);
    let plan = plan_of(&fixture, &job).await;
    assert_eq!(
        plan.items[3].action,
        Action::Blocked,
        "13 000 is over max_amount"
    );
    assert!(plan.items[3].reason.contains("limits.max_amount"));
    assert!(plan.blockers.iter().any(|b| b.contains("limits.max_total")));
    assert!(
        plan.blockers
            .iter()
            .any(|b| b.contains("limits.max_recipients"))
    );
}

#[tokio::test]
async fn amount_change_after_payment_is_a_conflict() {
    let fixture = Fixture::new().await;
    let mut job = job("conflict", 2);
    {
        let store = fixture.store();
        let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
            .await
            .expect("plan");
        let options = ApplyOptions {
            poll_interval: Duration::from_millis(20),
            ..ApplyOptions::default()
        };
        apply(&plan, &store, &fixture.client, &options)
            .await
            .expect("apply");
    }
    job.payments[0].amount = Amount(99_000);
    job.payments[1].msisdn = msisdn(50);
    let plan = plan_of(&fixture, &job).await;
    assert_eq!(plan.items[0].action, Action::Blocked);
    assert!(plan.items[0].reason.contains("conflict"));
    assert!(plan.items[0].reason.contains("99 000 XOF"));
    assert_eq!(plan.items[1].action, Action::Blocked);
    assert!(plan.items[1].reason.contains(msisdn(50).as_str()));
    assert!(
        !plan.has_changes(),
        "a conflict is never paid a second time"
    );
}

#[tokio::test]
async fn pending_payment_is_wait() {
    let fixture = Fixture::with(
        payroll::sandbox::testing::TestSandbox::builder()
            .settle_after(Duration::from_secs(30))
            .start()
            .await,
    );
    let job = job("slow", 2);
    {
        let store = fixture.store();
        let plan = build(&job, &store, &fixture.client, &PlanOptions::default())
            .await
            .expect("plan");
        let options = ApplyOptions {
            wait: false,
            ..ApplyOptions::default()
        };
        apply(&plan, &store, &fixture.client, &options)
            .await
            .expect("apply");
    }
    let plan = plan_of(&fixture, &job).await;
    assert!(plan.items.iter().all(|item| item.action == Action::Wait));
    assert_eq!(plan.summary.in_progress, 2);
    assert!(plan.has_work());
    assert!(!plan.has_changes());
}

#[tokio::test]
async fn get_429_and_500_are_retried() {
    let fixture = Fixture::new().await;
    fixture
        .sandbox
        .add_fault(Fault::status("/v1/balance", 429, 1).with_retry_after(0))
        .await;
    fixture
        .sandbox
        .add_fault(Fault::status("/v1/transactions", 500, 2))
        .await;
    let plan = plan_of(&fixture, &job("flaky", 3)).await;
    assert_eq!(plan.summary.to_pay, 3);
}

#[tokio::test]
async fn unreachable_provider_is_an_error() {
    let fixture = Fixture::new().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut config = ClientConfig::new(format!("http://{addr}"), fixture.sandbox.token());
    config.max_retries = 1;
    config.retry_base_delay = Duration::ZERO;
    let client = Client::new(config).expect("client");
    let store = fixture.store();
    let error = build(&job("down", 1), &store, &client, &PlanOptions::default())
        .await
        .expect_err("no provider listens there");
    let text = error.to_string();
    assert!(text.contains("failed to connect"), "{text}");
}

#[tokio::test]
async fn orphan_references_are_listed() {
    let fixture = Fixture::new().await;
    let full = job("orphan", 3);
    {
        let store = fixture.store();
        let plan = build(&full, &store, &fixture.client, &PlanOptions::default())
            .await
            .expect("plan");
        let options = ApplyOptions {
            poll_interval: Duration::from_millis(20),
            ..ApplyOptions::default()
        };
        apply(&plan, &store, &fixture.client, &options)
            .await
            .expect("apply");
    }
    let mut shorter = full.clone();
    shorter.payments.truncate(2);
    let plan = plan_of(&fixture, &shorter).await;
    assert_eq!(plan.orphans.len(), 1);
    assert_eq!(plan.orphans[0].reference, full.payments[2].reference);
}

#[tokio::test]
async fn retry_reference_shared_with_recipient_is_blocked() {
    let fixture = Fixture::new().await;
    let mut job = job("shared", 2);
    job.payments[0].msisdn = payroll::msisdn::Msisdn::parse("2251212121205").expect("test number");
    let options = ApplyOptions {
        poll_interval: Duration::from_millis(20),
        ..ApplyOptions::default()
    };
    {
        let store = fixture.store();
        let retry = PlanOptions {
            retry_failed: true,
            ..PlanOptions::default()
        };
        let plan = build(&job, &store, &fixture.client, &retry)
            .await
            .expect("plan");
        apply(&plan, &store, &fixture.client, &options)
            .await
            .expect("apply");
        let plan = build(&job, &store, &fixture.client, &retry)
            .await
            .expect("plan");
        assert_eq!(plan.items[0].action, Action::Retry);
        apply(&plan, &store, &fixture.client, &options)
            .await
            .expect("apply");
    }
    // A new recipient whose own reference equals the first recipient's retry reference.
    let mut newcomer = job.payments[1].clone();
    newcomer.recipient_id = "E000-r1".to_owned();
    newcomer.reference = format!("{}-r1", job.payments[0].reference);
    job.payments.push(newcomer);

    let plan = plan_of(&fixture, &job).await;
    assert_eq!(plan.items[0].action, Action::Blocked);
    assert_eq!(plan.items[2].action, Action::Blocked);
    assert!(
        plan.items[2].reason.contains("`E000` and `E000-r1`"),
        "{}",
        plan.items[2].reason
    );
    assert!(plan.is_blocked());
}
