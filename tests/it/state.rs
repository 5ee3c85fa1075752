//! Integration tests: the sled state store in real folders, including a second process for the
//! lock and a second user for permissions.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use payroll::money::Amount;
use payroll::msisdn::Msisdn;
use payroll::state::{
    PaymentRecord, PaymentStatus, RunOutcome, RunRecord, SCHEMA_VERSION, SledStore, StateError,
    Store,
};

/// Environment variable that turns [`open_store_child_helper`] on and names the folder to open.
const CHILD_DIR_ENV: &str = "PAYROLL_TEST_CHILD_STATE_DIR";

fn payment(job: &str, period: &str, reference: &str) -> PaymentRecord {
    PaymentRecord {
        schema_version: SCHEMA_VERSION,
        job: job.to_owned(),
        period: period.to_owned(),
        reference: reference.to_owned(),
        recipient_id: format!("id-{reference}"),
        msisdn: Msisdn::parse("2250747000000").expect("test msisdn is valid"),
        amount: Amount(350_000),
        fee: Amount(3_500),
        description: Some("Salaire".to_owned()),
        status: PaymentStatus::Pending,
        transaction_id: Some(format!("txn_{reference}")),
        batch_id: None,
        failure_reason: None,
        retry_of: None,
        created_at: "2026-12-04T10:00:00Z".to_owned(),
        updated_at: "2026-12-04T10:00:00Z".to_owned(),
    }
}

fn run(job: &str, id: &str, started_at: &str) -> RunRecord {
    RunRecord {
        schema_version: SCHEMA_VERSION,
        id: id.to_owned(),
        job: job.to_owned(),
        period: "2026-12".to_owned(),
        started_at: started_at.to_owned(),
        finished_at: None,
        outcome: RunOutcome::Running,
        plan_digest: None,
        submitted: 0,
        completed: 0,
        failed: 0,
        message: None,
    }
}

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).expect("state folder opens")
}

fn references(records: &[PaymentRecord]) -> Vec<&str> {
    records.iter().map(|r| r.reference.as_str()).collect()
}

/// Writes `value` under `key` of `tree` with sled directly, bypassing the store's checks.
fn write_raw(dir: &Path, tree: &str, key: &[u8], value: &[u8]) {
    let db = sled::open(dir.join("db")).expect("raw sled opens");
    let tree = db.open_tree(tree).expect("raw tree opens");
    tree.insert(key, value).expect("raw insert");
    db.flush().expect("raw flush");
}

#[test]
fn payments_scan_one_job_and_period() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    store
        .put_payments(&[
            payment("pay", "2026-12", "c"),
            payment("pay", "2026-12", "a"),
            payment("pay", "2026-11", "b"),
            payment("pay-2", "2026-12", "d"),
            payment("pa", "y", "e"),
        ])
        .expect("write");

    let december = store.payments("pay", "2026-12").expect("scan");
    assert_eq!(references(&december), ["a", "c"]);
    let november = store.payments("pay", "2026-11").expect("scan");
    assert_eq!(references(&november), ["b"]);
    assert!(store.payments("pay", "2026").expect("scan").is_empty());
    assert!(
        store
            .payments("nobody", "2026-12")
            .expect("scan")
            .is_empty()
    );
}

#[test]
fn payment_survives_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut record = payment("pay", "2026-12", "sal-2026-12-E001");
    record.schema_version = 0;
    {
        let store = open(tmp.path());
        store
            .put_payments(std::slice::from_ref(&record))
            .expect("write");
    }

    let store = open(tmp.path());
    let read = store
        .payment("pay", "2026-12", "sal-2026-12-E001")
        .expect("read");
    record.schema_version = SCHEMA_VERSION;
    assert_eq!(read, Some(record));
    assert_eq!(
        store.payment("pay", "2026-12", "other").expect("read"),
        None
    );
}

