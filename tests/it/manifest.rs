//! Integration tests: manifest loading, rendering, and the `validate` and `schema` commands,
//! run through the real binary where users meet them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use payroll::manifest::{self, LoadedManifest, ManifestError};
use payroll::msisdn::{Msisdn, TEST_FAILS};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/manifests";

fn payroll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payroll"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("the payroll binary runs")
}

fn validate_json(path: &Path) -> (Option<i32>, Value) {
    let output = payroll(&["validate", "--format", "json", &path.display().to_string()]);
    let document = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{}: stdout is not one JSON document ({error}): {}",
            path.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (output.status.code(), document)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).expect("write fixture");
    path
}

fn load_text(text: &str) -> Result<LoadedManifest, ManifestError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "manifest.yaml", text);
    manifest::load(&path)
}

fn messages(error: &ManifestError) -> Vec<String> {
    error
        .problems()
        .map(|problem| format!("{}: {}", problem.line, problem.message))
        .collect()
}

const BASE: &str = r#"version: 1
job: salaries
reference: "sal-{{period}}-{{id}}"
recipients:
  - id: E001
    name: Awa Koné
    msisdn: "2250747000001"
    amount: 350000
"#;

/// Reads a fixture's `# expect-line:` and `# expect:` header lines.
fn expectation(text: &str) -> (Option<usize>, Vec<String>) {
    let mut line = None;
    let mut words = Vec::new();
    for header in text.lines().take_while(|line| line.starts_with('#')) {
        if let Some(value) = header.strip_prefix("# expect-line: ") {
            line = value.trim().parse().ok();
        }
        if let Some(value) = header.strip_prefix("# expect: ") {
            words = value.split(" | ").map(str::to_owned).collect();
        }
    }
    (line, words)
}

