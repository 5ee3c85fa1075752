//! The command line as users and CI scripts drive it: help, completions, man page, `init`,
//! `show`, colours, exit codes, and the GitOps workflow of `examples/gitops`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, Parser};
use payroll::cli::Cli;
use payroll::manifest::Manifest;
use payroll::msisdn::Msisdn;
use payroll::plan::PlanFile;

use crate::render::{blocked_plan, sample_plan, snapshot_settings};

/// What one run of the binary printed and returned.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Builds a command for the `payroll` binary with an empty environment and a fixed help width,
/// so no `DJAMO_*`, `NO_COLOR` or `PAYROLL_STATE` of the machine leaks in.
fn payroll() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payroll"));
    command.env_clear().env("COLUMNS", "100");
    command
}

fn run(command: &mut Command) -> Run {
    let output = command.output().expect("the payroll binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_args(args: &[&str]) -> Run {
    run(payroll().args(args))
}

/// Lists every subcommand name from the same definitions the parser uses.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect()
}

fn write_plan_file(dir: &Path, name: &str) -> (PathBuf, PlanFile) {
    let file = PlanFile::new(
        sample_plan(),
        "payroll/salaries.yaml".to_owned(),
        "2026-12-04T09:00:00Z".to_owned(),
    );
    let path = dir.join(name);
    file.write(&path).expect("plan file written");
    (path, file)
}

// ---------------------------------------------------------------------------------------------
// help, completions, man page