#[test]
fn put_payments_replaces_by_reference() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    store
        .put_payments(&[payment("pay", "2026-12", "a")])
        .expect("write");
    let mut completed = payment("pay", "2026-12", "a");
    completed.status = PaymentStatus::Completed;
    store
        .put_payments(std::slice::from_ref(&completed))
        .expect("write");

    let all = store.payments("pay", "2026-12").expect("scan");
    assert_eq!(all, vec![completed]);
}

#[test]
fn serial_changes_on_every_job_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    assert_eq!(store.serial("pay").expect("serial"), 0);

    store
        .put_payments(&[
            payment("pay", "2026-12", "a"),
            payment("pay", "2026-12", "b"),
        ])
        .expect("write");
    let after_payments = store.serial("pay").expect("serial");
    assert_eq!(after_payments, 1, "one write bumps the serial once");

    store
        .put_run(&run("pay", "r1", "2026-12-04T10:00:00Z"))
        .expect("run");
    let after_run = store.serial("pay").expect("serial");
    assert!(after_run > after_payments);

    assert!(
        store
            .claim_occurrence("pay", "2026-12-25T09:00:00Z")
            .expect("claim")
    );
    let after_claim = store.serial("pay").expect("serial");
    assert!(after_claim > after_run);

    store
        .put_payments(&[payment("other", "2026-12", "x")])
        .expect("write");
    assert_eq!(store.serial("pay").expect("serial"), after_claim);
    assert_eq!(store.serial("other").expect("serial"), 1);
}

#[test]
fn serial_survives_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        store
            .put_payments(&[payment("pay", "2026-12", "a")])
            .expect("write");
        store
            .put_payments(&[payment("pay", "2026-12", "b")])
            .expect("write");
    }
    assert_eq!(open(tmp.path()).serial("pay").expect("serial"), 2);
}

#[test]
fn failed_batch_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    let error = store
        .put_payments(&[
            payment("pay", "2026-12", "a"),
            payment("pay", "2026-12", "bad\0reference"),
        ])
        .expect_err("a NUL byte in a reference is rejected");

    assert!(matches!(error, StateError::InvalidKey { .. }), "{error}");
    assert!(store.payments("pay", "2026-12").expect("scan").is_empty());
    assert_eq!(store.serial("pay").expect("serial"), 0);
}

#[test]
fn chunk_of_payments_written_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    let chunk: Vec<PaymentRecord> = (0..2_000)
        .map(|i| payment("pay", "2026-12", &format!("ref-{i:05}")))
        .collect();
    store.put_payments(&chunk).expect("write");

    let read = store.payments("pay", "2026-12").expect("scan");
    assert_eq!(read.len(), 2_000);
    assert_eq!(
        read.first().map(|r| r.reference.as_str()),
        Some("ref-00000")
    );
    assert_eq!(read.last().map(|r| r.reference.as_str()), Some("ref-01999"));
    assert_eq!(store.serial("pay").expect("serial"), 1);
}

#[test]
fn runs_listed_in_start_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    store
        .put_run(&run("pay", "b", "2026-12-04T10:00:00Z"))
        .expect("run");
    store
        .put_run(&run("pay", "a", "2026-12-04T10:30:00+01:00"))
        .expect("run");
    store
        .put_run(&run("pay", "c", "2026-12-03T10:00:00Z"))
        .expect("run");
    store
        .put_run(&run("pay-2", "d", "2026-12-01T10:00:00Z"))
        .expect("run");

    let mut finished = run("pay", "b", "2026-12-04T10:00:00Z");
    finished.outcome = RunOutcome::Completed;
    finished.finished_at = Some("2026-12-04T10:05:00Z".to_owned());
    store.put_run(&finished).expect("replace run");

    let runs = store.runs("pay").expect("runs");
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["c", "a", "b"], "10:30+01:00 is 09:30Z");
    assert_eq!(runs.get(2), Some(&finished));
}

#[test]
fn claim_plan_has_one_winner() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(tmp.path()));
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store.claim_plan("sha256:abc").expect("claim")
            })
        })
        .collect();
    let wins = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1);
    assert!(store.claim_plan("sha256:other").expect("claim"));
    drop(store);

    let reopened = open(tmp.path());
    assert!(!reopened.claim_plan("sha256:abc").expect("claim"));
}