#[test]
fn invalid_corpus_reports_line_and_words() {
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new(FIXTURES).join("invalid"))
        .expect("corpus folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "only {} invalid fixtures", paths.len());

    let mut failures = Vec::new();
    for path in &paths {
        let text = fs::read_to_string(path).expect("fixture is UTF-8");
        let (line, words) = expectation(&text);
        assert!(!words.is_empty(), "{}: no `# expect:` line", path.display());
        let (code, document) = validate_json(path);
        if code != Some(1) {
            failures.push(format!("{}: exit {code:?}, expected 1", path.display()));
            continue;
        }
        let errors = document["files"][0]["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let matched = errors.iter().any(|error| {
            let text = format!("{} {}", error["message"], error["help"]);
            let line_ok = line.is_none_or(|line| error["line"].as_u64() == Some(line as u64));
            line_ok && words.iter().all(|word| text.contains(word.as_str()))
        });
        if !matched {
            failures.push(format!(
                "{}: no error at line {line:?} containing {words:?}; got {}",
                path.display(),
                serde_json::to_string_pretty(&errors).unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_validate_without_warnings() {
    let output = payroll(&[
        "validate",
        "--format",
        "json",
        "examples/monthly-salaries.yaml",
        "examples/bonus-from-csv.yaml",
        "jobs/monthly-bonus.yaml",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(document["valid"], true);
    for file in document["files"].as_array().expect("files") {
        assert_eq!(file["valid"], true, "{file}");
        assert_eq!(file["warnings"].as_array().map(Vec::len), Some(0), "{file}");
    }
}

#[test]
fn examples_declare_schema_line() {
    for path in [
        "examples/monthly-salaries.yaml",
        "examples/bonus-from-csv.yaml",
        "jobs/monthly-bonus.yaml",
    ] {
        let text = fs::read_to_string(path).expect("example");
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first, "# yaml-language-server: $schema=../schemas/manifest.schema.json",
            "{path}"
        );
    }
}

#[test]
fn schema_file_matches_types() {
    let output = payroll(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let committed = fs::read_to_string("schemas/manifest.schema.json").expect("committed schema");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        committed,
        "schemas/manifest.schema.json is stale: run `cargo run -- schema > schemas/manifest.schema.json`"
    );
}

#[test]
fn monthly_salaries_pays_safe_numbers() {
    let loaded = manifest::load(Path::new("examples/monthly-salaries.yaml")).expect("loads");
    assert_eq!(loaded.manifest.job, "salaries");
    assert_eq!(loaded.manifest.period.as_deref(), Some("2026-12"));
    assert_eq!(loaded.manifest.reference, "sal-{{period}}-{{id}}");
    let job = loaded.render(None).expect("renders");
    assert!(
        (55..=65).contains(&job.payments.len()),
        "{} payments",
        job.payments.len()
    );

    let reserved = 2_250_700_000_100_u64..=2_250_700_000_299;
    for payment in &job.payments {
        let number: u64 = payment.msisdn.as_str().parse().expect("digits");
        assert!(
            !reserved.contains(&number),
            "{} is reserved",
            payment.msisdn
        );
        assert_ne!(
            payment.msisdn.as_str(),
            TEST_FAILS,
            "{} fails on the sandbox",
            payment.recipient_id
        );
        assert_eq!(
            Msisdn::parse(payment.msisdn.as_str()).as_ref(),
            Ok(&payment.msisdn)
        );
    }
    let total: u64 = job
        .payments
        .iter()
        .map(|payment| payment.amount.0 + job.fee_rate.fee(payment.amount).0)
        .sum();
    assert!(total < 100_000_000, "total with fees {total}");
}

#[test]
fn render_period_argument_overrides_manifest() {
    let loaded =
        load_text(&BASE.replace("job: salaries\n", "job: salaries\nperiod: \"2026-11\"\n"))
            .expect("loads");
    let own = loaded.render(None).expect("manifest period");
    assert_eq!(own.payments[0].reference, "sal-2026-11-E001");
    let overridden = loaded.render(Some("2026-12")).expect("period argument");
    assert_eq!(overridden.period, "2026-12");
    assert_eq!(overridden.payments[0].reference, "sal-2026-12-E001");
}

#[test]
fn render_without_period_is_error() {
    let loaded = load_text(BASE).expect("loads");
    let error = loaded.render(None).expect_err("no period anywhere");
    let text = messages(&error).join("\n");
    assert!(text.contains("no period to render"), "{text}");
}

#[test]
fn render_rejects_invalid_period() {
    let loaded = load_text(BASE).expect("loads");
    let error = loaded.render(Some("2026/12")).expect_err("slash");
    let text = messages(&error).join("\n");
    assert!(text.contains("period `2026/12` is invalid"), "{text}");
}

#[test]
fn render_keeps_ampersand_unescaped() {
    let text = BASE.replace(
        "reference:",
        "description: \"Salaire {{period}} {{vars.company}} {{name}}\"\nvars:\n  company: \"Dupont & Fils 'SA'\"\nreference:",
    );
    let job = load_text(&text)
        .expect("loads")
        .render(Some("2026-12"))
        .expect("renders");
    assert_eq!(
        job.payments[0].description.as_deref(),
        Some("Salaire 2026-12 Dupont & Fils 'SA' Awa Koné")
    );
}

#[test]
fn block_template_renders_like_simple() {
    let text = BASE.replace(
        "reference:",
        "description: \"{{#if vars.company}}{{vars.company}} {{/if}}{{name}} {{amount}}\"\nvars:\n  company: \"Dupont & Fils\"\nreference:",
    );
    let job = load_text(&text)
        .expect("loads")
        .render(Some("2026-12"))
        .expect("renders");
    assert_eq!(
        job.payments[0].description.as_deref(),
        Some("Dupont & Fils Awa Koné 350000")
    );
    let simple = load_text(&text.replace(
        "{{#if vars.company}}{{vars.company}} {{/if}}",
        "{{vars.company}} ",
    ))
    .expect("loads")
    .render(Some("2026-12"))
    .expect("renders");
    assert_eq!(simple.payments[0].description, job.payments[0].description);
}

#[test]
fn recipient_vars_override_manifest_vars() {
    let text = BASE
        .replace("reference:", "vars:\n  team: ops\nreference:")
        .replace("{{id}}", "{{id}}-{{vars.team}}")
        + "    vars:\n      team: sales\n";
    let job = load_text(&text)
        .expect("loads")
        .render(Some("2026-12"))
        .expect("renders");
    assert_eq!(job.payments[0].reference, "sal-2026-12-E001-sales");
}

#[test]
fn var_defined_by_some_recipients_only() {
    let text = BASE.replace("{{id}}", "{{id}}-{{vars.team}}")
        + "    vars:\n      team: sales\n  - id: E002\n    name: Yao\n    msisdn: \"2250547000002\"\n    amount: 10000\n";
    let error = load_text(&text).expect_err("E002 lacks team");
    let text = messages(&error).join("\n");
    assert!(
        text.contains("recipient `E002` has no `vars.team`"),
        "{text}"
    );
}

#[test]
fn msisdn_spellings_are_one_recipient() {
    let text = BASE.to_owned()
        + "  - id: E002\n    name: Awa Koné\n    msisdn: \"+225 07 47 00 00 01\"\n    amount: 10000\n";
    let loaded = load_text(&text).expect("a duplicate number is a warning");
    assert_eq!(loaded.recipients[1].msisdn, "2250747000001");
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0]
            .message
            .contains("as recipient `E001` does")
    );

    let allowed = load_text(&text.replace(
        "job: salaries\n",
        "job: salaries\nallow_duplicate_msisdn: true\n",
    ))
    .expect("loads");
    assert!(allowed.warnings.is_empty());
}

#[test]
fn fees_become_basis_points() {
    let loaded =
        load_text(&BASE.replace("job: salaries\n", "job: salaries\nfees: 1.5\n")).expect("loads");
    assert_eq!(loaded.fee_rate.0, 150);
    let job = loaded.render(Some("2026-12")).expect("renders");
    assert_eq!(job.fee_rate.0, 150);
    let default = load_text(BASE).expect("loads");
    assert_eq!(default.fee_rate.0, 100);
}

#[test]
fn byte_order_mark_is_accepted() {
    let loaded = load_text(&format!("\u{feff}{BASE}")).expect("BOM is skipped");
    assert_eq!(loaded.recipients.len(), 1);
}

#[test]
fn non_utf8_file_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latin1.yaml");
    let mut bytes = BASE.as_bytes().to_vec();
    let at = bytes
        .iter()
        .position(|byte| *byte == 0xC3)
        .expect("é in base");
    bytes.splice(at..at + 2, [0xE9]);
    fs::write(&path, bytes).expect("write");
    let error = manifest::load(&path).expect_err("Latin-1");
    let problems: Vec<_> = error.problems().collect();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("is not valid UTF-8"));
    assert_eq!(problems[0].line, 6);
}

#[test]
fn errors_come_in_file_order() {
    let text = "version: 1\njob: Bad_Name\nreference: \"{{nope}}\"\nfees: 1.999\nrecipients:\n  - id: E001\n    name: A\n    msisdn: 2250747000001\n    amount: 1.5\n";
    let error = load_text(text).expect_err("four problems");
    let lines: Vec<usize> = error.problems().map(|problem| problem.line).collect();
    assert_eq!(lines, [2, 3, 4, 8, 9]);
    assert_eq!(error.count, 5);
}

#[test]
fn many_errors_are_capped() {
    let mut text: String = BASE
        .lines()
        .take(4)
        .map(|line| format!("{line}\n"))
        .collect();
    for index in 0..300 {
        text.push_str(&format!(
            "  - id: E{index:03}\n    name: A\n    msisdn: \"22507470{index:05}\"\n    amount: \"5000\"\n"
        ));
    }
    let error = load_text(&text).expect_err("300 quoted amounts");
    assert_eq!(error.count, 300);
    assert_eq!(error.errors.len(), manifest::MAX_PROBLEMS + 1);
    let last = error.problems().last().expect("summary");
    assert_eq!(
        last.message,
        format!("100 more problems in `{}` are not shown", last.file)
    );
}

#[test]
fn csv_errors_point_into_csv() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        &dir,
        "people.csv",
        "id,name,msisdn,amount\nB001,Awa,2250747000001,150000\nB002,Yao,2.25075E+12,120000\nB003,Ama,2250547000003,25000.0\n",
    );
    let path = write(
        &dir,
        "bonus.yaml",
        &BASE.replace(
            "recipients:\n",
            "recipients_file: people.csv\nrecipients:\n",
        ),
    );
    let error = manifest::load(&path).expect_err("two bad rows");
    let problems: Vec<_> = error.problems().collect();
    assert_eq!(problems.len(), 2, "{:?}", messages(&error));
    assert!(problems[0].file.ends_with("people.csv"));
    assert_eq!((problems[0].line, problems[1].line), (3, 4));
    assert!(problems[0].message.contains("scientific notation"));
    assert!(problems[1].message.contains("is a decimal number"));
}

