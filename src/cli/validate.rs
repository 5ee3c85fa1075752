//! `payroll validate`: offline checks of manifests, rendered for one period so that template
//! errors show before anything is paid.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::{Timestamp, Zoned};
use miette::IntoDiagnostic;
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, exit};
use crate::manifest::{self, Job, LoadedManifest, ManifestError, Problem, schedule};
use crate::money::Amount;

/// Check manifests offline: YAML, JSON Schema, values, schedule and templates.
///
/// Example: `payroll validate examples/monthly-salaries.yaml jobs/*.yaml`
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files to check.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<PathBuf>,

    /// Format of the results on stdout; diagnostics always go to stderr.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
}

/// Source of the period a manifest was rendered with.
#[derive(Debug, Clone, Copy)]
enum PeriodSource {
    Manifest,
    Schedule,
    CurrentMonth,
}

impl PeriodSource {
    fn as_str(self) -> &'static str {
        match self {
            PeriodSource::Manifest => "manifest",
            PeriodSource::Schedule => "schedule",
            PeriodSource::CurrentMonth => "current-month",
        }
    }
}

/// The outcome of checking one file.
struct Outcome {
    path: PathBuf,
    rendered: Option<(Job, PeriodSource)>,
    problems: Vec<Problem>,
    /// Number of errors, also those beyond the problems a `ManifestError` carries.
    error_count: usize,
    fires: Vec<Zoned>,
}

impl Outcome {
    fn valid(&self) -> bool {
        self.rendered.is_some() && !self.problems.iter().any(Problem::is_error)
    }
}

pub async fn run(args: ValidateArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let now = Timestamp::now();
    let outcomes: Vec<Outcome> = args.manifests.iter().map(|path| check(path, now)).collect();

    for outcome in &outcomes {
        for problem in &outcome.problems {
            eprintln!("{:?}", miette::Report::new(problem.clone()));
        }
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        ValidateFormat::Text => {
            for outcome in &outcomes {
                if !global.quiet || !outcome.valid() {
                    write!(stdout, "{}", text(outcome)).into_diagnostic()?;
                }
            }
        }
        ValidateFormat::Json => {
            let document = json!({
                "valid": outcomes.iter().all(Outcome::valid),
                "files": outcomes.iter().map(json_of).collect::<Vec<_>>(),
            });
            writeln!(stdout, "{document:#}").into_diagnostic()?;
        }
    }
    Ok(if outcomes.iter().all(Outcome::valid) {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Loads one manifest and renders it with its own period, else the period of its schedule's
/// next fire time, else the current month in UTC.
fn check(path: &Path, now: Timestamp) -> Outcome {
    let mut outcome = Outcome {
        path: path.to_path_buf(),
        rendered: None,
        problems: Vec::new(),
        error_count: 0,
        fires: Vec::new(),
    };
    let loaded = match manifest::load(path) {
        Ok(loaded) => loaded,
        Err(error) => {
            outcome.problems = owned(&error);
            outcome.error_count = error.count;
            return outcome;
        }
    };
    outcome.problems.extend(loaded.warnings.iter().cloned());
    let parsed = loaded
        .manifest
        .schedule
        .as_ref()
        .and_then(|schedule| schedule::parse_schedule(schedule).ok());
    if let Some(parsed) = &parsed {
        outcome.fires = crate::schedule::fires::fires_after(parsed, now, 3);
    }
    let (period, source) = placeholder_period(&loaded, parsed.as_ref(), &outcome.fires, now);
    let started = std::time::Instant::now();
    let rendered = loaded.render(Some(&period));
    tracing::debug!(elapsed = ?started.elapsed(), path = %path.display(), "rendered");
    match rendered {
        Ok(job) => outcome.rendered = Some((job, source)),
        Err(error) => {
            outcome.problems.extend(owned(&error));
            outcome.error_count = error.count;
        }
    }
    outcome
}

fn placeholder_period(
    loaded: &LoadedManifest,
    parsed: Option<&schedule::ParsedSchedule>,
    fires: &[Zoned],
    now: Timestamp,
) -> (String, PeriodSource) {
    if let Some(period) = &loaded.manifest.period {
        return (period.clone(), PeriodSource::Manifest);
    }
    if let (Some(parsed), Some(fire)) = (parsed, fires.first())
        && let Ok(period) = parsed.period_of(fire)
    {
        return (period, PeriodSource::Schedule);
    }
    let month = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m")
        .to_string();
    (month, PeriodSource::CurrentMonth)
}

fn owned(error: &ManifestError) -> Vec<Problem> {
    error.problems().cloned().collect()
}

fn totals(job: &Job) -> (Amount, Amount) {
    let amount: Amount = job.payments.iter().map(|payment| payment.amount).sum();
    let fees: Amount = job
        .payments
        .iter()
        .map(|payment| job.fee_rate.fee(payment.amount))
        .sum();
    (amount, fees)
}

fn text(outcome: &Outcome) -> String {
    let path = outcome.path.display();
    let errors = outcome.error_count;
    let warnings = outcome.problems.iter().filter(|p| !p.is_error()).count();
    let Some((job, source)) = outcome.rendered.as_ref().filter(|_| outcome.valid()) else {
        return format!("invalid {path}: {errors} error(s), {warnings} warning(s)\n");
    };
    let (amount, fees) = totals(job);
    let total = amount.checked_add(fees).unwrap_or(Amount(u64::MAX));
    let mut out = format!(
        "valid   {path}: job `{}`, period `{}` (from {}), {} payment(s), {amount} + fees {fees} = {total}",
        job.name,
        job.period,
        source.as_str(),
        job.payments.len(),
    );
    if warnings > 0 {
        out.push_str(&format!(", {warnings} warning(s)"));
    }
    out.push('\n');
    for fire in &outcome.fires {
        out.push_str(&format!(
            "        next run {} ({}), {} UTC\n",
            fire.strftime("%Y-%m-%d %H:%M"),
            fire.time_zone().iana_name().unwrap_or("local"),
            fire.timestamp().strftime("%Y-%m-%d %H:%M"),
        ));
    }
    out
}

fn json_of(outcome: &Outcome) -> Value {
    let problems = |errors: bool| -> Vec<Value> {
        outcome
            .problems
            .iter()
            .filter(|problem| problem.is_error() == errors)
            .map(|problem| {
                json!({
                    "code": problem.code,
                    "message": problem.message,
                    "help": problem.help,
                    "file": problem.file,
                    "line": problem.line,
                    "column": problem.column,
                })
            })
            .collect()
    };
    let mut value = json!({
        "path": outcome.path.display().to_string(),
        "valid": outcome.valid(),
        "error_count": outcome.error_count,
        "errors": problems(true),
        "warnings": problems(false),
    });
    if let Some((job, source)) = &outcome.rendered {
        let (amount, fees) = totals(job);
        value["job"] = job.name.clone().into();
        value["period"] = job.period.clone().into();
        value["period_source"] = source.as_str().into();
        value["payments"] = job.payments.len().into();
        value["amount"] = amount.0.into();
        value["fees"] = fees.0.into();
        value["total"] = amount.0.saturating_add(fees.0).into();
        value["digest"] = job.manifest_digest.clone().into();
    }
    if !outcome.fires.is_empty() {
        value["next_runs"] = outcome
            .fires
            .iter()
            .map(|fire| {
                json!({
                    "local": fire.to_string(),
                    "utc": fire.timestamp().to_string(),
                })
            })
            .collect();
    }
    value
}
