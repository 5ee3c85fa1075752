//! `payroll sandbox`: the binary serves until SIGTERM and logs its URL on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// The stderr lines of a child, collected in the background.
type Lines = Arc<Mutex<Vec<String>>>;

/// Starts `payroll sandbox` on a free port and returns the child and its base URL.
fn spawn(state: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let (child, url, _) = spawn_logged(state, &[], extra);
    (child, url)
}

/// Starts `payroll [global] sandbox [extra]` and also returns its stderr lines, without colours.
fn spawn_logged(
    state: &std::path::Path,
    global: &[&str],
    extra: &[&str],
) -> (Child, String, Lines) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payroll"))
        .args(global)
        .arg("--state")
        .arg(state)
        .args(["sandbox", "--listen", "127.0.0.1:0", "--token", "cli-token"])
        .args(extra)
        .env_remove("DJAMO_COMPANY_ID")
        .env_remove("DJAMO_SANDBOX_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn payroll");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("stderr ended before the URL")
            .expect("stderr line");
        if let Some(rest) = line.split("serving on ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    let collected = Lines::default();
    let sink = Arc::clone(&collected);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().expect("lines").push(strip_ansi(&line));
        }
    });
    (child, url, collected)
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            // Skip an escape sequence up to its final letter, such as `\x1b[2m`.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    for _ in 0..200 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    panic!("payroll sandbox did not stop on SIGTERM");
}

/// The flags reach the server: token, balance, company id and ledger folder; SIGTERM exits 0.
#[tokio::test]
async fn sandbox_command_serves_with_its_flags_and_stops_on_sigterm() {
    let state = tempfile::tempdir().expect("tempdir");
    let (child, url) = spawn(
        state.path(),
        &[
            "--balance",
            "7000000",
            "--company-id",
            "acme",
            "--settle-ms",
            "50",
        ],
    );
    let http = reqwest::Client::new();
    let balance: Value = http
        .get(format!("{url}/v1/balance"))
        .bearer_auth("cli-token")
        .header("X-Company-Id", "acme")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(balance["balance"], 7_000_000);
    let forbidden = http
        .get(format!("{url}/v1/balance"))
        .bearer_auth("cli-token")
        .send()
        .await
        .expect("request");
    assert_eq!(forbidden.status(), reqwest::StatusCode::FORBIDDEN);
    let unauthorized = http
        .get(format!("{url}/v1/balance"))
        .send()
        .await
        .expect("request");
    assert_eq!(unauthorized.status(), reqwest::StatusCode::UNAUTHORIZED);

    let status = terminate(child);
    assert!(status.success(), "{status:?}");
    assert!(
        state.path().join("sandbox").is_dir(),
        "the ledger defaults to <state>/sandbox"
    );
}

/// `--data` moves the ledger, which keeps its balance across runs unless `--balance` is given.
#[tokio::test]
async fn sandbox_command_keeps_its_ledger_in_data() {
    let state = tempfile::tempdir().expect("tempdir");
    let data = state.path().join("elsewhere");
    let data_arg = data.to_str().expect("utf-8 path");
    let http = reqwest::Client::new();
    let balance = |url: String| {
        let http = http.clone();
        async move {
            let body: Value = http
                .get(format!("{url}/v1/balance"))
                .bearer_auth("cli-token")
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            body["balance"].as_u64().expect("balance")
        }
    };

    let (child, url) = spawn(state.path(), &["--data", data_arg, "--balance", "42000"]);
    assert_eq!(balance(url).await, 42_000);
    assert!(terminate(child).success());
    assert!(data.is_dir());

    let (child, url) = spawn(state.path(), &["--data", data_arg]);
    assert_eq!(
        balance(url).await,
        42_000,
        "an existing ledger keeps its balance"
    );
    assert!(terminate(child).success());
}

/// With `-v`, each request is logged once with method, path, status, latency and, on errors,
/// the error code; the token never appears.
#[tokio::test]
async fn sandbox_command_logs_one_line_per_request() {
    let state = tempfile::tempdir().expect("tempdir");
    let (child, url, lines) = spawn_logged(state.path(), &["-v"], &[]);
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{url}/v1/balance"))
        .bearer_auth("cli-token")
        .send()
        .await
        .expect("request");
    assert!(ok.status().is_success());
    let bad = http
        .post(format!("{url}/v1/transactions"))
        .bearer_auth("cli-token")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(terminate(child).success());

    // The reader thread may still be catching up with the last lines.
    for _ in 0..200 {
        if lines
            .lock()
            .expect("lines")
            .iter()
            .any(|l| l.contains("sandbox stopping"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let lines = lines.lock().expect("lines").clone();
    let requests: Vec<&String> = lines.iter().filter(|l| l.contains(" request ")).collect();
    assert_eq!(requests.len(), 2, "{lines:#?}");
    assert!(
        requests[0].contains("method=GET path=/v1/balance status=200 latency_ms="),
        "{lines:#?}"
    );
    assert!(
        requests[1].contains("method=POST path=/v1/transactions status=400"),
        "{lines:#?}"
    );
    assert!(
        requests[1].contains("code=\"INVALID_PARAMETER\""),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains("cli-token")), "{lines:#?}");
}