#[test]
fn csv_recipients_join_yaml_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = write(
        &dir,
        "people.csv",
        "name,id,amount,msisdn\nYao,B001,150000,+225 05 44 12 87 30\n",
    );
    let path = write(
        &dir,
        "bonus.yaml",
        &BASE.replace(
            "recipients:\n",
            "recipients_file: people.csv\nrecipients:\n",
        ),
    );
    let loaded = manifest::load(&path).expect("loads");
    let ids: Vec<&str> = loaded
        .recipients
        .iter()
        .map(|recipient| recipient.id.as_str())
        .collect();
    assert_eq!(ids, ["E001", "B001"]);
    assert_eq!(loaded.recipients[1].msisdn, "2250544128730");

    let before = loaded.digest.clone();
    fs::write(
        &csv,
        "name,id,amount,msisdn\nYao,B001,150001,+225 05 44 12 87 30\n",
    )
    .expect("edit");
    let after = manifest::load(&path).expect("loads").digest;
    assert_ne!(before, after, "the digest covers the CSV");
    assert_eq!(before.len(), 64);
}

#[test]
fn validate_shows_next_three_runs() {
    let output = payroll(&["validate", "jobs/monthly-bonus.yaml"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("next run").count(), 3, "{stdout}");
    assert!(
        stdout.contains("(Africa/Abidjan)") && stdout.contains("UTC"),
        "{stdout}"
    );
    assert!(stdout.contains("(from schedule)"), "{stdout}");
}

#[test]
fn validate_without_period_uses_month() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "no-period.yaml", BASE);
    let (code, document) = validate_json(&path);
    assert_eq!(code, Some(0), "{document}");
    let file = &document["files"][0];
    assert_eq!(file["period_source"], "current-month");
    let period = file["period"].as_str().expect("period");
    assert_eq!(period.len(), 7, "{period}");
    assert_eq!(period.as_bytes()[4], b'-', "{period}");
}

