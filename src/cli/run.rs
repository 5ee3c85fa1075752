//! `payroll run`: pays the scheduled jobs of a folder, once or as a daemon.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use miette::miette;

use crate::apply::ApplyOptions;
use crate::cli::provider;
use crate::cli::{GlobalArgs, exit};
use crate::schedule::{
    self, Clock, JobStatus, JobsFolder, OpenState, PassReport, RunContext, StopSignal,
};
use crate::state::{SledStore, Store};

/// Pay the jobs of a folder when their schedules fire.
///
/// Each job's latest fire at or before now runs once, with the period its `schedule.period`
/// pattern gives. A fire older than the job's `catch_up` (default one day) is skipped and
/// reported. Without `--once` it keeps running and sleeps until the next fire. SIGINT or
/// SIGTERM lets the batch in flight finish and be recorded, then exits 0.
///
/// Exit codes of `--once`: 0 when everything due ran or nothing was due, 1 on an error, 3 when
/// payments failed, 4 when outcomes are still unknown.
///
/// Example: `payroll run --sandbox --once jobs/`
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Folder of job manifests (`*.yaml`, `*.yml`), each with a `schedule`.
    pub jobs_dir: PathBuf,

    /// Run what is due, then exit.
    #[arg(long)]
    pub once: bool,

    /// The current time as RFC 3339, such as `2026-12-25T09:00:00Z`. With `--once` the run
    /// uses this instant; the daemon's clock starts there and advances in real time.
    #[arg(long, value_parser = parse_timestamp)]
    pub now: Option<Timestamp>,

    /// How long to wait for a state folder that another command has locked, such as `2m` or `30s`.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub lock_wait: Duration,

    /// How often the daemon looks for changed job files, such as `60s`; it also wakes at each
    /// fire.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub rescan: Duration,

    /// How long each job waits for its payments to settle, such as `5m`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse().map_err(|error| {
        format!("`{text}` is not an RFC 3339 time such as `2026-12-25T09:00:00Z`: {error}")
    })
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("`{text}` is not a duration such as `30s`, `2m` or `1h`: {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("`{text}` is negative"))
}

pub async fn run(args: RunArgs, global: &GlobalArgs) -> miette::Result<u8> {
    if !args.jobs_dir.is_dir() {
        return Err(miette!(
            help = "pass the folder that contains the job manifests, such as `jobs/`",
            "jobs folder `{}` does not exist or is not a folder",
            args.jobs_dir.display()
        ));
    }
    let provider = provider::connect(global).await?;
    let stop = StopSignal::new();
    listen_for_signals(stop.clone())?;

    let state_dir = global.state_dir.clone();
    let open_state: Box<OpenState<'_>> = Box::new(move || {
        SledStore::open(&state_dir).map(|store| Box::new(store) as Box<dyn Store>)
    });
    let context = RunContext {
        open_state: open_state.as_ref(),
        client: &provider.client,
        apply: ApplyOptions {
            wait_timeout: args.wait_timeout,
            ..ApplyOptions::default()
        },
        lock_wait: args.lock_wait,
        stop,
    };

    if !args.once {
        let clock = match args.now {
            Some(start) => Clock::starting_at(start),
            None => Clock::system(),
        };
        let rescan = args.rescan.max(Duration::from_millis(100));
        schedule::run_daemon(&args.jobs_dir, &clock, rescan, &context).await;
        return Ok(exit::OK);
    }

    let folder = schedule::load_folder(&args.jobs_dir)
        .map_err(|error| miette!(help = "check the folder's permissions", "{error}"))?;
    if folder.jobs.is_empty() && folder.invalid.is_empty() {
        eprintln!(
            "warning: no job files (`*.yaml`, `*.yml`) in `{}`, so nothing runs",
            args.jobs_dir.display()
        );
    }
    for invalid in &folder.invalid {
        eprintln!("{:?}", invalid.report);
    }
    for job in &folder.jobs {
        for warning in &job.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let now = args.now.unwrap_or_else(Timestamp::now);
    let pass = schedule::run_pass(&folder, now, &context).await;
    print_pass(&folder, &pass);
    Ok(exit_code(&folder, &pass))
}

/// Turns the first SIGINT or SIGTERM into a stop request. A second one exits at once: state was
/// written ahead of every request, so the next run reconciles what was in flight.
fn listen_for_signals(stop: StopSignal) -> miette::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| miette!("could not listen for SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| miette!("could not listen for SIGINT: {e}"))?;
    tokio::spawn(async move {
        let mut received = 0;
        loop {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            received += 1;
            if received == 1 {
                tracing::info!(
                    signal = name,
                    "stop requested; finishing the batch in flight"
                );
                stop.request();
                continue;
            }
            tracing::warn!(
                signal = name,
                "second stop request; exiting now, and the next run reconciles the batch in flight"
            );
            std::process::exit(i32::from(exit::ERROR));
        }
    });
    Ok(())
}

/// Returns the exit code of a `--once` pass. Unknown outcomes come first because they need
/// another run to reconcile. Errors (invalid files, blocked plans, a run stopped by a signal)
/// come next, and failed payments last.
pub fn exit_code(folder: &JobsFolder, pass: &PassReport) -> u8 {
    let has = |status: JobStatus| pass.jobs.iter().any(|job| job.status == status);
    if has(JobStatus::UnknownOutcome) {
        exit::UNKNOWN_OUTCOME
    } else if has(JobStatus::Error)
        || has(JobStatus::Stopped)
        || pass.stopped
        || !folder.invalid.is_empty()
    {
        exit::ERROR
    } else if has(JobStatus::FailedPayments) {
        exit::FAILED_PAYMENTS
    } else {
        exit::OK
    }
}

fn print_pass(folder: &JobsFolder, pass: &PassReport) {
    let mut out = String::new();
    for job in &pass.jobs {
        let status = match job.status {
            JobStatus::NeverFired => "not due",
            JobStatus::AlreadyRan => "already ran",
            JobStatus::Missed => "missed",
            JobStatus::Paid => "paid",
            JobStatus::FailedPayments => "failed payments",
            JobStatus::UnknownOutcome => "unknown outcome",
            JobStatus::Stopped => "stopped",
            JobStatus::Error => "error",
        };
        match &job.occurrence {
            Some(occurrence) => out.push_str(&format!(
                "{} {} {}: {status}: {}\n",
                job.job,
                occurrence.period,
                occurrence.fire_key(),
                job.message
            )),
            None => out.push_str(&format!("{}: {status}: {}\n", job.job, job.message)),
        }
    }
    for invalid in &folder.invalid {
        out.push_str(&format!(
            "{}: skipped: invalid job file (diagnostics on stderr)\n",
            invalid.path.display()
        ));
    }
    if pass.stopped {
        out.push_str("stopped by a signal before every job ran; run again to finish\n");
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
