//! Benchmark: plan and apply of a large job against the sandbox with added network latency.
//!
//! `cargo bench --bench plan_apply -- [RECIPIENTS] [LATENCY_MS] [CONCURRENCY]` (defaults 10000,
//! 50, 16). It prints the time of each stage beside the lower bound that the request count,
//! the latency and the client's concurrency allow, and the ratio of the two.

use std::time::{Duration, Instant};

use payroll::apply::{ApplyOptions, apply};
use payroll::djamo::Client;
use payroll::manifest::{Job, Limits, OnKycFailure, Payment};
use payroll::money::{Amount, FeeRate};
use payroll::msisdn::Msisdn;
use payroll::plan::{PlanOptions, build};
use payroll::sandbox::testing::TestSandbox;
use payroll::state::SledStore;

fn job(count: usize) -> Job {
    let payments = (0..count)
        .map(|index| Payment {
            recipient_id: format!("E{index:05}"),
            name: format!("Recipient {index}"),
            msisdn: Msisdn::parse(&format!("22507{:08}", 10_000_000 + index))
                .expect("valid number"),
            amount: Amount(10_000 + (index as u64 % 100) * 1_000),
            reference: format!("bench-2026-12-E{index:05}"),
            description: None,
        })
        .collect();
    Job {
        name: "bench".to_owned(),
        period: "2026-12".to_owned(),
        payments,
        fee_rate: FeeRate::DEFAULT,
        limits: Limits::default(),
        chunk_size: None,
        on_kyc_failure: OnKycFailure::Block,
        sub_company_id: None,
        manifest_digest: "bench".to_owned(),
    }
}

fn lower_bound(requests: u64, concurrency: u64, latency: Duration) -> Duration {
    latency * u32::try_from(requests.div_ceil(concurrency.max(1))).unwrap_or(u32::MAX)
}

fn report(stage: &str, took: Duration, requests: u64, bound: Duration) {
    println!(
        "{stage:<22} {:>8.2} s  {requests:>6} requests  lower bound {:>7.2} s  ratio {:.2}",
        took.as_secs_f64(),
        bound.as_secs_f64(),
        took.as_secs_f64() / bound.as_secs_f64().max(f64::EPSILON)
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let latency_ms: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let latency = Duration::from_millis(latency_ms);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let sandbox = TestSandbox::builder()
            .latency(latency)
            .settle_after(Duration::from_millis(500))
            .balance(Amount(100_000_000_000))
            .start()
            .await;
        let mut config = sandbox.client_config();
        config.max_concurrency = concurrency;
        let client = Client::new(config).expect("client");
        let state = tempfile::tempdir().expect("state folder");
        let store = SledStore::open(state.path()).expect("state");
        let job = job(count);
        println!("{count} recipients, {latency_ms} ms latency per request, {concurrency} requests at once");

        let started = Instant::now();
        let plan = build(&job, &store, &client, &PlanOptions::default()).await.expect("plan");
        let plan_requests = 2 * count as u64 + 1;
        report("plan (empty state)", started.elapsed(), plan_requests, lower_bound(plan_requests, concurrency as u64, latency));

        let options = ApplyOptions { wait: false, ..ApplyOptions::default() };
        let started = Instant::now();
        let applied = apply(&plan, &store, &client, &options).await.expect("apply");
        assert_eq!(applied.sent, count as u64);
        let batches = count.div_ceil(options.chunk_size) as u64;
        report("apply, submit only", started.elapsed(), batches, latency * u32::try_from(batches).unwrap_or(u32::MAX));

        let started = Instant::now();
        let plan = build(&job, &store, &client, &PlanOptions::default()).await.expect("plan");
        let wait_options = ApplyOptions { poll_interval: Duration::from_millis(200), ..ApplyOptions::default() };
        let settled = apply(&plan, &store, &client, &wait_options).await.expect("apply");
        report("re-plan + settle", started.elapsed(), 2 * count as u64, lower_bound(2 * count as u64, concurrency as u64, latency));
        println!("completed {} failed {} pending {}", settled.completed, settled.failed, settled.pending);

        let started = Instant::now();
        let plan = build(&job, &store, &client, &PlanOptions::default()).await.expect("plan");
        assert_eq!(plan.summary.to_pay, 0);
        report("plan (all paid)", started.elapsed(), 1, latency);
    });
}