#[test]
fn validate_json_lists_next_runs() {
    let (code, document) = validate_json(Path::new("jobs/monthly-bonus.yaml"));
    assert_eq!(code, Some(0));
    let runs = document["files"][0]["next_runs"]
        .as_array()
        .expect("next_runs");
    assert_eq!(runs.len(), 3);
    for run in runs {
        let local = run["local"].as_str().expect("local");
        assert!(local.contains("T09:00:00+00:00[Africa/Abidjan]"), "{local}");
        assert!(
            run["utc"].as_str().expect("utc").ends_with("T09:00:00Z"),
            "{run}"
        );
    }
}

#[test]
fn validate_mixed_files_exits_one() {
    let output = payroll(&[
        "validate",
        "examples/monthly-salaries.yaml",
        "tests/fixtures/manifests/invalid/amount-decimal.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("valid   examples/monthly-salaries.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("invalid tests/fixtures/manifests/invalid/amount-decimal.yaml"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("amount-decimal.yaml:12:13"), "{stderr}");
}

fn rendered(path: &str) -> String {
    let error = manifest::load(Path::new(path))
        .and_then(|loaded| loaded.render(None).map(drop))
        .expect_err("fixture is invalid");
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for report in &error.errors {
        handler
            .render_report(&mut out, report.as_ref())
            .expect("renders");
    }
    out
}

#[test]
fn snapshot_amount_decimal() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/amount-thousands-dot.yaml"
    ));
}

#[test]
fn snapshot_msisdn_unquoted() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/msisdn-unquoted.yaml"
    ));
}

#[test]
fn snapshot_duplicate_key() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/duplicate-key.yaml"
    ));
}

