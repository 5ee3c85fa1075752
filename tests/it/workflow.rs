//! End-to-end tests of `plan` and `apply` through the binary.

use std::process::Command;

use payroll::sandbox::testing::TestSandbox;
use payroll::state::SledStore;

use crate::bin::{output, payroll, text, write_manifest};
use crate::support::{TempDir, assert_paid_once, count_by_reference};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_command_pays_once_then_nothing() {
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/monthly-salaries.yaml"
    );
    let run = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_payroll"));
        command
            .args(["apply", "--sandbox", "--auto-approve", manifest, "--state"])
            .arg(&state)
            .env_remove("DJAMO_API_URL")
            .env_remove("PAYROLL_FAULT_ABORT");
        command
    };
    let first = output(run()).await;
    assert_eq!(
        first.status.code(),
        Some(0),
        "first run: {}",
        text(&first.stderr)
    );
    let first_out = text(&first.stdout);
    assert!(first_out.contains("Sent"), "{first_out}");
    assert!(first_out.contains("failed 0"), "{first_out}");

    let second = output(run()).await;
    assert_eq!(
        second.status.code(),
        Some(0),
        "second run: {}",
        text(&second.stderr)
    );
    let second_out = text(&second.stdout);
    assert!(second_out.contains("Nothing to pay"), "{second_out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_state_refuses_second_apply() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "locked", 3, None);
    let _held = SledStore::open(&state).expect("this test holds the state");

    let mut command = payroll(&sandbox, &state);
    command.arg("apply").arg(&manifest).arg("--auto-approve");
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is locked by"), "{stderr}");
    assert!(sandbox.ledger().await.is_empty(), "nothing was paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_pay_once() {
    let sandbox = TestSandbox::builder()
        .latency(std::time::Duration::from_millis(100))
        .start()
        .await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "twice", 6, Some(2));
    let spawn = || {
        let mut command = payroll(&sandbox, &state);
        command.arg("apply").arg(&manifest).arg("--auto-approve");
        command
    };
    let (a, b) = tokio::join!(output(spawn()), output(spawn()));
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "one run succeeds: {codes:?}");
    let refused = [&a, &b]
        .iter()
        .filter(|o| text(&o.stderr).contains("is locked by"))
        .count();
    let ledger = sandbox.wait_settled().await;
    let counts = count_by_reference(&ledger);
    assert!(
        counts.values().all(|count| *count == 1),
        "no reference twice"
    );
    assert_eq!(counts.len(), 6);
    // Both may succeed when the first finished before the second opened the state.
    assert!(refused <= 1);
}

async fn plan_to_file(
    sandbox: &TestSandbox,
    state: &std::path::Path,
    manifest: &std::path::Path,
    out: &std::path::Path,
) {
    let mut command = payroll(sandbox, state);
    command.arg("plan").arg(manifest).arg("--out").arg(out);
    let result = output(command).await;
    assert_eq!(
        result.status.code(),
        Some(0),
        "plan: {}",
        text(&result.stderr)
    );
}

