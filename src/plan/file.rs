//! Saved plans: a plan with what is needed to check, at apply time, that it still holds.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::Plan;

/// The `format` field of every plan file.
pub const FORMAT: &str = "payroll-plan";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A plan saved by `payroll plan --out`.
///
/// `digest` is SHA-256 over everything else in the file, so any change to the file, by hand or
/// by a broken transfer, is detected. It contains no token and no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub format_version: u32,
    pub created_at: String,
    /// The manifest path as given to `plan`, relative to the folder `plan` ran in.
    pub manifest_path: String,
    pub plan: Plan,
    pub digest: String,
}

/// Errors that make a plan file unusable.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("plan file `{path}` could not be read: {cause}")]
    Read { path: String, cause: String },
    #[error("plan file `{path}` could not be written: {cause}")]
    Write { path: String, cause: String },
    #[error("`{path}` is not a payroll plan file: {cause}")]
    NotAPlan { path: String, cause: String },
    #[error(
        "plan file `{path}` was altered after it was made: its digest does not match its content"
    )]
    Tampered { path: String },
}

#[derive(Serialize)]
struct Digested<'a> {
    format: &'a str,
    format_version: u32,
    created_at: &'a str,
    manifest_path: &'a str,
    plan: &'a Plan,
}

impl PlanFile {
    /// Wraps `plan` and computes its digest.
    pub fn new(plan: Plan, manifest_path: String, created_at: String) -> PlanFile {
        let mut file = PlanFile {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            created_at,
            manifest_path,
            plan,
            digest: String::new(),
        };
        file.digest = file.compute_digest();
        file
    }

    /// SHA-256 (hex) of the file's content without the digest itself.
    pub fn compute_digest(&self) -> String {
        let digested = Digested {
            format: &self.format,
            format_version: self.format_version,
            created_at: &self.created_at,
            manifest_path: &self.manifest_path,
            plan: &self.plan,
        };
        // Serializing these plain structs cannot fail; an empty body would still be caught
        // because its digest differs from any real plan's.
        let bytes = serde_json::to_vec(&digested).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }

    /// Writes the file as pretty JSON, through a temporary file and a rename so that a crash
    /// never leaves half a plan.
    pub fn write(&self, path: &Path) -> Result<(), PlanFileError> {
        let err = |cause: String| PlanFileError::Write {
            path: path.display().to_string(),
            cause,
        };
        let mut body = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        body.push(b'\n');
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    /// Reads a plan file and checks its digest.
    pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| PlanFileError::Read {
            path: shown.clone(),
            cause: e.to_string(),
        })?;
        let file: PlanFile =
            serde_json::from_slice(&bytes).map_err(|e| PlanFileError::NotAPlan {
                path: shown.clone(),
                cause: e.to_string(),
            })?;
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(PlanFileError::NotAPlan {
                path: shown,
                cause: format!(
                    "format `{}` version {}, expected `{FORMAT}` version {FORMAT_VERSION}",
                    file.format, file.format_version
                ),
            });
        }
        if file.compute_digest() != file.digest {
            return Err(PlanFileError::Tampered { path: shown });
        }
        Ok(file)
    }

    /// True when `path` looks like a plan file rather than a manifest: JSON that starts with `{`.
    pub fn looks_like_plan(path: &Path) -> bool {
        std::fs::read(path)
            .map(|bytes| bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
            .unwrap_or(false)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

impl PlanFile {
    /// Checks that every item of the plan is the payment the manifest renders for it, and that
    /// the plan keeps the manifest's limits. A plan file edited by hand, even with its digest
    /// recomputed, then cannot pay an amount, a number or a recipient the manifest does not.
    pub fn check_against(&self, job: &crate::manifest::Job) -> Result<(), String> {
        let plan = &self.plan;
        if plan.job != job.name || plan.period != job.period {
            return Err(format!(
                "the plan is for job `{}` period `{}`, the manifest renders job `{}` period `{}`",
                plan.job, plan.period, job.name, job.period
            ));
        }
        if plan.items.len() != job.payments.len() {
            return Err(format!(
                "the plan has {} item(s), the manifest renders {} payment(s)",
                plan.items.len(),
                job.payments.len()
            ));
        }
        let mut sending_total = crate::money::Amount(0);
        for (item, payment) in plan.items.iter().zip(&job.payments) {
            let derived = item
                .reference
                .strip_prefix(&payment.reference)
                .and_then(|rest| rest.strip_prefix("-r"))
                .is_some_and(|n| {
                    !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
                });
            let same = item.id == payment.recipient_id
                && item.msisdn == payment.msisdn.as_str()
                && item.amount == payment.amount
                && item.description == payment.description
                && (item.reference == payment.reference || derived);
            if !same {
                return Err(format!(
                    "item `{}` (reference `{}`, {} to `{}`) is not the payment the manifest \
                     renders for recipient `{}`",
                    item.id, item.reference, item.amount, item.msisdn, payment.recipient_id
                ));
            }
            if item.action.sends() {
                if item.fee != job.fee_rate.fee(item.amount) {
                    return Err(format!(
                        "item `{}` has fee {}, not the manifest's rate",
                        item.id, item.fee
                    ));
                }
                if job.limits.max_amount.is_some_and(|max| item.amount.0 > max) {
                    return Err(format!("item `{}` is over `limits.max_amount`", item.id));
                }
                sending_total = sending_total
                    .checked_add(item.amount)
                    .unwrap_or(crate::money::Amount(u64::MAX));
            }
        }
        let total: crate::money::Amount = job.payments.iter().map(|p| p.amount).sum();
        if job.limits.max_total.is_some_and(|max| total.0 > max) {
            return Err("the run is over `limits.max_total`".to_owned());
        }
        if job
            .limits
            .max_recipients
            .is_some_and(|max| job.payments.len() as u64 > max)
        {
            return Err("the run is over `limits.max_recipients`".to_owned());
        }
        if sending_total != plan.summary.amount {
            return Err(format!(
                "the plan's summary says {} to pay, its items add up to {sending_total}",
                plan.summary.amount
            ));
        }
        Ok(())
    }
}
