//! `payroll schema`.

use std::io::Write;

use miette::IntoDiagnostic;

use crate::cli::GlobalArgs;

/// Print the manifest JSON Schema, the same text as `schemas/manifest.schema.json`.
///
/// Example: `payroll schema > manifest.schema.json`
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {}

pub async fn run(args: SchemaArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(crate::manifest::schema::schema_json().as_bytes())
        .into_diagnostic()?;
    Ok(crate::cli::exit::OK)
}
