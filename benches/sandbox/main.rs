//! Throughput of the sandbox on this machine: batch creation, lookups by reference and
//! settlement, for a 10,000-recipient payroll. Not a timed test: it prints a table and asserts
//! nothing about speed.
//!
//! Run with `cargo test --release --bench sandbox -- --ignored --nocapture`. With
//! `harness = false` for this target in Cargo.toml, `cargo bench --bench sandbox` also runs it. `BENCH_TRANSFERS` changes
//! the number of transfers per scenario.

// Without `harness = false` this file is built as a libtest crate, where `main` is unused and
// the ignored test below runs it.
#![cfg_attr(test, allow(dead_code, unused_imports))]
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use payroll::money::Amount;
use payroll::sandbox::ledger::{Ledger, now_ms};
use payroll::sandbox::testing::TestSandbox;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[cfg(test)]
#[test]
#[ignore = "a benchmark: run it with `--ignored --nocapture`"]
fn sandbox_benchmark() {
    main();
}

fn main() {
    let transfers: usize = std::env::var("BENCH_TRANSFERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(transfers));
}

async fn run(transfers: usize) {
    // The phone-number tables load on first use; keep that out of the first scenario.
    payroll::msisdn::Msisdn::parse("2250747000001").unwrap();
    println!(
        "sandbox benchmark: {transfers} transfers per scenario, {} CPUs, client and sandbox in one process\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| scenario | batch size | in flight | wall time | transfers/s | request p50 | request p99 |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (size, in_flight) in [(100, 1), (100, 4), (500, 1), (500, 4), (1_000, 2)] {
        batches(transfers, size, in_flight).await;
    }
    singles(transfers.min(2_000), 16).await;
    lookups(transfers, 16).await;
    settlement(transfers).await;
}

async fn sandbox() -> TestSandbox {
    TestSandbox::builder()
        .balance(Amount(u64::MAX / 4))
        .settle_after(Duration::from_secs(3_600))
        .start()
        .await
}

fn item(index: usize, run: &str) -> Value {
    json!({
        "msisdn": format!("22507{:08}", 47_000_000 + index % 1_000_000),
        "amount": 5_000 + (index % 100) * 1_000,
        "reference": format!("{run}-{index:06}"),
        "description": "Salaire 2026-12",
    })
}

/// Sends `transfers` as batches of `size`, `in_flight` at a time.
async fn batches(transfers: usize, size: usize, in_flight: usize) {
    let sandbox = Arc::new(sandbox().await);
    let bodies: Vec<Value> = (0..transfers)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(|chunk| json!({"transactions": chunk.iter().map(|&i| item(i, "b")).collect::<Vec<_>>()}))
        .collect();
    let (wall, mut latencies) = drive(&sandbox, "/v1/transactions/batch", bodies, in_flight).await;
    assert_eq!(
        sandbox.ledger().await.len(),
        transfers,
        "every transfer was created"
    );
    report(
        "batch create",
        size,
        in_flight,
        transfers,
        wall,
        &mut latencies,
    );
}

/// Sends `transfers` single transfers, `in_flight` at a time.
async fn singles(transfers: usize, in_flight: usize) {
    let sandbox = Arc::new(sandbox().await);
    let bodies: Vec<Value> = (0..transfers).map(|i| item(i, "s")).collect();
    let (wall, mut latencies) = drive(&sandbox, "/v1/transactions", bodies, in_flight).await;
    report(
        "single create",
        1,
        in_flight,
        transfers,
        wall,
        &mut latencies,
    );
}

/// Looks up `transfers` references, as a reconciliation does.
async fn lookups(transfers: usize, in_flight: usize) {
    let sandbox = Arc::new(sandbox().await);
    let bodies: Vec<Value> = (0..transfers)
        .collect::<Vec<_>>()
        .chunks(1_000)
        .map(|chunk| json!({"transactions": chunk.iter().map(|&i| item(i, "l")).collect::<Vec<_>>()}))
        .collect();
    drive(&sandbox, "/v1/transactions/batch", bodies, 1).await;

    let semaphore = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(transfers);
    for index in 0..transfers {
        let sandbox = Arc::clone(&sandbox);
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let path = format!("/v1/transactions?reference=l-{index:06}");
            let response = sandbox.request(Method::GET, &path).send().await.unwrap();
            assert!(response.status().is_success());
            let _ = response.bytes().await.unwrap();
            drop(permit);
            began.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(transfers);
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    report(
        "lookup by reference",
        1,
        in_flight,
        transfers,
        started.elapsed(),
        &mut latencies,
    );
}

/// Settles `transfers` due transactions in one sweep, directly on the ledger.
async fn settlement(transfers: usize) {
    let dir = std::env::temp_dir().join(format!("payroll-bench-{}", uuid::Uuid::new_v4().simple()));
    let ledger = Ledger::open(&dir, Amount(u64::MAX / 4)).await.unwrap();
    let requests: Vec<_> = (0..transfers)
        .map(|i| payroll::sandbox::validate::single(item(i, "t").to_string().as_bytes()).unwrap())
        .collect();
    for chunk in requests.chunks(1_000) {
        ledger
            .create(chunk, Some("bat_bench"), now_ms(), Duration::ZERO)
            .unwrap();
    }
    ledger.flush().await.unwrap();
    let started = Instant::now();
    let settled = ledger.settle_due(now_ms() + 1).unwrap();
    ledger.flush().await.unwrap();
    let wall = started.elapsed();
    assert_eq!(settled, transfers);
    println!(
        "| settle due transactions (one sweep) | {transfers} | 1 | {} | {:.0} | | |",
        ms(wall),
        transfers as f64 / wall.as_secs_f64()
    );
    drop(ledger);
    let _ = std::fs::remove_dir_all(dir);
}

/// Posts every body, `in_flight` at a time; returns the wall time and each request's latency.
async fn drive(
    sandbox: &Arc<TestSandbox>,
    path: &'static str,
    bodies: Vec<Value>,
    in_flight: usize,
) -> (Duration, Vec<Duration>) {
    let semaphore = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(bodies.len());
    for body in bodies {
        let sandbox = Arc::clone(sandbox);
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let response = sandbox
                .request(Method::POST, path)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(status.is_success(), "{status}: {text}");
            drop(permit);
            began.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    (started.elapsed(), latencies)
}

fn report(
    scenario: &str,
    size: usize,
    in_flight: usize,
    transfers: usize,
    wall: Duration,
    latencies: &mut [Duration],
) {
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "| {scenario} | {size} | {in_flight} | {} | {:.0} | {} | {} |",
        ms(wall),
        transfers as f64 / wall.as_secs_f64(),
        ms(pick(0.5)),
        ms(pick(0.99)),
    );
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
}