#[test]
fn help_snapshot_of_every_command() {
    let settings = snapshot_settings();
    let top = run_args(&["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    assert_eq!(top.stderr, "");
    settings.bind(|| insta::assert_snapshot!("help", top.stdout));

    for name in subcommands() {
        let help = run_args(&[&name, "--help"]);
        assert_eq!(help.code, 0, "`{name} --help`: {}", help.stderr);
        assert_eq!(help.stderr, "", "`{name} --help` wrote to stderr");
        settings.bind(|| insta::assert_snapshot!(format!("help_{name}"), help.stdout));
    }
}

#[test]
fn help_names_environment_variables() {
    let help = run_args(&["--help"]).stdout;
    for variable in [
        "DJAMO_API_TOKEN",
        "DJAMO_API_URL",
        "DJAMO_COMPANY_ID",
        "PAYROLL_STATE",
        "RUST_LOG",
        "NO_COLOR",
    ] {
        assert!(help.contains(variable), "`{variable}` missing from help");
    }
    assert!(help.contains("[env: DJAMO_API_URL]"), "{help}");
}

#[test]
fn help_hides_environment_values() {
    let help = run(payroll()
        .arg("--help")
        .env("DJAMO_API_URL", "https://secret-host.invalid")
        .env("DJAMO_COMPANY_ID", "company-42"));
    assert!(!help.stdout.contains("secret-host"), "{}", help.stdout);
    assert!(!help.stdout.contains("company-42"), "{}", help.stdout);
}

#[test]
fn every_command_help_has_example() {
    for name in subcommands().into_iter().filter(|name| name != "help") {
        let help = run_args(&[&name, "--help"]).stdout;
        assert!(
            help.contains("Example: `payroll "),
            "`payroll {name} --help` shows no example"
        );
    }
}

#[test]
fn usage_error_exits_one() {
    let typo = run_args(&["plan", "--detailed-exit-code", "m.yaml"]);
    assert_eq!(typo.code, 1, "a usage error must not look like exit 2");
    assert!(
        typo.stderr.contains("--detailed-exit-code"),
        "{}",
        typo.stderr
    );
    assert_eq!(typo.stdout, "");

    let missing = run_args(&["show"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("<PLAN_FILE>"), "{}", missing.stderr);
}

#[test]
fn version_prints_on_stdout() {
    let version = run_args(&["--version"]);
    assert_eq!(version.code, 0);
    assert_eq!(
        version.stdout.trim(),
        format!("payroll {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(version.stderr, "");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run_args(&["completions", shell]);
        assert_eq!(script.code, 0, "{shell}: {}", script.stderr);
        assert_eq!(script.stderr, "", "{shell} wrote to stderr");
        for word in ["show", "init", "expect-digest", "detailed-exitcode"] {
            assert!(
                script.stdout.contains(word),
                "{shell} completion lacks `{word}`"
            );
        }
    }
    let unknown = run_args(&["completions", "tcsh"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("tcsh"), "{}", unknown.stderr);
}

#[test]
fn man_page_lists_commands() {
    let page = run_args(&["man"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(
        page.stdout.contains(".TH payroll 1"),
        "not roff: {}",
        page.stdout
    );
    for name in subcommands().into_iter().filter(|name| name != "help") {
        assert!(page.stdout.contains(&name), "man page lacks `{name}`");
    }
    assert!(page.stdout.contains("DJAMO_API_TOKEN"));
}

#[test]
fn man_out_dir_writes_page_per_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(payroll().arg("man").arg("--out-dir").arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in [
        "payroll.1",
        "payroll-plan.1",
        "payroll-apply.1",
        "payroll-show.1",
    ] {
        let page = dir.path().join(name);
        assert!(page.is_file(), "`{name}` not written");
        assert!(out.stdout.contains(name), "`{name}` not listed on stdout");
    }
    let plan_page = std::fs::read_to_string(dir.path().join("payroll-plan.1")).expect("page");
    assert!(plan_page.contains("detailed\\-exitcode"), "{plan_page}");

    let missing = run(payroll()
        .arg("man")
        .arg("--out-dir")
        .arg(dir.path().join("nope")));
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("nope"), "{}", missing.stderr);
}

// ---------------------------------------------------------------------------------------------
// init

const INIT_FILES: [&str; 3] = [
    "salaries.yaml",
    "jobs/transport-allowance.yaml",
    "manifest.schema.json",
];

fn parse_manifest(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path).expect("manifest readable");
    serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("`{}` is not a valid manifest: {e}", path.display()))
}

fn assert_recipients_valid(manifest: &Manifest) {
    assert!(!manifest.recipients.is_empty());
    for recipient in &manifest.recipients {
        Msisdn::parse(&recipient.msisdn)
            .unwrap_or_else(|e| panic!("recipient `{}`: {e}", recipient.id));
        assert!(
            (5_000..=500_000).contains(&recipient.amount),
            "recipient `{}` amount {} out of range",
            recipient.id,
            recipient.amount
        );
    }
}

#[test]
fn init_writes_starter_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("new/payroll");
    let out = run(payroll().arg("init").arg(&dir));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for file in INIT_FILES {
        assert!(dir.join(file).is_file(), "`{file}` not written");
        assert!(out.stdout.contains(file), "`{file}` not listed on stdout");
    }

    let starter_text = std::fs::read_to_string(dir.join("salaries.yaml")).expect("starter");
    assert_eq!(
        starter_text.lines().next(),
        Some("# yaml-language-server: $schema=./manifest.schema.json")
    );
    let starter = parse_manifest(&dir.join("salaries.yaml"));
    assert_eq!(starter.version, 1);
    assert_eq!(starter.job, "salaries");
    let period = starter.period.clone().expect("starter sets a period");
    assert!(
        jiff::civil::Date::strptime("%Y-%m-%d", format!("{period}-01")).is_ok(),
        "period `{period}` is not a month"
    );
    assert!(
        starter.reference.contains("{{period}}"),
        "{}",
        starter.reference
    );
    assert!(
        starter.reference.contains("{{id}}"),
        "{}",
        starter.reference
    );
    assert_recipients_valid(&starter);

    let job_text = std::fs::read_to_string(dir.join("jobs/transport-allowance.yaml")).expect("job");
    assert_eq!(
        job_text.lines().next(),
        Some("# yaml-language-server: $schema=../manifest.schema.json")
    );
    let job = parse_manifest(&dir.join("jobs/transport-allowance.yaml"));
    let schedule = job
        .schedule
        .clone()
        .expect("the jobs example has a schedule");
    assert_eq!(schedule.cron.split_whitespace().count(), 5);
    assert_eq!(schedule.timezone, "Africa/Abidjan");
    assert_ne!(
        job.job, starter.job,
        "two jobs would share one state record"
    );
    assert_recipients_valid(&job);

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    assert!(schema["properties"]["recipients"].is_object(), "{schema}");
}

#[test]
fn init_manifests_pass_validate() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let init = run(payroll().arg("init").arg(tmp.path()));
    assert_eq!(init.code, 0, "{}", init.stderr);
    let validate = run(payroll()
        .arg("validate")
        .arg(tmp.path().join("salaries.yaml"))
        .arg(tmp.path().join("jobs/transport-allowance.yaml")));
    assert_eq!(validate.code, 0, "{}", validate.stderr);

    let schema = run_args(&["schema"]);
    assert_eq!(schema.code, 0, "{}", schema.stderr);
    let written = std::fs::read_to_string(tmp.path().join("manifest.schema.json")).expect("file");
    let printed: serde_json::Value = serde_json::from_str(&schema.stdout).expect("JSON");
    let written: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(
        written, printed,
        "init's schema differs from `payroll schema`"
    );
}

#[test]
fn init_refuses_existing_file_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(tmp.path().join("jobs")).expect("jobs folder");
    let existing = tmp.path().join("jobs/transport-allowance.yaml");
    std::fs::write(&existing, "job: mine\n").expect("existing file");

    let out = run(payroll().arg("init").arg(tmp.path()));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("transport-allowance.yaml"),
        "error does not name the file: {}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert!(!tmp.path().join("salaries.yaml").exists());
    assert!(!tmp.path().join("manifest.schema.json").exists());
    assert_eq!(
        std::fs::read_to_string(&existing).expect("still there"),
        "job: mine\n"
    );
}

#[test]
fn init_rejects_file_as_folder() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("plain");
    std::fs::write(&file, "x").expect("file");
    let out = run(payroll().arg("init").arg(&file));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not a folder"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// show

#[test]
fn show_snapshot_in_each_format() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (path, file) = write_plan_file(tmp.path(), "plan.json");
    let settings = snapshot_settings();
    for format in ["text", "json", "markdown"] {
        let out = run(payroll()
            .arg("--state")
            .arg(tmp.path().join("state"))
            .args(["show", "--format", format])
            .arg(&path));
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{format} wrote to stderr");
        assert!(
            out.stdout.contains(&file.digest),
            "{format} lacks the digest"
        );
        settings.bind(|| insta::assert_snapshot!(format!("show_{format}"), out.stdout));
    }
    assert!(
        !tmp.path().join("state").exists(),
        "show opened the state folder"
    );
}

