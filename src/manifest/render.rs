//! Rendering a loaded manifest into the payments of one period.

use std::collections::{BTreeMap, HashMap};

use handlebars::Handlebars;
use serde_json::{Map, Value};

use super::diagnostic::Problem;
use super::recipients::Origin;
use super::template::{self, Segment};
use super::types::Recipient;
use super::{Job, LoadedManifest, ManifestError, Payment};
use crate::money::Amount;
use crate::msisdn::Msisdn;

/// The maximum length of a rendered reference, in characters. The reference is the provider's idempotency
/// key, so it is kept short and in a character set that survives URLs and spreadsheets.
pub const REFERENCE_MAX_CHARS: usize = 64;
/// The maximum length of a rendered description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 140;

impl LoadedManifest {
    /// Renders every recipient's reference and description for `period`, which overrides the
    /// manifest's own `period`.
    pub fn render(&self, period: Option<&str>) -> Result<Job, ManifestError> {
        let display_name = self.path.display().to_string();
        let templates = &self.templates;
        let at_reference = |message: String| {
            let (offset, len) = templates.reference;
            Problem::error("manifest::period", &templates.file, offset, len, message)
        };
        let Some(period) = period.or(self.manifest.period.as_deref()) else {
            let problem = at_reference(
                "no period to render: the manifest sets no `period` and none was given".into(),
            )
            .with_help("pass `--period 2026-12`, or set `period: \"2026-12\"` in the manifest");
            return Err(ManifestError::new(&display_name, vec![problem]));
        };
        if let Err(reason) = super::check_period(period) {
            let problem = at_reference(format!("period `{period}` is invalid: it {reason}"))
                .with_help(
                    "a period is 1 to 32 letters, digits, `-`, `_` or `.`, such as `2026-12`",
                );
            return Err(ManifestError::new(&display_name, vec![problem]));
        }

        let mut registry = template::registry();
        let mut problems = Vec::new();
        let description_range = templates.description.unwrap_or(templates.reference);
        let top_level = [
            (
                "reference",
                Some(self.manifest.reference.as_str()),
                templates.reference,
            ),
            (
                "description",
                self.manifest.description.as_deref(),
                description_range,
            ),
        ];
        for (name, source, range) in top_level {
            if let Some(source) = source
                && let Err(error) = registry.register_template_string(name, source)
            {
                problems.push(Problem::error(
                    "manifest::template",
                    &templates.file,
                    range.0,
                    range.1,
                    format!("`{name}` is not a valid template: {error}"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ManifestError::new(&display_name, problems));
        }

        let reference_segments = template::simple(&self.manifest.reference);
        let description_segments = self
            .manifest
            .description
            .as_deref()
            .and_then(template::simple);
        let mut payments = Vec::with_capacity(self.recipients.len());
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(self.recipients.len());
        for (index, (recipient, origin)) in self.recipients.iter().zip(&self.origins).enumerate() {
            let rendering = Rendering {
                loaded: self,
                period,
                recipient,
            };
            let reference = match rendering.top_level(&registry, "reference", &reference_segments) {
                Ok(text) => text,
                Err(error) => {
                    problems.push(render_error(
                        origin,
                        recipient,
                        "reference",
                        &error.to_string(),
                    ));
                    continue;
                }
            };
            if let Err(message) = check_reference(&reference) {
                problems.push(origin.error("manifest::reference", format!("recipient `{}`: rendered reference `{reference}` {message}", recipient.id))
                    .with_help(format!("a reference is 1 to {REFERENCE_MAX_CHARS} letters, digits, `-`, `_` or `.`; change the `reference` template or the values it reads")));
                continue;
            }
            if let Some(first) = seen.insert(reference.clone(), index) {
                let first_id = &self.recipients[first].id;
                problems.push(origin.error("manifest::duplicate-reference", format!("recipient `{}` renders reference `{reference}`, as recipient `{first_id}` does", recipient.id))
                    .with_help("the reference is the provider's idempotency key, so it must be unique: include `{{id}}` in the `reference` template"));
                continue;
            }
            let description = match rendering.description(&registry, &description_segments) {
                Ok(description) => description,
                Err(message) => {
                    problems.push(render_error(origin, recipient, "description", &message));
                    continue;
                }
            };
            if let Some(text) = &description
                && text.chars().count() > DESCRIPTION_MAX_CHARS
            {
                let range = origin.description.unwrap_or(description_range);
                let file = if origin.description.is_some() {
                    &origin.file
                } else {
                    &templates.file
                };
                problems.push(Problem::error("manifest::description", file, range.0, range.1, format!("recipient `{}`: rendered description is {} characters, above the maximum of {DESCRIPTION_MAX_CHARS}", recipient.id, text.chars().count()))
                    .with_help("shorten the `description` template"));
                continue;
            }
            let Ok(msisdn) = Msisdn::parse(&recipient.msisdn) else {
                problems.push(origin.error(
                    "manifest::msisdn",
                    format!(
                        "recipient `{}`: msisdn `{}` is invalid",
                        recipient.id, recipient.msisdn
                    ),
                ));
                continue;
            };
            payments.push(Payment {
                recipient_id: recipient.id.clone(),
                name: recipient.name.clone(),
                msisdn,
                amount: Amount(recipient.amount),
                reference,
                description,
            });
        }
        if !problems.is_empty() {
            return Err(ManifestError::new(&display_name, problems));
        }
        Ok(Job {
            name: self.manifest.job.clone(),
            period: period.to_owned(),
            payments,
            fee_rate: self.fee_rate,
            limits: self.manifest.limits.clone().unwrap_or_default(),
            chunk_size: self.manifest.chunk_size.map(|size| size as usize),
            on_kyc_failure: self.manifest.on_kyc_failure,
            sub_company_id: self.manifest.sub_company_id.clone(),
            manifest_digest: self.digest.clone(),
        })
    }
}

/// One recipient being rendered for one period.
struct Rendering<'a> {
    loaded: &'a LoadedManifest,
    period: &'a str,
    recipient: &'a Recipient,
}

impl Rendering<'_> {
    /// Renders the registered template `name`, through its segments when it is simple.
    fn top_level(
        &self,
        registry: &Handlebars<'static>,
        name: &str,
        segments: &Option<Vec<Segment>>,
    ) -> Result<String, String> {
        match segments {
            Some(segments) => self.segments(segments),
            None => registry
                .render(name, &self.context())
                .map_err(|error| error.to_string()),
        }
    }

    /// Renders the recipient's own description, else the manifest's. An empty rendering gives
    /// `None`.
    fn description(
        &self,
        registry: &Handlebars<'static>,
        segments: &Option<Vec<Segment>>,
    ) -> Result<Option<String>, String> {
        let rendered = match &self.recipient.description {
            Some(own) => {
                let compiled = template::compile(own)?;
                template::variables(&compiled)?;
                match template::simple(own) {
                    Some(segments) => self.segments(&segments)?,
                    None => registry
                        .render_template(own, &self.context())
                        .map_err(|error| error.to_string())?,
                }
            }
            None if self.loaded.manifest.description.is_some() => {
                self.top_level(registry, "description", segments)?
            }
            None => return Ok(None),
        };
        Ok(Some(rendered).filter(|text| !text.is_empty()))
    }

    fn segments(&self, segments: &[Segment]) -> Result<String, String> {
        let recipient = self.recipient;
        let mut out = String::with_capacity(64);
        for segment in segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Job => out.push_str(&self.loaded.manifest.job),
                Segment::Period => out.push_str(self.period),
                Segment::Id => out.push_str(&recipient.id),
                Segment::Name => out.push_str(&recipient.name),
                Segment::Msisdn => out.push_str(&recipient.msisdn),
                Segment::Amount => out.push_str(&recipient.amount.to_string()),
                Segment::Var(name) => {
                    let value = recipient
                        .vars
                        .get(name)
                        .or_else(|| self.loaded.manifest.vars.get(name))
                        .ok_or_else(|| format!("variable `vars.{name}` is not defined"))?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }

    /// Builds what templates see: `job`, `period`, the recipient's `id`, `name`, `msisdn`,
    /// `amount`, and `vars` (the recipient's over the manifest's).
    fn context(&self) -> Value {
        let manifest = &self.loaded.manifest;
        let recipient = self.recipient;
        let mut vars: BTreeMap<&str, &str> = manifest
            .vars
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        vars.extend(
            recipient
                .vars
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        let vars = vars
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.into()))
            .collect();
        let mut context = Map::with_capacity(7);
        context.insert("job".into(), manifest.job.clone().into());
        context.insert("period".into(), self.period.into());
        context.insert("id".into(), recipient.id.clone().into());
        context.insert("name".into(), recipient.name.clone().into());
        context.insert("msisdn".into(), recipient.msisdn.clone().into());
        context.insert("amount".into(), recipient.amount.into());
        context.insert("vars".into(), Value::Object(vars));
        Value::Object(context)
    }
}

fn render_error(origin: &Origin, recipient: &Recipient, key: &str, message: &str) -> Problem {
    // handlebars words a missing variable as `... strict mode Some("name")`; say it plainly.
    let unknown = message
        .split_once("strict mode Some(\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name);
    let text = match unknown {
        Some(name) => format!(
            "recipient `{}`: the `{key}` template uses the unknown variable `{name}`",
            recipient.id
        ),
        None => format!(
            "recipient `{}`: the `{key}` template failed to render: {message}",
            recipient.id
        ),
    };
    origin.error("manifest::template", text).with_help(
        "templates see `job`, `period`, `id`, `name`, `msisdn`, `amount` and `vars.NAME`",
    )
}

/// Checks a rendered reference: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("is empty".into());
    }
    if reference.chars().count() > REFERENCE_MAX_CHARS {
        return Err(format!(
            "is {} characters, above the maximum of {REFERENCE_MAX_CHARS}",
            reference.chars().count()
        ));
    }
    match reference.chars().find(|c| !super::is_reference_char(*c)) {
        Some(bad) => Err(format!("contains `{bad}`, which is not allowed")),
        None => Ok(()),
    }
}
