//! The manifest's JSON Schema, generated from the types, and its check with errors located in
//! the YAML source.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use marked_yaml::Node;

use super::diagnostic::{Problem, SourceFile};
use super::types::{Manifest, Recipient};
use super::yaml;

/// Returns the JSON Schema of a manifest, pretty-printed with a final newline, exactly as
/// `schemas/manifest.schema.json` stores it.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Manifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The compiled schemas of a whole manifest and of one recipient.
struct Validators {
    manifest: jsonschema::Validator,
    recipient: jsonschema::Validator,
}

fn validators() -> Option<&'static Validators> {
    static VALIDATORS: OnceLock<Option<Validators>> = OnceLock::new();
    VALIDATORS
        .get_or_init(|| {
            let manifest: serde_json::Value = serde_json::from_str(&schema_json()).ok()?;
            let recipient = serde_json::to_value(schemars::schema_for!(Recipient)).ok()?;
            Some(Validators {
                manifest: jsonschema::validator_for(&manifest).ok()?,
                recipient: jsonschema::validator_for(&recipient).ok()?,
            })
        })
        .as_ref()
}

/// Checks the manifest `root` against the schema. Returns each problem with the JSON pointer of
/// the value it is about, and the JSON reading of the top level with `recipients` left empty.
///
/// Each recipient is checked on its own against the recipient schema, so that a large manifest
/// never exists as one JSON document beside its YAML tree. The result is the same as checking the
/// whole document, because the manifest schema checks each item of `recipients` with exactly that
/// recipient schema.
pub fn check(file: &SourceFile, root: &Node) -> (Vec<(String, Problem)>, serde_json::Value) {
    let mut top = serde_json::Map::new();
    let mut items = None;
    if let Node::Mapping(mapping) = root {
        for (key, value) in mapping.iter() {
            match (key.as_str(), value) {
                ("recipients", Node::Sequence(sequence)) => {
                    items = Some(sequence);
                    top.insert(
                        key.as_str().to_owned(),
                        serde_json::Value::Array(Vec::new()),
                    );
                }
                _ => {
                    top.insert(key.as_str().to_owned(), yaml::to_json(value));
                }
            }
        }
    }
    let top = serde_json::Value::Object(top);

    let Some(validators) = validators() else {
        let problem = Problem::error(
            "manifest::internal",
            file,
            0,
            0,
            "the built-in manifest schema failed to compile; this is a bug in payroll",
        );
        return (vec![(String::new(), problem)], top);
    };
    let mut problems = Vec::new();
    let mut report = |pointer: String, error: &jsonschema::ValidationError<'_>| {
        let problem = locate(file, root, &pointer, error.kind(), &error.to_string());
        problems.push((pointer, problem));
    };
    for error in validators.manifest.iter_errors(&top) {
        report(error.instance_path().as_str().to_owned(), &error);
    }
    for (index, item) in items
        .into_iter()
        .flat_map(|sequence| sequence.iter())
        .enumerate()
    {
        let value = yaml::to_json(item);
        for error in validators.recipient.iter_errors(&value) {
            let pointer = format!("/recipients/{index}{}", error.instance_path().as_str());
            report(pointer, &error);
        }
    }
    (problems, top)
}

fn locate(
    file: &SourceFile,
    root: &Node,
    pointer: &str,
    kind: &ValidationErrorKind,
    text: &str,
) -> Problem {
    let node = yaml::lookup(root, pointer).unwrap_or(root);
    let (offset, len) = yaml::node_range(file, node);
    let place = if pointer.is_empty() {
        "the manifest".to_owned()
    } else {
        format!("`{}`", display_path(pointer))
    };
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            let known = known_keys(pointer);
            let (offset, len) = match node {
                Node::Mapping(mapping) => yaml::key(mapping, &name)
                    .map_or((offset, len), |key| yaml::scalar_range(file, key)),
                _ => (offset, len),
            };
            let mut problem = Problem::error(
                "manifest::unknown-key",
                file,
                offset,
                len,
                format!("unknown key `{name}` in {place}"),
            );
            if let Some(suggestion) = closest(&name, known) {
                problem = problem.with_help(format!("did you mean `{suggestion}`?"));
            } else if !known.is_empty() {
                problem = problem.with_help(format!("the keys allowed here are {}", quoted(known)));
            }
            problem
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            Problem::error(
                "manifest::missing-key",
                file,
                offset,
                len,
                format!("{place} is missing the required key `{name}`"),
            )
            .with_help(format!("add `{name}:` to this mapping"))
        }
        ValidationErrorKind::Type { .. } => Problem::error(
            "manifest::type",
            file,
            offset,
            len,
            format!("{place}: {text}"),
        )
        .with_help(type_help(pointer)),
        _ => Problem::error(
            "manifest::schema",
            file,
            offset,
            len,
            format!("{place}: {text}"),
        )
        .with_help("see the manifest reference, or run `payroll schema`"),
    }
}

/// Turns `/recipients/3/amount` into `recipients[3].amount`.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        if segment.bytes().all(|byte| byte.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

fn type_help(pointer: &str) -> &'static str {
    let last = pointer.rsplit('/').next().unwrap_or_default();
    match last {
        "amount" | "max_total" | "max_amount" | "max_recipients" | "chunk_size" | "version" => {
            "write a whole number without quotes"
        }
        "msisdn" | "id" | "period" | "reference" | "description" => {
            "write the value in double quotes so YAML reads it as text"
        }
        _ => "see the manifest reference, or run `payroll schema`",
    }
}

const TOP_KEYS: &[&str] = &[
    "version",
    "job",
    "period",
    "reference",
    "description",
    "vars",
    "schedule",
    "limits",
    "fees",
    "chunk_size",
    "sub_company_id",
    "on_kyc_failure",
    "allow_duplicate_msisdn",
    "recipients_file",
    "recipients",
];
const RECIPIENT_KEYS: &[&str] = &["id", "name", "msisdn", "amount", "description", "vars"];
const SCHEDULE_KEYS: &[&str] = &["cron", "timezone", "period", "catch_up"];
const LIMIT_KEYS: &[&str] = &["max_total", "max_amount", "max_recipients"];

fn known_keys(pointer: &str) -> &'static [&'static str] {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match segments.as_slice() {
        [] => TOP_KEYS,
        ["recipients", _] => RECIPIENT_KEYS,
        ["schedule"] => SCHEDULE_KEYS,
        ["limits"] => LIMIT_KEYS,
        _ => &[],
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Returns the known key closest to `name` when it is a likely typo (edit distance at most 2).
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_path_reads_like_code() {
        assert_eq!(display_path("/recipients/3/amount"), "recipients[3].amount");
        assert_eq!(display_path("/schedule/cron"), "schedule.cron");
    }

    #[test]
    fn closest_suggests_typos_only() {
        assert_eq!(closest("amout", RECIPIENT_KEYS), Some("amount"));
        assert_eq!(closest("salary", RECIPIENT_KEYS), None);
    }
}