#[test]
fn claim_occurrence_has_one_winner() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(tmp.path()));
    let fire = "2026-12-25T09:00:00Z";
    assert!(!store.occurrence_claimed("pay", fire).expect("read"));

    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store.claim_occurrence("pay", fire).expect("claim")
            })
        })
        .collect();
    let wins = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .filter(|won| *won)
        .count();

    assert_eq!(wins, 1);
    assert!(store.occurrence_claimed("pay", fire).expect("read"));
    assert!(!store.occurrence_claimed("pay-2", fire).expect("read"));
    assert_eq!(store.serial("pay").expect("serial"), 1);
}

#[test]
fn second_open_in_process_is_locked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let _store = open(tmp.path());
    let error = SledStore::open(tmp.path()).expect_err("second open fails");

    let pid = std::process::id().to_string();
    assert!(
        matches!(&error, StateError::Locked { pid: p, .. } if *p == pid),
        "{error}"
    );
}

#[test]
fn deleted_lock_file_still_locks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let _store = open(tmp.path());
    std::fs::remove_file(tmp.path().join("lock")).expect("remove lock file");

    let error = SledStore::open(tmp.path()).expect_err("sled's own lock still holds");
    assert!(matches!(error, StateError::LockedUnknown { .. }), "{error}");
}

#[test]
fn lock_released_on_drop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    let store = SledStore::open(tmp.path());
    assert!(store.is_ok(), "{:?}", store.err());
}

/// Runs the child half of the cross-process tests; does nothing unless the parent set
/// `PAYROLL_TEST_CHILD_STATE_DIR`. It prints the outcome of one `SledStore::open` on stdout.
#[test]
#[ignore = "helper run by other tests in a child process"]
#[expect(
    clippy::print_stdout,
    reason = "the parent test reads the child's stdout"
)]
fn open_store_child_helper() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    match SledStore::open(Path::new(&dir)) {
        Ok(_) => println!("CHILD-RESULT: opened"),
        Err(error) => {
            println!("CHILD-RESULT: {error}");
            println!("CHILD-HELP: {}", error.help());
        }
    }
}

fn child_command(exe: &Path, dir: &Path, uid: Option<u32>) -> Command {
    let mut command = Command::new(exe);
    command
        .args([
            "state::open_store_child_helper",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DIR_ENV, dir);
    if let Some(uid) = uid {
        std::os::unix::process::CommandExt::uid(&mut command, uid);
        std::os::unix::process::CommandExt::gid(&mut command, uid);
    }
    command
}

/// Opens `dir` in a child process running [`open_store_child_helper`], optionally as another
/// user, and returns its result and help lines.
fn open_in_child(dir: &Path, uid: Option<u32>) -> (String, String) {
    let exe = std::env::current_exe().expect("test executable path");
    let output = match child_command(&exe, dir, uid).output() {
        Ok(output) => output,
        // Another user cannot run the executable where it is when a folder above it is private,
        // as under `/root`; a copy in a world-readable temporary folder can be run.
        Err(e) if uid.is_some() && e.kind() == std::io::ErrorKind::PermissionDenied => {
            use std::os::unix::fs::PermissionsExt;
            let copy_dir = tempfile::tempdir().expect("tempdir");
            let public = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(copy_dir.path(), public.clone()).expect("chmod");
            let copy = copy_dir.path().join("it");
            std::fs::copy(&exe, &copy).expect("copy test executable");
            std::fs::set_permissions(&copy, public).expect("chmod");
            child_command(&copy, dir, uid)
                .output()
                .expect("child test process runs from a copy")
        }
        Err(e) => panic!("child test process did not start: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = |marker: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(marker))
            .unwrap_or_default()
            .to_owned()
    };
    let result = line("CHILD-RESULT: ");
    assert!(
        !result.is_empty(),
        "child printed no result; stdout: {stdout}; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (result, line("CHILD-HELP: "))
}

#[test]
fn second_process_sees_lock_holder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    let (result, help) = open_in_child(tmp.path(), None);

    let expected = format!(
        "state folder `{}` is locked by pid {} since ",
        tmp.path().display(),
        std::process::id()
    );
    assert!(result.starts_with(&expected), "{result}");
    let since = result.trim_start_matches(&expected);
    assert!(since.parse::<jiff::Timestamp>().is_ok(), "{since}");
    assert!(help.contains("wait for the run with pid"), "{help}");

    drop(store);
    let (result, _) = open_in_child(tmp.path(), None);
    assert_eq!(result, "opened");
}

#[test]
fn unreadable_folder_is_error() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("state");
    drop(open(&dir));
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).expect("chmod");

    // root ignores mode bits, so as root the folder is opened by a child running as `nobody`.
    let privileged = std::fs::read_dir(&dir).is_ok();
    let (result, help) = if privileged {
        open_in_child(&dir, Some(65_534))
    } else {
        let error = SledStore::open(&dir).expect_err("unreadable folder fails");
        (error.to_string(), error.help())
    };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    assert_eq!(
        result,
        format!(
            "state folder `{}` could not be opened: permission denied on `{}/lock`",
            dir.display(),
            dir.display()
        )
    );
    assert!(help.contains("this user can read and write"), "{help}");
}

