//! The jobs folder: every manifest with a `schedule`, loaded and checked, and a fingerprint that
//! shows when the folder changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::Timestamp;

use crate::manifest::schedule::{ParsedSchedule, parse_schedule};
use crate::manifest::{self, LoadedManifest};
use crate::schedule::fires;

/// A manifest of the jobs folder that `payroll run` can pay.
#[derive(Clone, Debug)]
pub struct ScheduledJob {
    pub path: PathBuf,
    pub manifest: LoadedManifest,
    pub schedule: ParsedSchedule,
    /// Problems that do not stop the job, such as references that ignore the period.
    pub warnings: Vec<String>,
}

impl ScheduledJob {
    pub fn name(&self) -> &str {
        &self.manifest.manifest.job
    }
}

/// A file of the jobs folder that is skipped, with its diagnostics.
#[derive(Debug)]
pub struct InvalidJob {
    pub path: PathBuf,
    pub report: miette::Report,
}

/// Every job file of a folder, sorted by file name.
#[derive(Debug, Default)]
pub struct JobsFolder {
    pub jobs: Vec<ScheduledJob>,
    pub invalid: Vec<InvalidJob>,
}

/// Error reading the jobs folder itself.
#[derive(Debug, thiserror::Error)]
#[error("cannot read jobs folder `{path}`: {cause}")]
pub struct FolderError {
    pub path: String,
    pub cause: String,
}

