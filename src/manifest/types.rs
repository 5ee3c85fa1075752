//! The manifest as written in YAML. `schemas/manifest.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A payroll manifest: one job, its recipients, and how to pay them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version; only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Name of the run in state: lowercase letters, digits and `-`, starting with a letter or
    /// digit, at most 63 characters.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub job: String,
    /// The period paid, such as `2026-12`; optional when `--period` or a schedule sets it.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,32}$"))]
    pub period: Option<String>,
    /// Handlebars template of each payment's reference, the provider's idempotency key. Rendered,
    /// it is 1 to 64 characters of `A-Z a-z 0-9 - _ .` and unique within the manifest.
    #[schemars(length(min = 1))]
    pub reference: String,
    /// Handlebars template of each payment's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Values templates read as `{{vars.NAME}}`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// When `payroll run` pays this job.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Safety caps; exceeding one blocks the plan.
    #[serde(default)]
    pub limits: Option<Limits>,
    /// Fee rate in percent used by plans, at most two decimals, 0 to 10; default 1, the
    /// provider's published rate.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10))]
    pub fees: Option<f64>,
    /// Transactions per batch request, 1 to 1000.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub chunk_size: Option<u32>,
    /// Sent with customer checks when the business account has sub-companies.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub sub_company_id: Option<String>,
    /// What a recipient whose KYC is not `complete` does to the plan.
    #[serde(default)]
    pub on_kyc_failure: OnKycFailure,
    /// Accept two recipients with one MSISDN without a warning.
    #[serde(default)]
    pub allow_duplicate_msisdn: bool,
    /// A CSV file of `id,name,msisdn,amount[,description]`, relative to the manifest.
    #[serde(default)]
    pub recipients_file: Option<String>,
    /// The people to pay, in order; optional when `recipients_file` is set.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
}

/// One person to pay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Unique within the manifest: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub id: String,
    /// Full name, 1 to 100 characters.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// International number as a quoted string, such as `"2250747000000"` or `"+225 07 47 00 00 00"`.
    #[schemars(regex(pattern = r"^\+?[0-9][0-9 .-]*$"))]
    pub msisdn: String,
    /// Whole XOF, 5000 to 500000, written as a YAML integer.
    #[schemars(range(min = 5000, max = 500000))]
    pub amount: u64,
    /// Overrides the manifest's description template.
    #[serde(default)]
    pub description: Option<String>,
    /// Values templates read as `{{vars.NAME}}`, over the manifest's own.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

/// When `payroll run` pays this job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Five-field cron expression, evaluated in `timezone`.
    pub cron: String,
    /// IANA time zone name, such as `Africa/Abidjan`.
    pub timezone: String,
    /// strftime pattern of the fire time that names the period; default `%Y-%m-%d`.
    #[serde(default)]
    pub period: Option<String>,
    /// How late a missed fire may still run, such as `1d` or `6h`; default one day.
    #[serde(default)]
    pub catch_up: Option<String>,
}

/// Safety caps; exceeding one blocks the plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Maximum sum of amounts of one run, fees excluded.
    #[serde(default)]
    pub max_total: Option<u64>,
    /// Maximum amount of one payment.
    #[serde(default)]
    pub max_amount: Option<u64>,
    /// Maximum number of payments of one run.
    #[serde(default)]
    pub max_recipients: Option<u64>,
}

/// What a KYC status other than `complete` does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnKycFailure {
    /// Block that payment and therefore the plan.
    #[default]
    Block,
    /// Leave that payment out with a warning.
    Skip,
}