#[test]
fn show_json_matches_plan_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (path, file) = write_plan_file(tmp.path(), "plan.json");
    let out = run(payroll().args(["show", "--format", "json"]).arg(&path));
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(value["digest"], file.digest.as_str());
    assert_eq!(value["created_at"], "2026-12-04T09:00:00Z");
    assert_eq!(value["manifest_path"], "payroll/salaries.yaml");
    assert_eq!(value["summary"]["total"], file.plan.summary.total.0);
    assert_eq!(
        value["items"].as_array().map(Vec::len),
        Some(file.plan.items.len())
    );
}

#[test]
fn show_rejects_altered_plan() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (path, _) = write_plan_file(tmp.path(), "plan.json");
    let text = std::fs::read_to_string(&path).expect("plan file");
    let altered = text.replacen("350000", "450000", 1);
    assert_ne!(altered, text, "the sample amount was not found");
    std::fs::write(&path, altered).expect("altered");

    let out = run(payroll().arg("show").arg(&path));
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "", "an altered plan was shown");
    assert!(out.stderr.contains("altered"), "{}", out.stderr);
}

#[test]
fn show_rejects_manifest_as_plan() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let manifest = tmp.path().join("salaries.yaml");
    std::fs::write(&manifest, "version: 1\njob: salaries\n").expect("manifest");
    let out = run(payroll().arg("show").arg(&manifest));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("not a payroll plan file"),
        "{}",
        out.stderr
    );
}