/// Returns whether `path` names a job file: `*.yaml` or `*.yml`, not hidden, so editor swap
/// and backup files are left alone.
fn is_job_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// Lists the job files directly inside `dir`, sorted by name; sub-folders are not read.
fn job_files(dir: &Path) -> Result<Vec<PathBuf>, FolderError> {
    let error = |cause: std::io::Error| FolderError {
        path: dir.display().to_string(),
        cause: cause.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.is_file() && is_job_file(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads every job file of `dir`. A file that does not load, has no `schedule`, or shares its
/// `job` name with another file is put in `invalid` and the others still load.
pub fn load_folder(dir: &Path) -> Result<JobsFolder, FolderError> {
    let mut folder = JobsFolder::default();
    for path in job_files(dir)? {
        match load_job(&path) {
            Ok(job) => folder.jobs.push(job),
            Err(report) => folder.invalid.push(InvalidJob { path, report }),
        }
    }
    reject_shared_names(&mut folder);
    Ok(folder)
}

fn load_job(path: &Path) -> Result<ScheduledJob, miette::Report> {
    let manifest = manifest::load(path).map_err(miette::Report::new)?;
    let Some(schedule) = &manifest.manifest.schedule else {
        return Err(miette::miette!(
            help = "add a `schedule` with `cron` and `timezone`, or move the manifest out of the \
                    jobs folder and pay it with `payroll apply`",
            "`{}` has no `schedule`, so `payroll run` cannot tell when to pay it",
            path.display()
        ));
    };
    let schedule = parse_schedule(schedule).map_err(|message| {
        miette::miette!(
            help = "fix the `schedule` block",
            "`{}`: {message}",
            path.display()
        )
    })?;
    let warnings = check_periods(&manifest, &schedule, Timestamp::now());
    Ok(ScheduledJob {
        path: path.to_owned(),
        manifest,
        schedule,
        warnings,
    })
}

/// Moves every job whose name another file also uses to `invalid`: two manifests that share a
/// job share its occurrences and payment records, so neither can run safely.
fn reject_shared_names(folder: &mut JobsFolder) {
    let mut files_by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in &folder.jobs {
        files_by_name
            .entry(job.name().to_owned())
            .or_default()
            .push(job.path.display().to_string());
    }
    let jobs = std::mem::take(&mut folder.jobs);
    for job in jobs {
        let files = &files_by_name[job.name()];
        if files.len() == 1 {
            folder.jobs.push(job);
            continue;
        }
        let report = miette::miette!(
            help = "give each manifest its own `job` name",
            "job `{}` is defined by {} files: {}",
            job.name(),
            files.len(),
            files
                .iter()
                .map(|file| format!("`{file}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        folder.invalid.push(InvalidJob {
            path: job.path,
            report,
        });
    }
    folder.invalid.sort_by(|a, b| a.path.cmp(&b.path));
}

/// How many upcoming fires [`check_periods`] compares.
const PERIOD_CHECK_FIRES: usize = 24;

/// Checks that each fire pays different references: the reference template must change with
/// the period, and two fires must not give the same period. Otherwise the second fire finds
/// its references already paid and pays nothing.
pub fn check_periods(
    manifest: &LoadedManifest,
    schedule: &ParsedSchedule,
    now: Timestamp,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let job = &manifest.manifest.job;

    // Two periods that no period pattern produces, so the check does not depend on the clock.
    let first = manifest.render(Some("period-check-a"));
    let second = manifest.render(Some("period-check-b"));
    if let (Ok(first), Ok(second)) = (first, second) {
        let same = first
            .payments
            .iter()
            .zip(&second.payments)
            .find(|(a, b)| a.reference == b.reference);
        if let Some((payment, _)) = same {
            warnings.push(format!(
                "job `{job}`: the reference template `{}` does not use `{{{{period}}}}`, so \
                 every fire renders the same references (such as `{}`) and only the first one \
                 pays; add `{{{{period}}}}` to `reference`",
                manifest.manifest.reference, payment.reference
            ));
        }
    }

    let upcoming = fires::fires_after(schedule, now, PERIOD_CHECK_FIRES);
    let mut periods: Vec<(String, String)> = Vec::new();
    for fire in &upcoming {
        let Ok(period) = schedule.period_of(fire) else {
            continue;
        };
        if let Some((earlier, _)) = periods.iter().find(|(_, seen)| *seen == period) {
            warnings.push(format!(
                "job `{job}`: fires {earlier} and {fire} both pay period `{period}` (pattern \
                 `{}`), so the second one pays nothing; use a `schedule.period` pattern at \
                 least as fine as the cron, such as `%Y-%m-%d`",
                schedule.period_format
            ));
            break;
        }
        periods.push((fire.to_string(), period));
    }
    warnings
}

/// A snapshot of the folder's files: name, size and modification time of each, so that a
/// change to a job or a recipients file beside it is noticed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Fingerprint {
    /// Reads the fingerprint of `dir` and of the folders directly inside it.
    pub fn of(dir: &Path) -> Fingerprint {
        let mut entries = Vec::new();
        collect(dir, 1, &mut entries);
        entries.sort();
        Fingerprint(entries)
    }
}

fn collect(dir: &Path, depth: usize, entries: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in listing.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            if depth > 0 {
                collect(&path, depth - 1, entries);
            }
            continue;
        }
        entries.push((path, metadata.len(), metadata.modified().ok()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_job(dir: &Path, file: &str, job: &str, reference: &str, cron: &str, period: &str) {
        let yaml = format!(
            "version: 1\njob: {job}\nreference: \"{reference}\"\nschedule:\n  cron: \"{cron}\"\n  \
             timezone: Africa/Abidjan\n  period: \"{period}\"\nrecipients:\n  - id: E1\n    \
             name: Awa Kone\n    msisdn: \"2250747000000\"\n    amount: 10000\n"
        );
        std::fs::write(dir.join(file), yaml).expect("job file written");
    }

    #[test]
    fn folder_skips_shared_job_names() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path();
        write_job(
            path,
            "a.yaml",
            "same",
            "a-{{period}}-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        write_job(
            path,
            "b.yml",
            "same",
            "b-{{period}}-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        write_job(
            path,
            "c.yaml",
            "alone",
            "c-{{period}}-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        write_job(
            path,
            ".hidden.yaml",
            "hidden",
            "h-{{period}}-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        std::fs::write(path.join("readme.txt"), "not a job").expect("written");

        let folder = load_folder(path).expect("folder reads");
        let names: Vec<&str> = folder.jobs.iter().map(ScheduledJob::name).collect();
        assert_eq!(names, ["alone"]);
        assert_eq!(folder.invalid.len(), 2, "{:?}", folder.invalid);
        let message = folder.invalid[0].report.to_string();
        assert!(
            message.contains("job `same` is defined by 2 files"),
            "{message}"
        );
    }

    #[test]
    fn static_reference_is_warned() {
        let dir = tempfile::tempdir().expect("temporary folder");
        write_job(
            dir.path(),
            "a.yaml",
            "fixed",
            "fixed-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        let folder = load_folder(dir.path()).expect("folder reads");
        let warnings = &folder.jobs[0].warnings;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("does not use `{{period}}`"),
            "{warnings:?}"
        );
    }

    #[test]
    fn coarse_period_pattern_is_warned() {
        let dir = tempfile::tempdir().expect("temporary folder");
        write_job(
            dir.path(),
            "a.yaml",
            "weekly",
            "w-{{period}}-{{id}}",
            "0 9 * * MON",
            "%Y-%m",
        );
        let folder = load_folder(dir.path()).expect("folder reads");
        let warnings = &folder.jobs[0].warnings;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("both pay period"), "{warnings:?}");
    }

    #[test]
    fn matching_period_pattern_is_quiet() {
        let dir = tempfile::tempdir().expect("temporary folder");
        write_job(
            dir.path(),
            "a.yaml",
            "weekly",
            "w-{{period}}-{{id}}",
            "0 9 * * MON",
            "%G-W%V",
        );
        let folder = load_folder(dir.path()).expect("folder reads");
        assert_eq!(folder.invalid.len(), 0, "{:?}", folder.invalid);
        assert!(
            folder.jobs[0].warnings.is_empty(),
            "{:?}",
            folder.jobs[0].warnings
        );
    }

    #[test]
    fn fingerprint_changes_with_files() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let before = Fingerprint::of(dir.path());
        assert_eq!(before, Fingerprint::of(dir.path()));
        write_job(
            dir.path(),
            "a.yaml",
            "one",
            "o-{{period}}-{{id}}",
            "0 9 25 * *",
            "%Y-%m",
        );
        assert_ne!(before, Fingerprint::of(dir.path()));
    }
}
