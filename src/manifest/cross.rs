//! Checks across recipients and templates: unique ids, duplicate numbers, limits against the
//! manifest's own totals, and the `vars` each template reads.

use std::collections::{BTreeMap, HashMap};

use super::check::Findings;
use super::diagnostic::{Problem, SourceFile};
use super::recipients::Origin;
use super::types::{Limits, Recipient};
use super::yaml;

/// How many recipients one template problem is reported for before the rest are summarised.
const MAX_REPEATS: usize = 20;

/// The top-level values the cross checks read, taken from the manifest even when other parts
/// of it are invalid, so that one run reports every problem.
pub struct Lenient {
    allow_duplicate_msisdn: bool,
    limits: Limits,
    vars: BTreeMap<String, String>,
    reference: Option<String>,
    description: Option<String>,
}

impl Lenient {
    pub fn read(value: &serde_json::Value) -> Lenient {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        let part = |key: &str| value.get(key).cloned().unwrap_or_default();
        Lenient {
            allow_duplicate_msisdn: value
                .get("allow_duplicate_msisdn")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            limits: serde_json::from_value(part("limits")).unwrap_or_default(),
            vars: serde_json::from_value(part("vars")).unwrap_or_default(),
            reference: text("reference"),
            description: text("description"),
        }
    }
}

/// Checks across recipients: unique ids, duplicate numbers, limits, and `vars` the templates read.
pub fn cross_check(
    file: &SourceFile,
    mapping: &marked_yaml::types::MarkedMappingNode,
    manifest: &Lenient,
    all: &[(Recipient, Origin)],
    yaml_ids: &[(String, usize, usize)],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    if all.is_empty() && !problems.iter().any(Problem::is_error) {
        let (offset, len) = mapping
            .get_node("recipients")
            .map_or((0, file.rest_of_line(0)), |node| {
                yaml::node_range(file, node)
            });
        problems.push(
            Problem::error(
                "manifest::no-recipients",
                file,
                offset,
                len,
                "the manifest has no recipients",
            )
            .with_help("list them under `recipients:` or name a CSV file in `recipients_file`"),
        );
    }

    let mut ids: HashMap<&str, (&SourceFile, usize)> = HashMap::with_capacity(all.len());
    let written = yaml_ids
        .iter()
        .map(|(id, offset, len)| (id.as_str(), file, *offset, *len));
    let from_csv = all
        .iter()
        .filter(|(_, origin)| origin.file.name() != file.name())
        .map(|(recipient, origin)| {
            (
                recipient.id.as_str(),
                &origin.file,
                origin.offset,
                origin.len,
            )
        });
    for (id, id_file, offset, len) in written.chain(from_csv) {
        if let Some((first_file, first)) = ids.insert(id, (id_file, offset)) {
            let (line, _) = first_file.line_column(first);
            problems.push(
                Problem::error(
                    "manifest::duplicate-id",
                    id_file,
                    offset,
                    len,
                    format!(
                        "recipient id `{id}` is used twice; the first is at {}:{line}",
                        first_file.name()
                    ),
                )
                .with_help("give each recipient its own id"),
            );
        }
    }

    // State keys payments by job and period, but the provider knows only the reference: a
    // reference that is the same in every period makes a later period look already paid.
    if let Some(reference) = &manifest.reference
        && !uses_period(reference)
        && let Some(node) = mapping.get_node("reference")
    {
        let (offset, len) = yaml::node_range(file, node);
        warnings.push(
            Problem::warning(
                "manifest::reference-without-period",
                file,
                offset,
                len,
                format!("`reference` template `{reference}` does not use `{{{{period}}}}`"),
            )
            .with_help(
                "every period renders the same references, so a later period would be seen as \
                 already paid; add `{{period}}`, such as `sal-{{period}}-{{id}}`",
            ),
        );
    }

    let mut numbers: HashMap<&str, (&str, &Origin)> = HashMap::with_capacity(all.len());
    for (recipient, origin) in all {
        if let Some((first_id, _)) = numbers.insert(&recipient.msisdn, (&recipient.id, origin))
            && !manifest.allow_duplicate_msisdn
        {
            warnings.push(
                Problem::warning(
                    "manifest::duplicate-msisdn",
                    &origin.file,
                    origin.msisdn.0,
                    origin.msisdn.1,
                    format!(
                        "recipient `{}` has msisdn `{}`, as recipient `{first_id}` does",
                        recipient.id, recipient.msisdn
                    ),
                )
                .with_help(
                    "set `allow_duplicate_msisdn: true` if one person is paid twice on purpose",
                ),
            );
        }
    }

    check_limits(file, mapping, manifest, all, problems);
    check_template_vars(manifest, all, problems);
    problems.sort_by_key(|problem| (problem.file != file.name(), problem.offset));
}

