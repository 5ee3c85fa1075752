//! `payroll run` through the binary: fire times across month ends, leap years and both
//! daylight-saving nights, missed fires, several jobs, concurrent runners, crashes and the
//! daemon, each checked against the sandbox ledger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use payroll::apply::faultpoint;
use payroll::sandbox::CustomerSpec;
use payroll::sandbox::ledger::LedgerEntry;
use payroll::sandbox::testing::TestSandbox;
use payroll::state::{RunOutcome, SledStore, Store};

use crate::bin::{output, payroll, text};
use crate::support::{TempDir, count_by_reference, msisdn};

/// A job file written by a test.
struct JobSpec<'a> {
    name: &'a str,
    cron: &'a str,
    timezone: &'a str,
    period: &'a str,
    recipients: usize,
    /// Extra top-level YAML, such as `limits:` or `chunk_size:`.
    extra: &'a str,
}

impl<'a> JobSpec<'a> {
    fn new(name: &'a str, cron: &'a str, timezone: &'a str, period: &'a str) -> JobSpec<'a> {
        JobSpec {
            name,
            cron,
            timezone,
            period,
            recipients: 3,
            extra: "",
        }
    }

    fn recipients(mut self, count: usize) -> Self {
        self.recipients = count;
        self
    }

    fn extra(mut self, extra: &'a str) -> Self {
        self.extra = extra;
        self
    }

    /// Writes `<name>.yaml` into `dir`; references are `<job>-<period>-<id>`.
    fn write(&self, dir: &Path) -> PathBuf {
        let mut yaml = format!(
            "version: 1\njob: {}\nreference: \"{{{{job}}}}-{{{{period}}}}-{{{{id}}}}\"\n\
             description: \"Prime {{{{period}}}}\"\nschedule:\n  cron: \"{}\"\n  timezone: {}\n  \
             period: \"{}\"\n{}recipients:\n",
            self.name, self.cron, self.timezone, self.period, self.extra
        );
        for index in 0..self.recipients {
            yaml.push_str(&format!(
                "  - id: E{index:03}\n    name: Recipient {index}\n    msisdn: \"{}\"\n    \
                 amount: {}\n",
                msisdn(index).as_str(),
                10_000 + 1_000 * index
            ));
        }
        let path = dir.join(format!("{}.yaml", self.name));
        std::fs::write(&path, yaml).expect("job file written");
        path
    }
}

/// A sandbox, a jobs folder and a state folder.
struct Setup {
    sandbox: TestSandbox,
    dir: TempDir,
}

impl Setup {
    async fn new() -> Setup {
        Setup::with(TestSandbox::start().await)
    }

    fn with(sandbox: TestSandbox) -> Setup {
        let dir = TempDir::new();
        std::fs::create_dir(dir.path().join("jobs")).expect("jobs folder");
        Setup { sandbox, dir }
    }

    fn jobs(&self) -> PathBuf {
        self.dir.path().join("jobs")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn write(&self, spec: &JobSpec) -> PathBuf {
        spec.write(&self.jobs())
    }

    fn once_command(&self, now: &str) -> Command {
        let mut command = payroll(&self.sandbox, &self.state());
        command
            .arg("run")
            .arg(self.jobs())
            .args(["--once", "--now", now]);
        command
    }

    /// Runs `payroll run --once --now NOW` and returns its output.
    async fn once(&self, now: &str) -> Output {
        output(self.once_command(now)).await
    }

    /// Runs once and asserts the exit code, showing both streams when it differs.
    async fn once_expect(&self, now: &str, code: i32) -> String {
        let out = self.once(now).await;
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "run at {now}\nstdout:\n{stdout}\nstderr:\n{}",
            text(&out.stderr)
        );
        stdout
    }

    /// Returns the ledger once nothing is pending.
    async fn ledger(&self) -> Vec<LedgerEntry> {
        self.sandbox.wait_settled().await
    }
}