#[test]
fn show_colours_follow_color_flag() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (path, _) = write_plan_file(tmp.path(), "plan.json");
    let escape = '\u{1b}';

    let piped = run(payroll().arg("show").arg(&path));
    assert!(
        !piped.stdout.contains(escape),
        "colour on a pipe under `auto`"
    );

    let always = run(payroll().args(["--color", "always", "show"]).arg(&path));
    assert!(always.stdout.contains("\u{1b}[32mpay"), "{}", always.stdout);

    let always_no_color = run(payroll()
        .args(["show", "--color=always"])
        .arg(&path)
        .env("NO_COLOR", "1"));
    assert!(
        always_no_color.stdout.contains(escape),
        "an explicit `--color always` must win over `NO_COLOR`"
    );

    let never = run(payroll().args(["--color", "never", "show"]).arg(&path));
    assert!(!never.stdout.contains(escape));

    let json = run(payroll()
        .args(["--color", "always", "show", "--format", "json"])
        .arg(&path));
    assert!(
        !json.stdout.contains(escape),
        "JSON must never carry colour"
    );
}

#[test]
fn error_report_colour_follows_flag() {
    let escape = '\u{1b}';
    let plain = run(payroll().args(["show", "missing.json"]));
    assert_eq!(plain.code, 1);
    assert!(!plain.stderr.contains(escape), "{}", plain.stderr);

    let coloured = run(payroll().args(["--color", "always", "show", "missing.json"]));
    assert_eq!(coloured.code, 1);
    assert!(coloured.stderr.contains(escape), "{}", coloured.stderr);
    assert!(coloured.stderr.contains("missing.json"));
}

// ---------------------------------------------------------------------------------------------
// exit codes

#[test]
fn apply_wrong_digest_pays_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (path, file) = write_plan_file(tmp.path(), "plan.json");
    let state = tmp.path().join("state");
    let wrong = "f".repeat(64);

    let out = run(payroll()
        .arg("--sandbox")
        .arg("--state")
        .arg(&state)
        .args(["apply", "--auto-approve", "--expect-digest", &wrong])
        .arg(&path));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&file.digest), "{}", out.stderr);
    assert!(out.stderr.contains(&wrong), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was paid"), "{}", out.stderr);
    assert!(!state.exists(), "apply opened state or the sandbox ledger");
}

#[test]
fn expect_digest_rejected_for_manifest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let manifest = tmp.path().join("salaries.yaml");
    std::fs::write(&manifest, SALARIES).expect("manifest");
    let out = run(payroll()
        .arg("--sandbox")
        .arg("--state")
        .arg(tmp.path().join("state"))
        .args(["apply", "--auto-approve", "--expect-digest", "abc"])
        .arg(&manifest));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("needs a plan file"), "{}", out.stderr);
}

const SALARIES: &str = r#"version: 1
job: salaries
period: "2026-12"
reference: "sal-{{period}}-{{id}}"
recipients:
  - id: E001
    name: Awa Kone
    msisdn: "2250747000000"
    amount: 350000
"#;

/// A temp folder with a manifest and the arguments that select its state and the embedded
/// sandbox.
struct SandboxProject {
    dir: tempfile::TempDir,
}

impl SandboxProject {
    fn new(manifest: &str) -> SandboxProject {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("m.yaml"), manifest).expect("manifest");
        SandboxProject { dir }
    }

    fn run(&self, args: &[&str]) -> Run {
        run(payroll()
            .current_dir(self.dir.path())
            .args(["--sandbox", "--state", "state"])
            .args(args))
    }
}

