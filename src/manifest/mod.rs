//! Manifests: YAML types, loading with source spans, validation, and rendering into payments.
//!
//! [`load`] reads a manifest and its recipients file and reports every problem at once, each
//! located at its line; [`LoadedManifest::render`] turns it into the payments of one period.

mod check;
mod cross;
mod csv_file;
mod diagnostic;
mod load;
mod recipients;
mod render;
mod scalar;
pub mod schedule;
pub mod schema;
mod template;
pub mod types;
mod yaml;

use std::path::PathBuf;

use crate::money::{Amount, FeeRate};
use crate::msisdn::Msisdn;

pub use diagnostic::{Problem, SourceFile};
pub use render::{DESCRIPTION_MAX_CHARS, REFERENCE_MAX_CHARS};
pub use types::{Limits, Manifest, OnKycFailure, Recipient, Schedule};

/// A manifest read from disk and checked, with what rendering needs.
#[derive(Clone, Debug)]
pub struct LoadedManifest {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Recipients from the manifest and its `recipients_file`, in file order, with each msisdn
    /// in canonical form.
    pub recipients: Vec<Recipient>,
    /// SHA-256 (hex) over the manifest's bytes and its recipients file's bytes.
    pub digest: String,
    /// Problems that do not stop a run, such as two recipients with one msisdn.
    pub warnings: Vec<Problem>,
    /// The `fees` percent, exact in basis points.
    pub fee_rate: FeeRate,
    /// Source locations of the entries of `recipients`, in the same order.
    origins: Vec<recipients::Origin>,
    templates: Templates,
}

/// Source locations of the top-level templates, for rendering errors.
#[derive(Clone, Debug)]
struct Templates {
    file: SourceFile,
    reference: (usize, usize),
    description: Option<(usize, usize)>,
}

/// One concrete payment, rendered from a recipient for one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub recipient_id: String,
    pub name: String,
    pub msisdn: Msisdn,
    pub amount: Amount,
    pub reference: String,
    pub description: Option<String>,
}

/// A job ready to plan: the manifest rendered for one period.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub period: String,
    pub payments: Vec<Payment>,
    pub fee_rate: FeeRate,
    pub limits: Limits,
    pub chunk_size: Option<usize>,
    pub on_kyc_failure: OnKycFailure,
    pub sub_company_id: Option<String>,
    /// The manifest's digest, so that a saved plan can tell the manifest changed.
    pub manifest_digest: String,
}

/// Every problem found in one manifest, as located diagnostics.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {count} error(s)")]
pub struct ManifestError {
    pub path: String,
    pub count: usize,
    #[related]
    pub errors: Vec<miette::Report>,
}

impl ManifestError {
    fn new(path: &str, problems: Vec<Problem>) -> ManifestError {
        ManifestError {
            path: path.to_owned(),
            count: problems.iter().filter(|problem| problem.is_error()).count(),
            errors: problems.into_iter().map(miette::Report::new).collect(),
        }
    }

    /// Returns the problems as structured values, in file order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.errors
            .iter()
            .filter_map(|report| report.downcast_ref::<Problem>())
    }
}

/// Reads, parses and checks a manifest; every error found is reported at once.
pub fn load(path: &std::path::Path) -> Result<LoadedManifest, ManifestError> {
    load::load(path)
}

/// The maximum length of a period, in characters.
pub const PERIOD_MAX_CHARS: usize = 32;

/// Checks a period: 1 to 32 characters of `A-Z a-z 0-9 - _ .`, such as `2026-12`.
pub fn check_period(period: &str) -> Result<(), String> {
    check_identifier_chars(period, PERIOD_MAX_CHARS)
}

/// Checks a recipient id: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
fn check_identifier(id: &str) -> Result<(), String> {
    check_identifier_chars(id, 64)
}

fn check_identifier_chars(text: &str, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.chars().count() > max {
        return Err(format!("is longer than {max} characters"));
    }
    match text.chars().find(|c| !is_reference_char(*c)) {
        Some(bad) => Err(format!(
            "contains `{bad}`; only letters, digits, `-`, `_` and `.` are allowed"
        )),
        None => Ok(()),
    }
}

/// Returns `true` for a character of the reference set: ASCII letters, digits, `-`, `_` and `.`.
pub fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Returns the text of `bytes` without a UTF-8 byte-order mark, or the lossy text and the byte
/// offset of the first invalid byte.
fn decode(mut bytes: Vec<u8>) -> Result<String, (String, usize)> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        (
            String::from_utf8_lossy(error.as_bytes()).into_owned(),
            valid,
        )
    })
}

fn not_utf8(file: &SourceFile, offset: usize) -> Problem {
    Problem::error(
        "manifest::encoding",
        file,
        offset,
        1,
        format!("`{}` is not valid UTF-8", file.name()),
    )
    .with_help("save the file as UTF-8; spreadsheet exports often default to Latin-1 or UTF-16")
}