#[test]
fn snapshot_unknown_key() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/unknown-recipient-key.yaml"
    ));
}

#[test]
fn snapshot_template_if_variable() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/template-if-undefined-var.yaml"
    ));
}

#[test]
fn snapshot_duplicate_reference() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/duplicate-rendered-reference.yaml"
    ));
}

#[test]
fn snapshot_cron_six_fields() {
    insta::assert_snapshot!(rendered(
        "tests/fixtures/manifests/invalid/cron-six-fields.yaml"
    ));
}

fn load_bytes(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fuzz.yaml");
    fs::write(&path, bytes).expect("write");
    let result = manifest::load(&path).and_then(|loaded| loaded.render(Some("2026-12")).map(drop));
    if let Err(error) = result {
        let handler = miette::GraphicalReportHandler::new();
        for report in &error.errors {
            let mut out = String::new();
            assert!(
                handler.render_report(&mut out, report.as_ref()).is_ok(),
                "diagnostic failed to render: {report}"
            );
        }
    }
}

/// Pieces of manifests, so that random input often gets past the YAML parser.
const TOKENS: &[&str] = &[
    "version: 1\n",
    "job: salaries\n",
    "reference: \"{{id}}\"\n",
    "reference: \"{{#if x}}\"\n",
    "recipients:\n",
    "  - id: E001\n",
    "    name: A\n",
    "    msisdn: \"2250747000001\"\n",
    "    amount: 5000\n",
    "    amount: 5.000\n",
    "amount: &a 1\n",
    "b: *a\n",
    "  ",
    "- ",
    ": ",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    "\n",
    "#",
    "!!str ",
    "é",
    "\u{feff}",
    "fees: 1.5\n",
    "schedule:\n  cron: \"0 9 25 * *\"\n  timezone: UTC\n",
    "recipients_file: x.csv\n",
    "limits:\n  max_total: 1\n",
    "vars:\n  a: b\n",
    "? ",
    "|\n",
    ">\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        load_bytes(&bytes);
    }

    #[test]
    fn manifest_fragments_never_panic(picks in proptest::collection::vec(0..TOKENS.len(), 0..40)) {
        let text: String = picks.iter().map(|index| TOKENS[*index]).collect();
        load_bytes(text.as_bytes());
    }
}

#[test]
fn reference_without_period_warns() {
    let loaded = load_text(
        "version: 1\njob: bonus\nperiod: \"2026-12\"\nreference: \"bonus-{{id}}\"\nrecipients:\n  - id: E1\n    name: Awa Kone\n    msisdn: \"2250747000000\"\n    amount: 10000\n",
    )
    .expect("a warning is not an error");
    assert_eq!(loaded.warnings.len(), 1);
    let shown = format!("{:?}", miette::Report::new(loaded.warnings[0].clone()));
    assert!(shown.contains("does not use `{{period}}`"), "{shown}");
    assert!(shown.contains("manifest.yaml:4"), "{shown}");
}

#[test]
fn recipients_file_outside_folder_rejected() {
    for path in ["/etc/passwd", "../other/recipients.csv"] {
        let error = load_text(&format!(
            "version: 1\njob: x\nperiod: \"2026-12\"\nreference: \"x-{{{{period}}}}-{{{{id}}}}\"\nrecipients_file: \"{path}\"\n"
        ))
        .expect_err("a file outside the manifest's folder");
        let all = messages(&error).join("\n");
        assert!(
            all.contains("leaves the manifest's folder"),
            "{path}: {all}"
        );
        assert!(
            !all.contains("root:"),
            "{path}: the file's content is not echoed"
        );
    }
}

#[test]
fn amount_with_leading_zero_rejected() {
    let error = load_text(
        "version: 1\njob: x\nperiod: \"2026-12\"\nreference: \"x-{{period}}-{{id}}\"\nrecipients:\n  - id: E1\n    name: Awa Kone\n    msisdn: \"2250747000000\"\n    amount: 010000\n",
    )
    .expect_err("leading zero");
    let all = messages(&error).join("\n");
    assert!(all.contains("octal"), "{all}");
    assert!(all.contains("`010000`"), "{all}");
}
