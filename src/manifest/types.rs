//! The manifest as written in YAML. `schemas/manifest.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A payroll manifest: one job, its recipients, and how to pay them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version; only `1` exists.
    pub version: u32,
    /// Name of the run in state: lowercase letters, digits and `-`.
    pub job: String,
    /// The period paid, such as `2026-12`; optional when `--period` or a schedule sets it.
    #[serde(default)]
    pub period: Option<String>,
    /// Handlebars template of each payment's reference, the provider's idempotency key.
    pub reference: String,
    /// Handlebars template of each payment's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Values templates read as `{{vars.NAME}}`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default)]
    pub limits: Option<Limits>,
    /// Fee rate in percent used by plans; the provider charges 1.
    #[serde(default)]
    pub fees: Option<f64>,
    /// Transactions per batch request.
    #[serde(default)]
    pub chunk_size: Option<u32>,
    /// Sent with customer checks when the business account has sub-companies.
    #[serde(default)]
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
    #[serde(default)]
    pub recipients: Vec<Recipient>,
}

/// One person to pay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Unique within the manifest.
    pub id: String,
    pub name: String,
    /// International number as a quoted string, such as `"2250747000000"`.
    pub msisdn: String,
    /// Whole XOF, 5000 to 500000.
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
