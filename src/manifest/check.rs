//! Checks of the manifest's own values beyond the schema: numbers read from the scalar itself,
//! names, the schedule and the templates, each located at its value.

use std::collections::HashSet;

use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};

use super::diagnostic::{Problem, SourceFile};
use super::scalar::{self, Rejection};
use super::{schedule, template, yaml};
use crate::money::FeeRate;

/// Problems found so far, with the JSON pointers they cover, so that the schema's more generic
/// message about the same value is dropped.
#[derive(Default)]
pub struct Findings {
    pub problems: Vec<Problem>,
    pub covered: HashSet<String>,
    /// Every recipient id written in the manifest with its byte range, also of entries with
    /// other problems, so that duplicates are found in the same run.
    pub ids: Vec<(String, usize, usize)>,
}

impl Findings {
    pub fn push(&mut self, pointer: impl Into<String>, problem: Problem) {
        self.covered.insert(pointer.into());
        self.problems.push(problem);
    }

    pub fn reject(
        &mut self,
        file: &SourceFile,
        pointer: String,
        scalar: &MarkedScalarNode,
        code: &'static str,
        rejection: Rejection,
    ) {
        let (offset, len) = yaml::scalar_range(file, scalar);
        let problem =
            Problem::error(code, file, offset, len, rejection.message).with_help(rejection.help);
        self.push(pointer, problem);
    }
}

/// Values the top-level checks read for later steps.
pub struct TopLevel {
    pub fee_rate: FeeRate,
}

/// Checks the top-level keys other than `recipients`.
pub fn top_level(file: &SourceFile, root: &MarkedMappingNode, found: &mut Findings) -> TopLevel {
    if let Some(job) = root.get_scalar("job")
        && let Err(reason) = check_job(job.as_str())
    {
        found.reject(
            file,
            "/job".into(),
            job,
            "manifest::job",
            Rejection {
                message: format!("`job` `{}` {reason}", job.as_str()),
                help: "use lowercase letters, digits and `-`, such as `salaries` or `bonus-q4`"
                    .into(),
            },
        );
    }
    if let Some(period) = root.get_scalar("period")
        && let Err(reason) = super::check_period(period.as_str())
    {
        found.reject(
            file,
            "/period".into(),
            period,
            "manifest::period",
            Rejection {
                message: format!("`period` `{}` is invalid: {reason}", period.as_str()),
                help: "write the period in quotes, such as `period: \"2026-12\"`".into(),
            },
        );
    }

    let mut fee_rate = FeeRate::DEFAULT;
    if let Some(fees) = root.get_scalar("fees") {
        match scalar::fee_rate(fees) {
            Ok(rate) => fee_rate = rate,
            Err(rejection) => {
                found.reject(file, "/fees".into(), fees, "manifest::fees", rejection);
            }
        }
    }

    if let Some(limits) = root.get_mapping("limits") {
        for (key, value) in limits.iter() {
            if let Node::Scalar(value) = value
                && let Err(rejection) = scalar::whole_number(key.as_str(), value)
            {
                let pointer = format!("/limits/{}", key.as_str());
                found.reject(file, pointer, value, "manifest::limit", rejection);
            }
        }
    }
    if let Some(chunk) = root.get_scalar("chunk_size")
        && let Err(rejection) = scalar::whole_number("chunk_size", chunk)
    {
        found.reject(
            file,
            "/chunk_size".into(),
            chunk,
            "manifest::chunk-size",
            rejection,
        );
    }

    if let Some(schedule) = root.get_mapping("schedule") {
        check_schedule(file, schedule, found);
    }
    for key in ["reference", "description"] {
        if let Some(source) = root.get_scalar(key) {
            check_template(file, &format!("/{key}"), key, source, found);
        }
    }
    TopLevel { fee_rate }
}

/// Checks a job name: lowercase letters, digits and `-`, 1 to 63 characters, not starting with `-`.
pub fn check_job(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.chars().count() > 63 {
        return Err("is longer than 63 characters".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains `{bad}`, which is not allowed in a job name"
        ));
    }
    if name.starts_with('-') {
        return Err("starts with `-`".into());
    }
    Ok(())
}

/// A check of one schedule field, returning why the value is invalid.
type FieldCheck = fn(&str) -> Result<(), String>;

fn check_schedule(file: &SourceFile, schedule: &MarkedMappingNode, found: &mut Findings) {
    let fields: [(&str, FieldCheck); 4] = [
        ("cron", |text| schedule::parse_cron(text).map(drop)),
        ("timezone", |text| schedule::parse_zone(text).map(drop)),
        ("period", schedule::check_period_format),
        ("catch_up", |text| schedule::parse_catch_up(text).map(drop)),
    ];
    for (key, check) in fields {
        if let Some(value) = schedule.get_scalar(key)
            && let Err(message) = check(value.as_str())
        {
            let help = match key {
                "cron" => "for example, `0 9 25 * *` runs at 09:00 on the 25th of every month",
                "timezone" => {
                    "IANA names are listed at https://en.wikipedia.org/wiki/List_of_tz_database_time_zones"
                }
                "period" => "use strftime fields such as `%Y-%m` or `%Y-%m-%d`",
                _ => "write whole days, hours and minutes such as `1d`, `6h` or `1d12h`",
            };
            let code = match key {
                "cron" => "manifest::schedule-cron",
                "timezone" => "manifest::schedule-timezone",
                "period" => "manifest::schedule-period",
                _ => "manifest::schedule-catch-up",
            };
            let rejection = Rejection {
                message: format!("`schedule.{key}`: {message}"),
                help: help.into(),
            };
            found.reject(file, format!("/schedule/{key}"), value, code, rejection);
        }
    }
}

/// Checks that a template compiles and reads only variables the context provides. Variables
/// under `vars.` are checked against each recipient later, because a recipient may define them.
pub fn check_template(
    file: &SourceFile,
    pointer: &str,
    key: &str,
    source: &MarkedScalarNode,
    found: &mut Findings,
) -> Vec<String> {
    let rejection = |message: String, help: &str| Rejection {
        message,
        help: help.to_owned(),
    };
    let compiled = match template::compile(source.as_str()) {
        Ok(compiled) => compiled,
        Err(message) => {
            let rejection = rejection(
                format!("`{key}` is not a valid template: {message}"),
                "templates use handlebars syntax, such as `sal-{{period}}-{{id}}`",
            );
            found.reject(
                file,
                pointer.into(),
                source,
                "manifest::template",
                rejection,
            );
            return Vec::new();
        }
    };
    let variables = match template::variables(&compiled) {
        Ok(variables) => variables,
        Err(message) => {
            let rejection = rejection(
                format!("`{key}`: {message}"),
                "use plain variables and `{{#if}}` or `{{#unless}}` blocks",
            );
            found.reject(
                file,
                pointer.into(),
                source,
                "manifest::template",
                rejection,
            );
            return Vec::new();
        }
    };
    for variable in &variables {
        if variable.starts_with("vars.") && variable.matches('.').count() == 1 {
            continue;
        }
        if template::CONTEXT_NAMES.contains(&variable.as_str()) {
            continue;
        }
        let known = template::CONTEXT_NAMES.join("`, `");
        let rejection = rejection(
            format!("`{key}` uses the unknown variable `{variable}`"),
            &format!("templates see `{known}` and `vars.NAME`"),
        );
        found.reject(
            file,
            pointer.into(),
            source,
            "manifest::template-variable",
            rejection,
        );
    }
    variables
}