/// Ledger references grouped by period, for job `job` whose references are
/// `<job>-<period>-E<nnn>`; asserts that no reference was paid twice.
fn paid_periods(ledger: &[LedgerEntry], job: &str) -> BTreeMap<String, usize> {
    for (reference, count) in count_by_reference(ledger) {
        assert_eq!(count, 1, "reference `{reference}` was paid {count} times");
    }
    let prefix = format!("{job}-");
    let mut periods = BTreeMap::new();
    for entry in ledger {
        let Some(rest) = entry.reference.strip_prefix(&prefix) else {
            continue;
        };
        let period = rest
            .rsplit_once("-E")
            .map(|(period, _)| period)
            .expect("reference ends with the recipient id");
        *periods.entry(period.to_owned()).or_insert(0) += 1;
    }
    periods
}

fn periods(expected: &[(&str, usize)]) -> BTreeMap<String, usize> {
    expected
        .iter()
        .map(|(period, count)| ((*period).to_owned(), *count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_31_skips_short_months() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "eom",
        "0 9 31 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));

    let first = setup.once_expect("2027-01-31T09:00:00Z", 0).await;
    assert!(
        first.contains("eom 2027-01 2027-01-31T09:00:00Z: paid"),
        "{first}"
    );
    let february = setup.once_expect("2027-02-28T09:00:00Z", 0).await;
    assert!(february.contains("eom 2027-01"), "{february}");
    assert!(february.contains("already ran"), "{february}");
    let march = setup.once_expect("2027-03-31T09:30:00Z", 0).await;
    assert!(
        march.contains("eom 2027-03 2027-03-31T09:00:00Z: paid"),
        "{march}"
    );

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "eom"),
        periods(&[("2027-01", 3), ("2027-03", 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_day_fires_on_leap_day() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new("last", "0 18 L * *", "UTC", "%Y-%m"));

    setup.once_expect("2027-02-28T18:00:00Z", 0).await;
    // 2028 is a leap year: on the 28th the latest fire is January 31st, 28 days old.
    let not_yet = setup.once_expect("2028-02-28T18:00:00Z", 0).await;
    assert!(not_yet.contains("last 2028-01"), "{not_yet}");
    assert!(not_yet.contains("missed"), "{not_yet}");
    let leap = setup.once_expect("2028-02-29T18:00:00Z", 0).await;
    assert!(
        leap.contains("last 2028-02 2028-02-29T18:00:00Z: paid"),
        "{leap}"
    );

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "last"),
        periods(&[("2027-02", 3), ("2028-02", 3)])
    );
}

/// The period pattern includes the Unix time of the fire, so two fires on one wall-clock time
/// would pay two periods and show in the ledger.
const INSTANT_PERIOD: &str = "%Y-%m-%d.%s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paris_spring_gap_fires_once() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "spring",
        "30 2 * * *",
        "Europe/Paris",
        INSTANT_PERIOD,
    ));

    // 2027-03-27 02:30 CET is 01:30 UTC.
    setup.once_expect("2027-03-27T02:00:00Z", 0).await;
    // 2027-03-28: 02:30 does not exist in Paris; it fires when the clocks jump to 03:00 CEST,
    // 01:00 UTC.
    let before = setup.once_expect("2027-03-28T00:59:59Z", 0).await;
    assert!(before.contains("already ran"), "{before}");
    let jump = setup.once_expect("2027-03-28T01:00:00Z", 0).await;
    assert!(jump.contains("2027-03-28T01:00:00Z: paid"), "{jump}");
    let later = setup.once_expect("2027-03-28T01:30:00Z", 0).await;
    assert!(later.contains("already ran"), "{later}");

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "spring"),
        periods(&[("2027-03-27.1806111000", 3), ("2027-03-28.1806195600", 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paris_autumn_repeat_fires_once() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "autumn",
        "30 2 * * *",
        "Europe/Paris",
        INSTANT_PERIOD,
    ));

    // 2027-10-31: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    let first = setup.once_expect("2027-10-31T00:30:00Z", 0).await;
    assert!(first.contains("2027-10-31T00:30:00Z: paid"), "{first}");
    let second = setup.once_expect("2027-10-31T01:30:00Z", 0).await;
    assert!(second.contains("already ran"), "{second}");
    let third = setup.once_expect("2027-10-31T02:00:00Z", 0).await;
    assert!(third.contains("already ran"), "{third}");

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "autumn"),
        periods(&[("2027-10-31.1824942600", 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abidjan_fires_at_exact_instant() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "bonus",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));

    let early = setup.once_expect("2026-12-25T08:59:59Z", 0).await;
    assert!(early.contains("bonus 2026-11"), "{early}");
    assert!(early.contains("missed"), "{early}");
    assert!(
        setup.sandbox.ledger().await.is_empty(),
        "nothing is paid early"
    );

    let due = setup.once_expect("2026-12-25T09:00:00Z", 0).await;
    assert!(
        due.contains("bonus 2026-12 2026-12-25T09:00:00Z: paid"),
        "{due}"
    );
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "bonus"), periods(&[("2026-12", 3)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_month_pays_latest_only() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "monthly",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));

    setup.once_expect("2026-10-25T09:00:00Z", 0).await;
    // The machine was off on November 25th: only December's fire runs.
    let out = setup.once("2026-12-25T10:00:00Z").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stdout.contains("monthly 2026-12 2026-12-25T09:00:00Z: paid"),
        "{stdout}"
    );
    assert!(stderr.contains("skipped missed fires"), "{stderr}");
    assert!(stderr.contains("2026-11"), "{stderr}");

    // A week after January 25th, that fire is past the one-day catch-up: reported, not paid.
    let late = setup.once_expect("2027-02-01T09:00:00Z", 0).await;
    assert!(late.contains("monthly 2027-01"), "{late}");
    assert!(late.contains("missed"), "{late}");
    assert!(late.contains("catch_up"), "{late}");

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "monthly"),
        periods(&[("2026-10", 3), ("2026-12", 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_window_runs_late_fire() {
    let setup = Setup::new().await;
    setup.write(
        &JobSpec::new("late", "0 9 25 * *", "Africa/Abidjan", "%Y-%m")
            .extra("")
            .recipients(2),
    );
    // 23 hours late is inside the default one-day catch-up.
    let stdout = setup.once_expect("2026-12-26T08:00:00Z", 0).await;
    assert!(
        stdout.contains("late 2026-12 2026-12-25T09:00:00Z: paid"),
        "{stdout}"
    );
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "late"), periods(&[("2026-12", 2)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedules_pay_independently() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new("weekly", "0 8 * * MON", "Africa/Abidjan", "%Y-%m-%d").recipients(2));
    setup.write(&JobSpec::new(
        "monthly",
        "0 9 1 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));

    // 2027-02-01 is a Monday: both are due at 09:30.
    let both = setup.once_expect("2027-02-01T09:30:00Z", 0).await;
    assert!(both.contains("weekly 2027-02-01"), "{both}");
    assert!(both.contains("monthly 2027-02"), "{both}");
    let next_week = setup.once_expect("2027-02-08T08:00:00Z", 0).await;
    assert!(
        next_week.contains("weekly 2027-02-08 2027-02-08T08:00:00Z: paid"),
        "{next_week}"
    );
    assert!(next_week.contains("monthly 2027-02"), "{next_week}");
    assert!(next_week.contains("already ran"), "{next_week}");

    let ledger = setup.ledger().await;
    assert_eq!(
        paid_periods(&ledger, "weekly"),
        periods(&[("2027-02-01", 2), ("2027-02-08", 2)])
    );
    assert_eq!(paid_periods(&ledger, "monthly"), periods(&[("2027-02", 3)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_fire_twice_pays_once() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new("twice", "0 9 25 * *", "Africa/Abidjan", "%Y-%m").recipients(4));

    let first = setup.once_expect("2026-12-25T09:05:00Z", 0).await;
    assert!(first.contains(": paid"), "{first}");
    let second = setup.once_expect("2026-12-25T09:05:00Z", 0).await;
    assert!(second.contains("already ran"), "{second}");

    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "twice"), periods(&[("2026-12", 4)]));
    let store = SledStore::open(&setup.state()).expect("state opens");
    let runs = store.runs("twice").expect("runs");
    let scheduled: Vec<_> = runs
        .iter()
        .filter(|run| run.id.starts_with("schedule:"))
        .collect();
    assert_eq!(scheduled.len(), 1, "one scheduled run record: {runs:?}");
    assert_eq!(scheduled[0].id, "schedule:2026-12-25T09:00:00Z");
    assert_eq!(scheduled[0].outcome, RunOutcome::Completed);
    assert_eq!(scheduled[0].completed, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_same_instant_pay_once() {
    let setup = Setup::with(
        TestSandbox::builder()
            .latency(Duration::from_millis(100))
            .start()
            .await,
    );
    setup.write(
        &JobSpec::new("race", "0 9 25 * *", "Africa/Abidjan", "%Y-%m")
            .recipients(6)
            .extra("chunk_size: 2\n"),
    );

    let first = setup.once_command("2026-12-25T09:00:00Z");
    let second = setup.once_command("2026-12-25T09:00:00Z");
    let (a, b) = tokio::join!(output(first), output(second));
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let outputs = [text(&a.stdout), text(&b.stdout)];
    let paid = outputs.iter().filter(|out| out.contains(": paid")).count();
    let skipped = outputs
        .iter()
        .filter(|out| out.contains("already ran"))
        .count();
    assert_eq!(paid, 1, "one runner pays: {outputs:?}");
    assert_eq!(skipped, 1, "the other finds it done: {outputs:?}");

    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "race"), periods(&[("2026-12", 6)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_job_skipped_others_run() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "good",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));
    setup.write(&JobSpec::new(
        "quartz",
        "0 0 9 25 * ?",
        "Africa/Abidjan",
        "%Y-%m",
    ));
    std::fs::write(
        setup.jobs().join("unscheduled.yaml"),
        format!(
            "version: 1\njob: unscheduled\nreference: \"u-{{{{period}}}}-{{{{id}}}}\"\n\
             recipients:\n  - id: E1\n    name: A\n    msisdn: \"{}\"\n    amount: 10000\n",
            msisdn(0).as_str()
        ),
    )
    .expect("written");
    std::fs::write(setup.jobs().join("notes.txt"), "not a job").expect("written");

    let out = setup.once("2026-12-25T09:00:00Z").await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("good 2026-12 2026-12-25T09:00:00Z: paid"),
        "{stdout}"
    );
    assert!(stdout.contains("quartz.yaml: skipped"), "{stdout}");
    assert!(stdout.contains("unscheduled.yaml: skipped"), "{stdout}");
    assert!(!stdout.contains("notes.txt"), "{stdout}");
    assert!(stderr.contains("has 6 fields"), "{stderr}");
    assert!(stderr.contains("has no `schedule`"), "{stderr}");

    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "good"), periods(&[("2026-12", 3)]));
    assert_eq!(ledger.len(), 3, "only the valid job paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_job_resumes_after_fix() {
    let setup = Setup::new().await;
    // The third recipient of `kyc` has not finished identification, which blocks its plan;
    // `other` pays the first two numbers only.
    let mut pending = CustomerSpec::new(msisdn(2).as_str());
    pending.kyc_status = Some("pending".to_owned());
    setup.sandbox.add_customer(pending).await;
    setup.write(&JobSpec::new(
        "kyc",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));
    setup.write(&JobSpec::new("other", "0 9 25 * *", "Africa/Abidjan", "%Y-%m").recipients(2));

    let out = setup.once("2026-12-25T09:00:00Z").await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("kyc 2026-12 2026-12-25T09:00:00Z: error"),
        "{stdout}"
    );
    assert!(stdout.contains("blocked"), "{stdout}");
    assert!(stdout.contains("KYC"), "{stdout}");
    assert!(
        stdout.contains("other 2026-12 2026-12-25T09:00:00Z: paid"),
        "{stdout}"
    );
    let ledger = setup.ledger().await;
    assert!(
        paid_periods(&ledger, "kyc").is_empty(),
        "the blocked job paid nothing"
    );

    // Once the recipient completes KYC, the next run resumes the claimed occurrence.
    let mut complete = CustomerSpec::new(msisdn(2).as_str());
    complete.kyc_status = Some("complete".to_owned());
    setup.sandbox.add_customer(complete).await;
    let fixed = setup.once_expect("2026-12-25T10:00:00Z", 0).await;
    assert!(
        fixed.contains("kyc 2026-12 2026-12-25T09:00:00Z: paid"),
        "{fixed}"
    );
    assert!(fixed.contains("other 2026-12"), "{fixed}");
    assert!(fixed.contains("already ran"), "{fixed}");
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "kyc"), periods(&[("2026-12", 3)]));
    assert_eq!(paid_periods(&ledger, "other"), periods(&[("2026-12", 2)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_payment_exits_three_once() {
    let setup = Setup::new().await;
    std::fs::write(
        setup.jobs().join("fails.yaml"),
        "version: 1\njob: fails\nreference: \"f-{{period}}-{{id}}\"\nschedule:\n  \
         cron: \"0 9 25 * *\"\n  timezone: Africa/Abidjan\n  period: \"%Y-%m\"\nrecipients:\n  \
         - id: E1\n    name: Fails\n    msisdn: \"2251212121205\"\n    amount: 10000\n",
    )
    .expect("written");

    let first = setup.once_expect("2026-12-25T09:00:00Z", 3).await;
    assert!(first.contains("failed payments"), "{first}");
    let second = setup.once_expect("2026-12-25T09:30:00Z", 0).await;
    assert!(second.contains("already ran"), "{second}");
    let ledger = setup.ledger().await;
    assert_eq!(ledger.len(), 1, "the failed payment is not sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_occurrence_resumes_once() {
    let setup = Setup::new().await;
    setup.write(
        &JobSpec::new("crash", "0 9 25 * *", "Africa/Abidjan", "%Y-%m")
            .recipients(6)
            .extra("chunk_size: 2\n"),
    );

    let mut command = setup.once_command("2026-12-25T09:00:00Z");
    command.env(faultpoint::ENV, "after-post:2");
    let crashed = output(command).await;
    assert_ne!(crashed.status.code(), Some(0), "the run was aborted");
    let partial = setup.sandbox.ledger().await.len();
    assert!(
        partial > 0 && partial < 6,
        "the crash left {partial} of 6 paid"
    );

    let resumed = setup.once_expect("2026-12-25T09:10:00Z", 0).await;
    assert!(
        resumed.contains("crash 2026-12 2026-12-25T09:00:00Z: paid"),
        "{resumed}"
    );
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "crash"), periods(&[("2026-12", 6)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_last_batch_records_outcomes() {
    let setup = Setup::new().await;
    setup.write(
        &JobSpec::new("last", "0 9 25 * *", "Africa/Abidjan", "%Y-%m")
            .recipients(4)
            .extra("chunk_size: 2\n"),
    );

    // The second and last batch is created, then the process dies before recording it.
    let mut command = setup.once_command("2026-12-25T09:00:00Z");
    command.env(faultpoint::ENV, "after-post:2");
    let crashed = output(command).await;
    assert_ne!(crashed.status.code(), Some(0), "the run was aborted");
    let ledger = setup.sandbox.wait_settled().await;
    assert_eq!(ledger.len(), 4, "both batches were created");

    setup.once_expect("2026-12-25T09:10:00Z", 0).await;
    let store = payroll::state::SledStore::open(&setup.state()).expect("state opens");
    let records = payroll::state::Store::payments(&store, "last", "2026-12").expect("records");
    assert_eq!(records.len(), 4);
    for record in &records {
        assert_eq!(
            record.status,
            payroll::state::PaymentStatus::Completed,
            "`{}` is recorded as the provider has it",
            record.reference
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_without_period_warns() {
    let setup = Setup::new().await;
    std::fs::write(
        setup.jobs().join("static.yaml"),
        format!(
            "version: 1\njob: static\nreference: \"s-{{{{id}}}}\"\nschedule:\n  \
             cron: \"0 9 * * MON\"\n  timezone: Africa/Abidjan\n  period: \"%Y-%m\"\n\
             recipients:\n  - id: E1\n    name: A\n    msisdn: \"{}\"\n    amount: 10000\n",
            msisdn(0).as_str()
        ),
    )
    .expect("written");

    let out = setup.once("2026-12-07T09:00:00Z").await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("does not use `{{period}}`"), "{stderr}");
    assert!(stderr.contains("both pay period"), "{stderr}");
}

/// Waits for `child` to exit, killing it after `timeout`.
fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send_sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM was sent");
}

/// Polls the ledger until `done` holds, for at most `timeout`.
async fn wait_for_ledger(
    sandbox: &TestSandbox,
    timeout: Duration,
    done: impl Fn(&[LedgerEntry]) -> bool,
) -> Vec<LedgerEntry> {
    let deadline = Instant::now() + timeout;
    loop {
        let ledger = sandbox.ledger().await;
        if done(&ledger) || Instant::now() > deadline {
            return ledger;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the state folder until the run record `run_id` of `job` has a final outcome, for at
/// most twenty seconds. Opening fails while the daemon runs a job, because it holds the lock.
async fn wait_for_run_outcome(state: &Path, job: &str, run_id: &str) -> Option<RunOutcome> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(store) = SledStore::open(state) {
            let outcome = store
                .runs(job)
                .expect("runs")
                .into_iter()
                .find(|run| run.id == run_id)
                .map(|run| run.outcome);
            drop(store);
            if outcome.is_some_and(|outcome| outcome != RunOutcome::Running) {
                return outcome;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn spawn_daemon(setup: &Setup, now: &str) -> std::process::Child {
    let mut command = payroll(&setup.sandbox, &setup.state());
    command
        .arg("run")
        .arg(setup.jobs())
        .args(["--now", now, "--rescan", "1s"])
        .env("RUST_LOG", "payroll=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.spawn().expect("daemon starts")
}

fn stderr_of(child: std::process::Child) -> String {
    let out = child.wait_with_output().expect("output");
    text(&out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_pays_due_job_then_stops() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "monthly",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m-%d",
    ));

    // The clock starts two seconds before the fire. The previous fire, a month earlier, is
    // outside the one-day catch-up, so nothing is paid before the fire.
    let mut daemon = spawn_daemon(&setup, "2026-12-25T08:59:58Z");
    let ledger = wait_for_ledger(&setup.sandbox, Duration::from_secs(30), |ledger| {
        ledger.len() >= 3
    })
    .await;
    assert_eq!(
        paid_periods(&ledger, "monthly"),
        periods(&[("2026-12-25", 3)]),
        "the daemon paid the fire"
    );
    // The daemon closes state between runs, so the test can read it while the daemon sleeps.
    let outcome =
        wait_for_run_outcome(&setup.state(), "monthly", "schedule:2026-12-25T09:00:00Z").await;
    assert_eq!(
        outcome,
        Some(RunOutcome::Completed),
        "the run finished before the stop request"
    );

    send_sigterm(&daemon);
    let code =
        tokio::task::block_in_place(|| wait_with_timeout(&mut daemon, Duration::from_secs(20)));
    let stderr = stderr_of(daemon);
    assert_eq!(code, Some(0), "daemon exits 0 on SIGTERM:\n{stderr}");
    assert!(stderr.contains("daemon started"), "{stderr}");
    assert!(stderr.contains("run started"), "{stderr}");
    assert!(stderr.contains("period=2026-12-25"), "{stderr}");
    assert!(stderr.contains("daemon stopped"), "{stderr}");

    let store = SledStore::open(&setup.state()).expect("the daemon released the state");
    let runs = store.runs("monthly").expect("runs");
    let run = runs
        .iter()
        .find(|run| run.id == "schedule:2026-12-25T09:00:00Z")
        .expect("the occurrence has a run record");
    assert_eq!(run.outcome, RunOutcome::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_sigterm_records_batch_in_flight() {
    let setup = Setup::with(
        TestSandbox::builder()
            .latency(Duration::from_millis(300))
            .start()
            .await,
    );
    setup.write(
        &JobSpec::new("slow", "0 9 25 * *", "Africa/Abidjan", "%Y-%m")
            .recipients(8)
            .extra("chunk_size: 1\n"),
    );

    let mut daemon = spawn_daemon(&setup, "2026-12-25T09:00:00Z");
    let started = wait_for_ledger(&setup.sandbox, Duration::from_secs(30), |ledger| {
        !ledger.is_empty()
    })
    .await;
    assert!(!started.is_empty(), "the daemon started paying");
    send_sigterm(&daemon);
    let code =
        tokio::task::block_in_place(|| wait_with_timeout(&mut daemon, Duration::from_secs(20)));
    let stderr = stderr_of(daemon);
    assert_eq!(code, Some(0), "daemon exits 0 on SIGTERM:\n{stderr}");

    let paid = setup.ledger().await;
    assert!(paid.len() < 8, "the stop request ended the run early");
    {
        let store = SledStore::open(&setup.state()).expect("state opens");
        let records = store.payments("slow", "2026-12").expect("records");
        for entry in &paid {
            let record = records
                .iter()
                .find(|record| record.reference == entry.reference)
                .expect("every sent payment is recorded");
            assert!(
                !record.status.needs_reconcile(),
                "`{}` is recorded with its outcome, not `{}`",
                record.reference,
                record.status.as_str()
            );
        }
        let run = store
            .runs("slow")
            .expect("runs")
            .into_iter()
            .find(|run| run.id == "schedule:2026-12-25T09:00:00Z")
            .expect("run record");
        assert_eq!(run.outcome, RunOutcome::Stopped);
    }

    let resumed = setup.once_expect("2026-12-25T09:30:00Z", 0).await;
    assert!(
        resumed.contains("slow 2026-12 2026-12-25T09:00:00Z: paid"),
        "{resumed}"
    );
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "slow"), periods(&[("2026-12", 8)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_runs_job_added_later() {
    let setup = Setup::new().await;
    let mut daemon = spawn_daemon(&setup, "2026-12-25T10:00:00Z");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        setup.sandbox.ledger().await.is_empty(),
        "an empty folder pays nothing"
    );

    // A job added while the daemon sleeps, whose fire an hour ago is within its catch-up, runs
    // at the next look at the folder.
    setup.write(&JobSpec::new("added", "0 9 25 * *", "Africa/Abidjan", "%Y-%m").recipients(2));
    let ledger = wait_for_ledger(&setup.sandbox, Duration::from_secs(20), |ledger| {
        ledger.len() >= 2
    })
    .await;
    assert_eq!(paid_periods(&ledger, "added"), periods(&[("2026-12", 2)]));
    let outcome =
        wait_for_run_outcome(&setup.state(), "added", "schedule:2026-12-25T09:00:00Z").await;
    assert_eq!(outcome, Some(RunOutcome::Completed));

    send_sigterm(&daemon);
    let code =
        tokio::task::block_in_place(|| wait_with_timeout(&mut daemon, Duration::from_secs(20)));
    let stderr = stderr_of(daemon);
    assert_eq!(code, Some(0), "daemon exits 0 on SIGTERM:\n{stderr}");
    assert!(stderr.contains("jobs folder changed; reloaded"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_state_fails_after_wait() {
    let setup = Setup::new().await;
    setup.write(&JobSpec::new(
        "locked",
        "0 9 25 * *",
        "Africa/Abidjan",
        "%Y-%m",
    ));
    let held = SledStore::open(&setup.state()).expect("the test holds the state");

    let mut command = setup.once_command("2026-12-25T09:00:00Z");
    command.args(["--lock-wait", "1s"]);
    let started = Instant::now();
    let out = output(command).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the lock"
    );
    assert!(stdout.contains("locked: error"), "{stdout}");
    assert!(stdout.contains("is locked"), "{stdout}");
    assert!(stdout.contains("tries it again"), "{stdout}");
    assert!(setup.sandbox.ledger().await.is_empty(), "nothing was paid");

    drop(held);
    let retried = setup.once_expect("2026-12-25T09:30:00Z", 0).await;
    assert!(
        retried.contains("locked 2026-12 2026-12-25T09:00:00Z: paid"),
        "{retried}"
    );
    let ledger = setup.ledger().await;
    assert_eq!(paid_periods(&ledger, "locked"), periods(&[("2026-12", 3)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sandbox_runs_once() {
    let dir = TempDir::new();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).expect("jobs folder");
    JobSpec::new("embedded", "0 9 25 * *", "Africa/Abidjan", "%Y-%m").write(&jobs);
    let run = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_payroll"));
        command
            .arg("--sandbox")
            .arg("--state")
            .arg(dir.path().join("state"))
            .arg("run")
            .arg(&jobs)
            .args(["--once", "--now", "2026-12-25T09:00:00Z"])
            .env_remove("DJAMO_API_URL")
            .env_remove("PAYROLL_STATE")
            .env_remove(faultpoint::ENV);
        command
    };

    let first = output(run()).await;
    let stdout = text(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&first.stderr)
    );
    assert!(
        stdout.contains("embedded 2026-12 2026-12-25T09:00:00Z: paid"),
        "{stdout}"
    );
    assert!(stdout.contains("completed 3"), "{stdout}");

    let second = output(run()).await;
    let stdout = text(&second.stdout);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&second.stderr)
    );
    assert!(stdout.contains("already ran"), "{stdout}");
}