async fn apply_file(
    sandbox: &TestSandbox,
    state: &std::path::Path,
    plan: &std::path::Path,
) -> std::process::Output {
    let mut command = payroll(sandbox, state);
    command.arg("apply").arg(plan).arg("--auto-approve");
    output(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_applies_once() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "saved", 4, None);
    let plan = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan).await;

    let first = apply_file(&sandbox, &state, &plan).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let second = apply_file(&sandbox, &state, &plan).await;
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains("stale"),
        "{}",
        text(&second.stderr)
    );

    // A plan made on an empty state, applied from another empty state, is refused too.
    let elsewhere = dir.path().join("elsewhere");
    let third = apply_file(&sandbox, &elsewhere, &plan).await;
    assert_eq!(third.status.code(), Some(1));
    assert!(
        text(&third.stderr).contains("already exists"),
        "{}",
        text(&third.stderr)
    );

    let ledger = sandbox.wait_settled().await;
    assert_eq!(ledger.len(), 4);
    assert!(count_by_reference(&ledger).values().all(|c| *c == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_plan_is_refused() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "tamper", 2, None);
    let plan = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan).await;
    let body = std::fs::read_to_string(&plan).expect("plan");
    std::fs::write(&plan, body.replacen("10000", "90000", 1)).expect("tampered");

    let out = apply_file(&sandbox, &state, &plan).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("altered"),
        "{}",
        text(&out.stderr)
    );
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_stale_after_manifest_change_is_refused() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "stale", 2, None);
    let plan = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan).await;
    write_manifest(dir.path(), "stale", 3, None);

    let out = apply_file(&sandbox, &state, &plan).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("changed"),
        "{}",
        text(&out.stderr)
    );
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_expected_digest_pays_nothing() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "digest", 2, None);
    let plan = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan).await;
    let mut command = payroll(&sandbox, &state);
    command
        .arg("apply")
        .arg(&plan)
        .arg("--auto-approve")
        .args(["--expect-digest", "0000"]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("approved `0000`"),
        "{}",
        text(&out.stderr)
    );
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_without_terminal_or_approval_refuses() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), "prompt", 2, None);
    let mut command = payroll(&sandbox, &dir.path().join("state"));
    command
        .arg("apply")
        .arg(&manifest)
        .stdin(std::process::Stdio::null());
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--auto-approve"),
        "{}",
        text(&out.stderr)
    );
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_provider_names_both_settings() {
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), "nowhere", 1, None);
    let out = Command::new(env!("CARGO_BIN_EXE_payroll"))
        .arg("plan")
        .arg(&manifest)
        .arg("--state")
        .arg(dir.path().join("state"))
        .env_remove("DJAMO_API_URL")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--sandbox"), "{stderr}");
    assert!(stderr.contains("--api-url"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detailed_exitcode_reports_changes() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "exitcode", 2, None);
    let plan = |extra: &[&str]| {
        let mut command = payroll(&sandbox, &state);
        command.arg("plan").arg(&manifest).args(extra);
        command
    };
    assert_eq!(
        output(plan(&["--detailed-exitcode"])).await.status.code(),
        Some(2)
    );
    assert_eq!(output(plan(&[])).await.status.code(), Some(0));
    let mut apply = payroll(&sandbox, &state);
    apply.arg("apply").arg(&manifest).arg("--auto-approve");
    assert_eq!(output(apply).await.status.code(), Some(0));
    assert_eq!(
        output(plan(&["--detailed-exitcode"])).await.status.code(),
        Some(0)
    );

    let json = output(plan(&["--format", "json"])).await;
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(value["summary"]["already_paid"], 2);
    assert_eq!(value["items"][0]["action"], "none");
    let _ = assert_paid_once;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_state_stops_before_paying() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), "corrupt", 2, None);

    // A state folder whose records were overwritten with garbage after a first run.
    let state = dir.path().join("state");
    let mut first = payroll(&sandbox, &state);
    first.arg("apply").arg(&manifest).arg("--auto-approve");
    assert_eq!(output(first).await.status.code(), Some(0));
    let paid = sandbox.wait_settled().await.len();
    for entry in std::fs::read_dir(state.join("db")).expect("db folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::write(&path, vec![0xA5; 4096]).expect("garbage written");
        }
    }
    let mut again = payroll(&sandbox, &state);
    again.arg("apply").arg(&manifest).arg("--auto-approve");
    let out = output(again).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(stderr.contains("help"), "{stderr}");

    // A file where the state folder should be.
    let file_state = dir.path().join("file-state");
    std::fs::write(&file_state, "not a folder").expect("file written");
    let mut plan = payroll(&sandbox, &file_state);
    plan.arg("plan").arg(&manifest);
    let out = output(plan).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("could not be opened"),
        "{}",
        text(&out.stderr)
    );

    assert_eq!(sandbox.ledger().await.len(), paid, "nothing more was paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_plan_with_valid_digest_is_refused() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "forged", 2, None);
    let plan_path = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan_path).await;

    let original = payroll::plan::PlanFile::read(&plan_path).expect("plan file");
    let mut plan = original.plan.clone();
    plan.items[0].amount = payroll::money::Amount(400_000);
    plan.items[0].msisdn = "2250799999999".to_owned();
    let forged = payroll::plan::PlanFile::new(
        plan,
        original.manifest_path.clone(),
        original.created_at.clone(),
    );
    forged.write(&plan_path).expect("forged plan written");

    let out = apply_file(&sandbox, &state, &plan_path).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("does not match its manifest"), "{stderr}");
    assert!(sandbox.ledger().await.is_empty(), "nothing was paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_period_flag_names_the_flag() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), "flag", 1, None);
    let mut command = payroll(&sandbox, &dir.path().join("state"));
    command
        .arg("plan")
        .arg(&manifest)
        .args(["--period", "2026/12"]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`--period` `2026/12` contains `/`"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_retry_of_paid_reference_is_refused() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "reretry", 2, None);
    let mut first = payroll(&sandbox, &state);
    first.arg("apply").arg(&manifest).arg("--auto-approve");
    assert_eq!(output(first).await.status.code(), Some(0));
    let plan_path = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan_path).await;

    // Turn every settled item into a retry, with fees, summary and digest made consistent.
    let original = payroll::plan::PlanFile::read(&plan_path).expect("plan file");
    let mut plan = original.plan.clone();
    let rate = payroll::money::FeeRate::DEFAULT;
    for item in &mut plan.items {
        item.retry_of = Some(item.reference.clone());
        item.reference = format!("{}-r1", item.reference);
        item.action = payroll::plan::Action::Retry;
        item.fee = rate.fee(item.amount);
    }
    plan.summary.amount = plan.items.iter().map(|i| i.amount).sum();
    let forged = payroll::plan::PlanFile::new(
        plan,
        original.manifest_path.clone(),
        original.created_at.clone(),
    );
    forged.write(&plan_path).expect("forged plan written");

    let out = apply_file(&sandbox, &state, &plan_path).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("did not fail"), "{stderr}");
    assert_eq!(sandbox.ledger().await.len(), 2, "nothing more was paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_rechecks_kyc() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "kycnow", 2, None);
    let plan_path = dir.path().join("plan.json");
    plan_to_file(&sandbox, &state, &manifest, &plan_path).await;
    let mut spec = payroll::sandbox::admin::CustomerSpec::new(crate::support::msisdn(1).as_str());
    spec.kyc_status = Some("rejected".to_owned());
    sandbox.add_customer(spec).await;

    let out = apply_file(&sandbox, &state, &plan_path).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is now `rejected`"), "{stderr}");
    assert!(sandbox.ledger().await.is_empty(), "nothing was paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_500_exits_unknown() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "down500", 2, None);
    sandbox
        .add_fault(payroll::sandbox::faults::Fault::status(
            "/v1/transactions/batch",
            500,
            50,
        ))
        .await;
    let mut command = payroll(&sandbox, &state);
    command.arg("apply").arg(&manifest).arg("--auto-approve");
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("HTTP 500"),
        "{}",
        text(&out.stderr)
    );

    sandbox.clear_faults().await;
    let mut again = payroll(&sandbox, &state);
    again.arg("apply").arg(&manifest).arg("--auto-approve");
    assert_eq!(output(again).await.status.code(), Some(0));
    assert_eq!(sandbox.wait_settled().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_taken_by_other_payment_is_not_ours() {
    let sandbox = TestSandbox::start().await;
    let dir = TempDir::new();
    let state = dir.path().join("state");
    let manifest = write_manifest(dir.path(), "left", 1, None);

    // This run writes its intent, then dies before sending.
    let mut crashed = payroll(&sandbox, &state);
    crashed
        .arg("apply")
        .arg(&manifest)
        .arg("--auto-approve")
        .env(payroll::apply::faultpoint::ENV, "after-write-ahead");
    assert_ne!(output(crashed).await.status.code(), Some(0));

    // Another state folder pays the same reference with another amount.
    let other_dir = TempDir::new();
    let other = write_manifest(other_dir.path(), "left", 1, None);
    let body = std::fs::read_to_string(&other).expect("manifest");
    std::fs::write(&other, body.replace("amount: 10000", "amount: 20000")).expect("written");
    let mut elsewhere = payroll(&sandbox, &other_dir.path().join("state"));
    elsewhere.arg("apply").arg(&other).arg("--auto-approve");
    assert_eq!(output(elsewhere).await.status.code(), Some(0));

    // Refreshing must not take that payment as this state's own.
    let mut refresh = payroll(&sandbox, &state);
    refresh
        .arg("status")
        .arg(&manifest)
        .args(["--refresh", "--format", "json"]);
    let out = output(refresh).await;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_ne!(status["payments"][0]["status"], "completed", "{status}");

    // The plan shows the conflict.
    let mut plan = payroll(&sandbox, &state);
    plan.arg("plan").arg(&manifest);
    let out = output(plan).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("conflict"),
        "{}",
        text(&out.stdout)
    );

    // Once the manifest matches what was paid, state records the provider's values.
    std::fs::write(
        &manifest,
        std::fs::read_to_string(&other).expect("other manifest"),
    )
    .expect("written");
    let mut apply = payroll(&sandbox, &state);
    apply.arg("apply").arg(&manifest).arg("--auto-approve");
    assert_eq!(output(apply).await.status.code(), Some(0));
    let store = SledStore::open(&state).expect("state opens");
    let records = payroll::state::Store::payments(&store, "left", "2026-12").expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].amount, payroll::money::Amount(20_000));
    assert_eq!(records[0].status, payroll::state::PaymentStatus::Completed);
    assert_eq!(sandbox.ledger().await.len(), 1, "paid once");
}
