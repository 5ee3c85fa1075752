//! Running the `payroll` binary against a test sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use payroll::sandbox::testing::TestSandbox;

/// Writes a manifest of `count` recipients for job `name` into `dir` and returns its path.
pub fn write_manifest(dir: &Path, name: &str, count: usize, chunk_size: Option<u32>) -> PathBuf {
    let mut yaml = format!(
        "version: 1\njob: {name}\nperiod: \"2026-12\"\nreference: \"{{{{job}}}}-{{{{period}}}}-{{{{id}}}}\"\ndescription: \"Salaire {{{{period}}}}\"\n"
    );
    if let Some(chunk) = chunk_size {
        yaml.push_str(&format!("chunk_size: {chunk}\n"));
    }
    yaml.push_str("recipients:\n");
    for index in 0..count {
        yaml.push_str(&format!(
            "  - id: E{index:03}\n    name: Recipient {index}\n    msisdn: \"{}\"\n    amount: {}\n",
            crate::support::msisdn(index).as_str(),
            10_000 + 1_000 * index
        ));
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).expect("manifest written");
    path
}

/// A `payroll` command aimed at `sandbox` with the state folder `state`.
pub fn payroll(sandbox: &TestSandbox, state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payroll"));
    command
        .arg("--state")
        .arg(state)
        .arg("--api-url")
        .arg(sandbox.base_url())
        .env("DJAMO_API_TOKEN", payroll::sandbox::testing::TEST_TOKEN)
        .env_remove("PAYROLL_FAULT_ABORT")
        .env_remove("DJAMO_API_URL")
        .env_remove("PAYROLL_STATE")
        .env("NO_COLOR", "1");
    command
}

/// Runs a command on a blocking thread so the sandbox on this runtime keeps serving.
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("payroll runs"))
        .await
        .expect("join")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