#[test]
fn file_in_place_of_folder_is_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("state");
    std::fs::write(&file, "not a folder").expect("write file");

    let error = SledStore::open(&file).expect_err("a file is not a state folder");
    assert_eq!(
        error.to_string(),
        format!(
            "state folder `{0}` could not be opened: `{0}` is a file, not a folder",
            file.display()
        )
    );
}

#[test]
fn file_in_place_of_database_is_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("db"), "not sled").expect("write file");

    let error = SledStore::open(tmp.path()).expect_err("a file is not a sled folder");
    assert_eq!(
        error.to_string(),
        format!(
            "state folder `{0}` could not be opened: `{0}/db` is a file, not a sled folder",
            tmp.path().display()
        )
    );
}

#[test]
fn garbage_database_file_is_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        store
            .put_payments(&[payment("pay", "2026-12", "a")])
            .expect("write");
    }
    let data = tmp.path().join("db").join("db");
    let garbage: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&data, garbage).expect("overwrite sled data");

    // sled 0.34.7 reads garbage from the first byte as an empty log; the store must not.
    let error = SledStore::open(tmp.path()).expect_err("garbage is not an empty state");
    assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
    assert!(
        error.to_string().contains("its records are gone"),
        "{error}"
    );
}

#[test]
fn garbage_value_is_corrupt_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    write_raw(
        tmp.path(),
        "payments",
        b"pay\x002026-12\x00a",
        b"\xff garbage",
    );

    let store = open(tmp.path());
    let error = store
        .payments("pay", "2026-12")
        .expect_err("garbage is not an empty list");
    assert!(
        error
            .to_string()
            .contains("record `payments:pay/2026-12/a` is unreadable"),
        "{error}"
    );
    assert!(store.payment("pay", "2026-12", "a").is_err());
}

#[test]
fn garbage_serial_is_corrupt_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    write_raw(tmp.path(), "serials", b"pay", b"12");

    let store = open(tmp.path());
    assert!(matches!(
        store.serial("pay"),
        Err(StateError::Corrupt { .. })
    ));
    let write = store.put_payments(&[payment("pay", "2026-12", "a")]);
    assert!(matches!(write, Err(StateError::Corrupt { .. })));
    assert!(store.payments("pay", "2026-12").expect("scan").is_empty());
}

#[test]
fn record_under_wrong_key_is_corrupt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    let body = serde_json::to_vec(&payment("pay", "2026-12", "b")).expect("json");
    write_raw(tmp.path(), "payments", b"pay\x002026-12\x00a", &body);

    let error = open(tmp.path())
        .payments("pay", "2026-12")
        .expect_err("mismatched key");
    assert!(
        error.to_string().contains("names another payment"),
        "{error}"
    );
}