#[test]
fn plan_detailed_exitcode_follows_contract() {
    let project = SandboxProject::new(SALARIES);

    let plain = project.run(&["plan", "m.yaml"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let changes = project.run(&["plan", "m.yaml", "--detailed-exitcode"]);
    assert_eq!(changes.code, 2, "{}", changes.stderr);

    let apply = project.run(&["apply", "m.yaml", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);

    let settled = project.run(&["plan", "m.yaml", "--detailed-exitcode"]);
    assert_eq!(settled.code, 0, "{}", settled.stderr);
}

#[test]
fn blocked_plan_exits_one() {
    // The sandbox reports KYC `pending` for this reserved number, which blocks the plan.
    let blocked = SALARIES.replace("2250747000000", "2250700000110");
    let project = SandboxProject::new(&blocked);

    let plan = project.run(&["plan", "m.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let detailed = project.run(&["plan", "m.yaml", "--detailed-exitcode"]);
    assert_eq!(detailed.code, 1, "{}", detailed.stderr);
    let apply = project.run(&["apply", "m.yaml", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.stderr);

    let after = project.run(&["plan", "m.yaml", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&after.stdout).expect("JSON plan");
    assert_eq!(value["summary"]["already_paid"], 0, "a blocked apply paid");
}

#[test]
fn apply_failed_payment_exits_three() {
    let failing = SALARIES.replace("2250747000000", "2251212121205");
    let project = SandboxProject::new(&failing);
    let apply = project.run(&["apply", "m.yaml", "--auto-approve"]);
    assert_eq!(apply.code, 3, "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("failed 1"), "{}", apply.stdout);
}

#[test]
fn saved_plan_digest_round_trip() {
    let project = SandboxProject::new(SALARIES);
    let plan = project.run(&["plan", "m.yaml", "--out", "plan.json", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON plan");
    let digest = value["digest"].as_str().expect("digest").to_owned();

    let wrong = project.run(&[
        "apply",
        "plan.json",
        "--auto-approve",
        "--expect-digest",
        &"0".repeat(64),
    ]);
    assert_eq!(wrong.code, 1);
    let still = project.run(&["plan", "m.yaml", "--detailed-exitcode"]);
    assert_eq!(still.code, 2, "the wrong digest paid something");

    let right = project.run(&[
        "apply",
        "plan.json",
        "--auto-approve",
        "--expect-digest",
        &digest,
    ]);
    assert_eq!(right.code, 0, "{}{}", right.stdout, right.stderr);
    let again = project.run(&[
        "apply",
        "plan.json",
        "--auto-approve",
        "--expect-digest",
        &digest,
    ]);
    assert_eq!(again.code, 1, "a saved plan was applied twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_unsettled_payment_exits_four() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let token = "exit-four-token";
    let sandbox = payroll::sandbox::start(payroll::sandbox::SandboxConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: tmp.path().join("ledger"),
        token: payroll::djamo::ApiToken::new(token),
        company_id: None,
        initial_balance: payroll::money::Amount(10_000_000),
        latency: std::time::Duration::ZERO,
        settle_after: std::time::Duration::from_secs(600),
    })
    .await
    .expect("sandbox starts");
    std::fs::write(tmp.path().join("m.yaml"), SALARIES).expect("manifest");

    let mut command = payroll();
    command
        .current_dir(tmp.path())
        .env("DJAMO_API_URL", sandbox.base_url())
        .env("DJAMO_API_TOKEN", token)
        .args(["--state", "state", "apply", "m.yaml", "--auto-approve"])
        .args(["--wait-timeout", "1s"]);
    let out = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .expect("apply ran");
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
}

// ---------------------------------------------------------------------------------------------
// examples/gitops

fn gitops_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops")
}

fn workflow() -> serde_norway::Value {
    let path = gitops_dir().join(".github/workflows/payroll.yml");
    let text = std::fs::read_to_string(&path).expect("workflow file");
    serde_norway::from_str(&text).expect("the workflow is valid YAML")
}

/// One step of a workflow job: its id, `uses`, `run` script, `if` and `env`.
struct Step {
    id: Option<String>,
    uses: Option<String>,
    run: Option<String>,
    condition: Option<String>,
    env: BTreeMap<String, String>,
}

fn string_map(value: &serde_norway::Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn steps(workflow: &serde_norway::Value, job: &str) -> Vec<Step> {
    workflow["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("job `{job}` has no steps"))
        .iter()
        .map(|step| Step {
            id: step["id"].as_str().map(str::to_owned),
            uses: step["uses"].as_str().map(str::to_owned),
            run: step["run"].as_str().map(str::to_owned),
            condition: step["if"].as_str().map(str::to_owned),
            env: string_map(&step["env"]),
        })
        .collect()
}

/// Extracts every `payroll` command line of a script: at the start of a line or after `$(`, `|`,
/// `||`, `&&` or `;`, up to the next pipe, redirection or closing parenthesis.
fn payroll_command_lines(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut starts = Vec::new();
        if line.starts_with("payroll ") {
            starts.push(0);
        }
        for opener in ["$(", "| ", "|| ", "&& ", "; "] {
            for (index, _) in line.match_indices(&format!("{opener}payroll ")) {
                starts.push(index + opener.len());
            }
        }
        for start in starts {
            let rest = &line[start..];
            let end = rest.find(['|', '>', ')', ';', '&']).unwrap_or(rest.len());
            found.push(rest[..end].trim().to_owned());
        }
    }
    found
}

/// Splits a command line into words the way the shell would for these simple lines: quotes
/// group, `$VAR` and `"$VAR"` become a placeholder value.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|word| {
            if word.starts_with('$') {
                "placeholder".to_owned()
            } else {
                word
            }
        })
        .collect()
}

#[test]
fn workflow_calls_existing_commands_and_flags() {
    let workflow = workflow();
    let mut used = std::collections::BTreeSet::new();
    for job in ["plan", "apply"] {
        for step in steps(&workflow, job) {
            for line in step
                .run
                .as_deref()
                .map(payroll_command_lines)
                .unwrap_or_default()
            {
                let words = shell_words(&line);
                if let Err(error) = Cli::try_parse_from(&words) {
                    panic!("job `{job}`: `{line}` does not parse: {error}");
                }
                used.insert(words[1].clone());
            }
        }
    }
    let expected: std::collections::BTreeSet<String> = ["validate", "plan", "show", "apply"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(used, expected, "the workflow's payroll commands changed");
}

#[test]
fn workflow_applies_with_expected_digest() {
    let workflow = workflow();
    let text = std::fs::read_to_string(gitops_dir().join(".github/workflows/payroll.yml"))
        .expect("workflow file");
    assert!(text.contains("payroll plan \"$MANIFEST\" --format markdown --out plan.json"));
    assert!(text.contains("--auto-approve --expect-digest \"$APPROVED_DIGEST\""));
    for job in ["plan", "apply"] {
        let env = string_map(&workflow["jobs"][job]["env"]);
        for secret in ["DJAMO_API_TOKEN", "DJAMO_API_URL", "DJAMO_COMPANY_ID"] {
            assert_eq!(
                env.get(secret).map(String::as_str),
                Some(format!("${{{{ secrets.{secret} }}}}").as_str()),
                "job `{job}` does not take `{secret}` from the secret store"
            );
        }
    }
    assert_eq!(
        workflow["jobs"]["apply"]["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false),
        "a payment run could be cancelled half-way"
    );
}

/// Replaces every `${{ ... }}` of `text`: secrets and step outputs from the maps, any other
/// expression by a fixed stand-in.
fn resolve(
    text: &str,
    secrets: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expression = rest[start + 3..end].trim();
        let value = if let Some(name) = expression.strip_prefix("secrets.") {
            secrets.get(name).cloned().unwrap_or_default()
        } else if let Some(path) = expression.strip_prefix("steps.") {
            outputs.get(path).cloned().unwrap_or_default()
        } else if expression == "github.event.pull_request.head.sha" {
            "c0ffee0000000000000000000000000000000000".to_owned()
        } else if expression == "github.run_id" {
            "4242".to_owned()
        } else {
            "stand-in".to_owned()
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs the `run` steps of one job as GitHub's default shell does, in `repo`, with a fresh
/// `.payroll` state folder as on an ephemeral runner. `uses` steps are played by the test:
/// checkout, cache and artifacts need nothing because the folder persists, and the step that
/// reads the approved digest from the pull-request comment reads it from `comment.md`.
fn run_job(
    workflow: &serde_norway::Value,
    job: &str,
    repo: &Path,
    secrets: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let _ = std::fs::remove_dir_all(repo.join(".payroll"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_payroll"))
        .parent()
        .expect("binary folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut env = string_map(&workflow["env"]);
    env.extend(string_map(&workflow["jobs"][job]["env"]));
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();

    for (index, step) in steps(workflow, job).into_iter().enumerate() {
        let Some(script) = step.run else {
            if step.id.as_deref() == Some("approved") {
                let comment = std::fs::read_to_string(repo.join("comment.md"))
                    .map_err(|e| format!("no comment.md: {e}"))?;
                let marker = comment.lines().next().unwrap_or_default();
                let digest = marker
                    .split(" digest=")
                    .nth(1)
                    .and_then(|rest| rest.strip_suffix(" -->"))
                    .ok_or_else(|| format!("no digest in the marker `{marker}`"))?;
                let run_id = marker
                    .split(" run=")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .unwrap_or_default();
                outputs.insert("approved.outputs.digest".to_owned(), digest.to_owned());
                outputs.insert("approved.outputs.run-id".to_owned(), run_id.to_owned());
            }
            assert!(
                step.uses.is_some(),
                "step {index} of `{job}` has neither run nor uses"
            );
            continue;
        };
        assert_eq!(
            step.condition, None,
            "run step {index} of `{job}` has an `if` this test cannot evaluate"
        );
        let output_file = repo.join(format!(".github-output-{job}-{index}"));
        std::fs::write(&output_file, "").map_err(|e| e.to_string())?;
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(&script)
            .current_dir(repo)
            .env_clear()
            .env("PATH", &path)
            .env("GITHUB_OUTPUT", &output_file);
        for (key, value) in env.iter().chain(&step.env) {
            command.env(key, resolve(value, secrets, &outputs));
        }
        let out = run(&mut command);
        if out.code != 0 {
            return Err(format!(
                "job `{job}` step {index} exited {}:\n{script}\nstdout:\n{}\nstderr:\n{}",
                out.code, out.stdout, out.stderr
            ));
        }
        if let Some(id) = &step.id {
            let written = std::fs::read_to_string(&output_file).map_err(|e| e.to_string())?;
            for line in written.lines() {
                if let Some((key, value)) = line.split_once('=') {
                    outputs.insert(format!("{id}.outputs.{key}"), value.to_owned());
                }
            }
        }
    }
    Ok(outputs)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Fetches every transaction of the sandbox ledger as (reference, status).
async fn ledger(base_url: &str, token: &str) -> Vec<(String, String)> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{base_url}/_sandbox/ledger"))
        .bearer_auth(token)
        .send()
        .await
        .expect("ledger request")
        .json()
        .await
        .expect("ledger JSON");
    let entries = match &body {
        serde_json::Value::Array(entries) => entries.clone(),
        serde_json::Value::Object(object) => object
            .values()
            .find_map(|value| value.as_array().cloned())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    entries
        .iter()
        .map(|entry| {
            (
                entry["reference"].as_str().unwrap_or_default().to_owned(),
                entry["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_runs_end_to_end_on_sandbox() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let token = "gitops-token";
    let sandbox = payroll::sandbox::start(payroll::sandbox::SandboxConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: tmp.path().join("ledger"),
        token: payroll::djamo::ApiToken::new(token),
        company_id: Some("company-1".to_owned()),
        initial_balance: payroll::money::Amount(10_000_000),
        latency: std::time::Duration::ZERO,
        settle_after: std::time::Duration::from_millis(200),
    })
    .await
    .expect("sandbox starts");
    let secrets = BTreeMap::from([
        ("DJAMO_API_URL".to_owned(), sandbox.base_url()),
        ("DJAMO_API_TOKEN".to_owned(), token.to_owned()),
        ("DJAMO_COMPANY_ID".to_owned(), "company-1".to_owned()),
    ]);
    let repo = tmp.path().join("repo");
    copy_tree(&gitops_dir(), &repo);
    let workflow = workflow();

    // A pull request: validate, plan, comment.
    let plan = {
        let (workflow, repo, secrets) = (workflow.clone(), repo.clone(), secrets.clone());
        tokio::task::spawn_blocking(move || run_job(&workflow, "plan", &repo, &secrets))
    };
    let outputs = plan
        .await
        .expect("plan job ran")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outputs.get("plan.outputs.exit-code").map(String::as_str),
        Some("2")
    );
    let digest = outputs
        .get("plan.outputs.digest")
        .cloned()
        .expect("digest output");
    let comment = std::fs::read_to_string(repo.join("comment.md")).expect("comment");
    assert!(comment.starts_with("<!-- payroll-plan manifest=payroll/salaries.yaml "));
    assert!(
        comment.contains(&format!("| digest | `{digest}` |")),
        "{comment}"
    );
    assert!(
        ledger(&sandbox.base_url(), token).await.is_empty(),
        "plan paid something"
    );

    // The merge: apply the saved plan on a fresh runner.
    let apply = {
        let (workflow, repo, secrets) = (workflow.clone(), repo.clone(), secrets.clone());
        tokio::task::spawn_blocking(move || run_job(&workflow, "apply", &repo, &secrets))
    };
    apply
        .await
        .expect("apply job ran")
        .unwrap_or_else(|e| panic!("{e}"));
    let file = PlanFile::read(&repo.join("plan.json")).expect("plan file");
    let mut paid: Vec<String> = ledger(&sandbox.base_url(), token)
        .await
        .into_iter()
        .map(|(reference, status)| {
            assert_eq!(status, "completed", "`{reference}` did not complete");
            reference
        })
        .collect();
    paid.sort();
    let mut planned: Vec<String> = file
        .plan
        .items
        .iter()
        .filter(|item| item.action.sends())
        .map(|item| item.reference.clone())
        .collect();
    planned.sort();
    assert_eq!(paid, planned, "the ledger differs from the reviewed plan");

    // A re-run of the merge job, again on an empty state folder, pays nothing.
    let rerun = {
        let (workflow, repo, secrets) = (workflow.clone(), repo.clone(), secrets.clone());
        tokio::task::spawn_blocking(move || run_job(&workflow, "apply", &repo, &secrets))
    };
    let error = rerun
        .await
        .expect("apply job ran")
        .expect_err("second apply refused");
    assert!(error.contains("already exists at the provider"), "{error}");
    assert_eq!(
        ledger(&sandbox.base_url(), token).await.len(),
        planned.len()
    );
}

#[test]
fn gitops_manifest_parses() {
    let manifest = parse_manifest(&gitops_dir().join("payroll/salaries.yaml"));
    assert_eq!(manifest.job, "salaries");
    assert_recipients_valid(&manifest);
}

#[test]
fn sample_plans_are_distinct() {
    assert_ne!(sample_plan(), blocked_plan());
}