fn check_limits(
    file: &SourceFile,
    mapping: &marked_yaml::types::MarkedMappingNode,
    manifest: &Lenient,
    all: &[(Recipient, Origin)],
    problems: &mut Vec<Problem>,
) {
    let limits = &manifest.limits;
    let at = |key: &str| {
        mapping
            .get_mapping("limits")
            .and_then(|limits| limits.get_scalar(key))
            .map_or((0, 0), |scalar| yaml::scalar_range(file, scalar))
    };
    if let Some(max) = limits.max_amount {
        for (recipient, origin) in all.iter().filter(|(recipient, _)| recipient.amount > max) {
            problems.push(
                origin
                    .error_at(
                        origin.amount,
                        "manifest::limit-amount",
                        format!(
                            "recipient `{}`'s amount {} exceeds `limits.max_amount` {max}",
                            recipient.id, recipient.amount
                        ),
                    )
                    .with_help("lower the amount, or raise `limits.max_amount` after review"),
            );
        }
    }
    if let Some(max) = limits.max_total {
        let total: u64 = all
            .iter()
            .map(|(recipient, _)| recipient.amount)
            .fold(0, u64::saturating_add);
        if total > max {
            let (offset, len) = at("max_total");
            problems.push(
                Problem::error(
                    "manifest::limit-total",
                    file,
                    offset,
                    len,
                    format!("the recipients' amounts add up to {total} XOF, above `limits.max_total` {max}"),
                )
                .with_help("check the amounts, or raise `limits.max_total` after review"),
            );
        }
    }
    if let Some(max) = limits.max_recipients
        && all.len() as u64 > max
    {
        let (offset, len) = at("max_recipients");
        problems.push(
            Problem::error(
                "manifest::limit-recipients",
                file,
                offset,
                len,
                format!(
                    "the manifest has {} recipients, above `limits.max_recipients` {max}",
                    all.len()
                ),
            )
            .with_help("check the recipient list, or raise `limits.max_recipients` after review"),
        );
    }
}

/// Reports a `vars.NAME` that a top-level template reads but neither the manifest's `vars` nor
/// any recipient's `vars` defines. A name only some recipients define is checked per recipient.
pub fn check_undefined_vars(
    file: &SourceFile,
    mapping: &marked_yaml::types::MarkedMappingNode,
    found: &mut Findings,
) {
    let defined = |name: &str| {
        let in_mapping = |vars: Option<&marked_yaml::types::MarkedMappingNode>| {
            vars.is_some_and(|vars| vars.get_node(name).is_some())
        };
        in_mapping(mapping.get_mapping("vars"))
            || mapping
                .get_sequence("recipients")
                .is_some_and(|recipients| {
                    recipients.iter().any(|entry| {
                        in_mapping(
                            entry
                                .as_mapping()
                                .and_then(|entry| entry.get_mapping("vars")),
                        )
                    })
                })
    };
    for key in ["reference", "description"] {
        let Some(source) = mapping.get_scalar(key) else {
            continue;
        };
        let Some(variables) = super::template::compile(source.as_str())
            .ok()
            .and_then(|compiled| super::template::variables(&compiled).ok())
        else {
            continue;
        };
        for name in variables
            .iter()
            .filter_map(|variable| variable.strip_prefix("vars."))
        {
            if !defined(name) {
                let rejection = super::scalar::Rejection {
                    message: format!("`{key}` reads `vars.{name}`, which no `vars` defines"),
                    help: format!("add `{name}` under `vars:`, or fix the name"),
                };
                found.reject(
                    file,
                    format!("/{key}"),
                    source,
                    "manifest::template-variable",
                    rejection,
                );
            }
        }
    }
}

/// Reports each recipient that lacks a `vars.NAME` one of its templates reads.
fn check_template_vars(
    manifest: &Lenient,
    all: &[(Recipient, Origin)],
    problems: &mut Vec<Problem>,
) {
    let needed = |source: &str| -> Vec<String> {
        super::template::compile(source)
            .ok()
            .and_then(|compiled| super::template::variables(&compiled).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|variable| variable.strip_prefix("vars.").map(str::to_owned))
            .filter(|name| !manifest.vars.contains_key(name))
            .filter(|name| {
                all.iter()
                    .any(|(recipient, _)| recipient.vars.contains_key(name))
            })
            .collect()
    };
    let reference = manifest
        .reference
        .as_deref()
        .map(needed)
        .unwrap_or_default();
    let description = manifest
        .description
        .as_deref()
        .map(needed)
        .unwrap_or_default();
    let mut reported: HashMap<String, usize> = HashMap::new();
    for (recipient, origin) in all {
        let own = recipient.description.as_deref().map(needed);
        let templates = [
            ("reference", &reference),
            ("description", own.as_ref().unwrap_or(&description)),
        ];
        for (key, names) in templates {
            for name in names
                .iter()
                .filter(|name| !recipient.vars.contains_key(*name))
            {
                let count = reported.entry(format!("{key}.{name}")).or_default();
                *count += 1;
                if *count <= MAX_REPEATS {
                    problems.push(
                        origin
                            .error(
                                "manifest::template-variable",
                                format!("recipient `{}` has no `vars.{name}`, which the `{key}` template reads", recipient.id),
                            )
                            .with_help(format!("define `{name}` under the manifest's `vars` or this recipient's `vars`")),
                    );
                }
            }
        }
    }
    for (template_var, count) in reported
        .into_iter()
        .filter(|(_, count)| *count > MAX_REPEATS)
    {
        if let Some((_, origin)) = all.last() {
            problems.push(origin.error(
                "manifest::template-variable",
                format!(
                    "{} more recipients lack the variable the `{template_var}` template reads",
                    count - MAX_REPEATS
                ),
            ));
        }
    }
}

/// True when a template outputs the `period` variable itself (`{{period}}`, `{{ period }}`),
/// not text or a variable that merely contains the word.
fn uses_period(template: &str) -> bool {
    template.split("{{").skip(1).any(|rest| {
        rest.split_once("}}").is_some_and(|(inside, _)| {
            inside.trim_matches(|c: char| c == '~' || c == '{' || c.is_whitespace()) == "period"
        })
    })
}

#[cfg(test)]
mod period_tests {
    use super::uses_period;

    #[test]
    fn period_variable_is_recognised() {
        assert!(uses_period("sal-{{period}}-{{id}}"));
        assert!(uses_period("sal-{{ period }}-{{id}}"));
        assert!(uses_period("sal-{{~period~}}"));
        assert!(!uses_period("pay-period-{{id}}"));
        assert!(!uses_period("{{vars.period}}-{{id}}"));
    }
}