#[test]
fn newer_schema_version_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    let mut body = serde_json::to_value(payment("pay", "2026-12", "a")).expect("json");
    body["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    let body = serde_json::to_vec(&body).expect("json");
    write_raw(tmp.path(), "payments", b"pay\x002026-12\x00a", &body);

    let error = open(tmp.path())
        .payments("pay", "2026-12")
        .expect_err("newer record");
    assert!(
        matches!(&error, StateError::Version { found, .. } if *found == SCHEMA_VERSION + 1),
        "{error}"
    );
}

#[test]
fn newer_folder_format_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    let body = format!(
        r#"{{"schema_version":{},"created_at":"2026-12-04T10:00:00Z"}}"#,
        SCHEMA_VERSION + 1
    );
    write_raw(tmp.path(), "meta", b"format", body.as_bytes());

    let error = SledStore::open(tmp.path()).expect_err("newer folder");
    assert!(matches!(error, StateError::Version { .. }), "{error}");
}

#[test]
fn records_without_format_are_corrupt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let body = serde_json::to_vec(&payment("pay", "2026-12", "a")).expect("json");
    write_raw(tmp.path(), "payments", b"pay\x002026-12\x00a", &body);

    let error = SledStore::open(tmp.path()).expect_err("no format record");
    assert!(
        error.to_string().contains("holds records but no `format`"),
        "{error}"
    );
}

#[test]
fn missing_database_after_use_is_corrupt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        store
            .put_payments(&[payment("pay", "2026-12", "a")])
            .expect("write");
    }
    std::fs::remove_dir_all(tmp.path().join("db")).expect("remove db");

    let error = SledStore::open(tmp.path()).expect_err("missing records are not an empty state");
    assert!(
        error.to_string().contains("records folder `db` is missing"),
        "{error}"
    );
    assert!(
        error.help().contains("restore the folder"),
        "{}",
        error.help()
    );
}

#[test]
fn lock_file_tracks_write_generation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    store
        .put_payments(&[payment("pay", "2026-12", "a")])
        .expect("write");
    store
        .put_run(&run("pay", "r1", "2026-12-04T10:00:00Z"))
        .expect("run");
    assert!(store.claim_plan("sha256:abc").expect("claim"));
    assert!(!store.claim_plan("sha256:abc").expect("claim"));

    let body = std::fs::read(tmp.path().join("lock")).expect("lock file");
    let info: payroll::state::lock::LockInfo = serde_json::from_slice(&body).expect("lock JSON");
    assert_eq!(info.pid, std::process::id());
    assert_eq!(
        info.generation, 3,
        "three writes; a lost claim writes nothing"
    );
}

#[test]
fn rolled_back_database_is_corrupt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        for reference in ["a", "b", "c"] {
            store
                .put_payments(&[payment("pay", "2026-12", reference)])
                .expect("write");
        }
    }
    write_raw(
        tmp.path(),
        "meta",
        b"generation",
        br#"{"schema_version":1,"generation":1}"#,
    );

    let error = SledStore::open(tmp.path()).expect_err("lost writes are not a valid state");
    assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("its records stop at write 1, but pid"),
        "{error}"
    );
    assert!(error.to_string().contains("recorded write 3"), "{error}");
}

#[test]
fn truncated_database_never_loses_silently() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        for i in 0..20 {
            store
                .put_payments(&[payment("pay", "2026-12", &format!("ref-{i:02}"))])
                .expect("write");
        }
    }
    let data = tmp.path().join("db").join("db");
    let length = std::fs::metadata(&data).expect("data file").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&data)
        .expect("open data file");
    file.set_len(length / 2).expect("truncate");
    drop(file);

    // Whatever sled recovers, the store either reports the loss or still has every payment.
    match SledStore::open(tmp.path()) {
        Err(error) => assert!(matches!(error, StateError::Corrupt { .. }), "{error}"),
        Ok(store) => {
            let payments = store.payments("pay", "2026-12").expect("scan");
            assert_eq!(payments.len(), 20);
        }
    }
}
