//! `payroll init`: writes a starter manifest, a scheduled job and the schema editors read.

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::miette;

use crate::cli::{GlobalArgs, exit};
use crate::manifest::Manifest;

/// The starter manifest; `@PERIOD@` becomes the current month.
const SALARIES: &str = include_str!("init/salaries.yaml");
/// The scheduled example under `jobs/`.
const SCHEDULED: &str = include_str!("init/scheduled.yaml");

/// Write a commented starter manifest, a `jobs/` folder with a scheduled example, and
/// `manifest.schema.json` for editors.
///
/// Nothing is overwritten: when any of these files exists, nothing at all is written.
///
/// Example: `payroll init payroll && payroll validate payroll/salaries.yaml`
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Folder to write into; created when missing.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// One file that `init` writes.
struct Target {
    path: PathBuf,
    contents: String,
}

pub fn run(args: InitArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let dir = args.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(miette!(
            help = "pass a folder, or a path that does not exist yet",
            "`{}` exists and is not a folder; nothing was written",
            dir.display()
        ));
    }
    let targets = targets(&dir)?;

    let existing: Vec<String> = targets
        .iter()
        .filter(|target| target.path.exists())
        .map(|target| format!("`{}`", target.path.display()))
        .collect();
    if !existing.is_empty() {
        return Err(miette!(
            help = "move or delete those files, or pass another folder: `payroll init DIR`",
            "{} already exist(s); nothing was written",
            existing.join(", ")
        ));
    }

    let jobs = dir.join("jobs");
    let jobs_existed = jobs.is_dir();
    std::fs::create_dir_all(&jobs).map_err(|e| {
        miette!(
            help = "check that the parent folder exists and is writable",
            "could not create folder `{}`: {e}",
            jobs.display()
        )
    })?;
    if let Err(report) = write_all(&targets) {
        if !jobs_existed {
            // Only succeeds when the folder is still empty, so nothing of the user's is lost.
            let _ = std::fs::remove_dir(&jobs);
        }
        return Err(report);
    }

    let mut listing = String::new();
    for target in &targets {
        listing.push_str(&format!("{}\n", target.path.display()));
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(listing.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| miette!("could not write to stdout: {e}"))?;
    if !global.quiet {
        eprintln!(
            "next: `payroll validate {0}` then `payroll plan --sandbox {0}`",
            targets[0].path.display()
        );
    }
    Ok(exit::OK)
}

fn targets(dir: &Path) -> miette::Result<Vec<Target>> {
    let period = jiff::Zoned::now().strftime("%Y-%m").to_string();
    Ok(vec![
        Target {
            path: dir.join("salaries.yaml"),
            contents: SALARIES.replace("@PERIOD@", &period),
        },
        Target {
            path: dir.join("jobs").join("transport-allowance.yaml"),
            contents: SCHEDULED.to_owned(),
        },
        Target {
            path: dir.join("manifest.schema.json"),
            contents: schema()?,
        },
    ])
}

/// Generates the manifest's JSON Schema from the same types that parse manifests.
// NOTE: `payroll schema` is the reference output; if it post-processes the generated schema,
// this should call the same function so that both stay equal.
fn schema() -> miette::Result<String> {
    let schema = schemars::schema_for!(Manifest);
    let mut body = serde_json::to_string_pretty(&schema)
        .map_err(|e| miette!("could not render the manifest schema: {e}"))?;
    body.push('\n');
    Ok(body)
}

/// Writes every target with `create_new`, so a file created by someone else since the check is
/// never overwritten. On any failure, it removes the files this call wrote.
fn write_all(targets: &[Target]) -> miette::Result<()> {
    let mut written: Vec<&Path> = Vec::new();
    for target in targets {
        let result = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target.path)
            .and_then(|mut file| file.write_all(target.contents.as_bytes()));
        if let Err(error) = result {
            let created_here = error.kind() != std::io::ErrorKind::AlreadyExists;
            if created_here {
                let _ = std::fs::remove_file(&target.path);
            }
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(miette!(
                help =
                    "check the folder's permissions and free space, then run `payroll init` again",
                "could not write `{}`: {error}; nothing was written",
                target.path.display()
            ));
        }
        written.push(&target.path);
    }
    Ok(())
}
