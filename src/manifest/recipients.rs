//! Recipients from the manifest's `recipients` list: each value read from its scalar, with the
//! place it was written so that later errors point at it.

use std::collections::BTreeMap;

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::check::{Findings, check_template};
use super::diagnostic::{Problem, SourceFile};
use super::scalar;
use super::types::Recipient;
use super::yaml;

/// Source location of a recipient: its entry in the manifest or its row in the recipients file.
#[derive(Clone, Debug)]
pub struct Origin {
    pub file: SourceFile,
    /// Byte range of the recipient's `id` value, or of its CSV row.
    pub offset: usize,
    pub len: usize,
    /// Byte range of the recipient's own `description` template, when it has one.
    pub description: Option<(usize, usize)>,
    /// Byte ranges of the `amount` and `msisdn` values, for cross checks.
    pub amount: (usize, usize),
    pub msisdn: (usize, usize),
}

impl Origin {
    pub fn error(&self, code: &'static str, message: impl Into<String>) -> Problem {
        Problem::error(code, &self.file, self.offset, self.len, message)
    }

    pub fn error_at(
        &self,
        range: (usize, usize),
        code: &'static str,
        message: impl Into<String>,
    ) -> Problem {
        Problem::error(code, &self.file, range.0, range.1, message)
    }
}

/// Reads the `recipients` sequence. Entries with problems are reported and left out.
pub fn from_yaml(
    file: &SourceFile,
    root: &MarkedMappingNode,
    found: &mut Findings,
) -> Vec<(Recipient, Origin)> {
    let Some(sequence) = root.get_sequence("recipients") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(sequence.len());
    for (index, node) in sequence.iter().enumerate() {
        if let Node::Mapping(entry) = node
            && let Some(recipient) = read_entry(file, index, entry, found)
        {
            out.push(recipient);
        }
    }
    out
}

fn read_entry(
    file: &SourceFile,
    index: usize,
    entry: &MarkedMappingNode,
    found: &mut Findings,
) -> Option<(Recipient, Origin)> {
    let pointer = |key: &str| format!("/recipients/{index}/{key}");
    let mut complete = true;

    let id = entry.get_scalar("id");
    if let Some(id) = id
        && yaml::is_plain(id)
        && id.as_str().bytes().all(|byte| byte.is_ascii_digit())
        && !id.as_str().is_empty()
    {
        let rejection = scalar::Rejection {
            message: format!(
                "`id` `{}` is not quoted, so YAML reads it as a number and drops leading zeros",
                id.as_str()
            ),
            help: format!("write it in double quotes: `id: \"{}\"`", id.as_str()),
        };
        found.reject(file, pointer("id"), id, "manifest::id", rejection);
        complete = false;
    }

    if let Some(id) = id {
        let (offset, len) = yaml::scalar_range(file, id);
        found.ids.push((id.as_str().to_owned(), offset, len));
        if complete && let Err(reason) = super::check_identifier(id.as_str()) {
            let rejection = scalar::Rejection {
                message: format!("`id` `{}` {reason}", id.as_str()),
                help: "write 1 to 64 characters of letters, digits, `-`, `_` and `.`".into(),
            };
            found.reject(file, pointer("id"), id, "manifest::id", rejection);
            complete = false;
        }
    }

    let msisdn = match entry.get_scalar("msisdn") {
        Some(node) => match scalar::msisdn(node) {
            Ok(msisdn) => Some((msisdn, yaml::scalar_range(file, node))),
            Err(rejection) => {
                found.reject(file, pointer("msisdn"), node, "manifest::msisdn", rejection);
                None
            }
        },
        None => None,
    };

    let amount = match entry.get_scalar("amount") {
        Some(node) => match scalar::whole_number("amount", node).and_then(check_amount_range) {
            Ok(amount) => Some((amount, yaml::scalar_range(file, node))),
            Err(rejection) => {
                found.reject(file, pointer("amount"), node, "manifest::amount", rejection);
                None
            }
        },
        None => None,
    };

    let description = entry.get_scalar("description");
    if let Some(source) = description {
        check_template(file, &pointer("description"), "description", source, found);
    }

    let vars = read_vars(entry.get_mapping("vars"));
    let name = entry
        .get_scalar("name")
        .map(|name| name.as_str().to_owned());
    let (Some(id), Some(name), Some((msisdn, msisdn_range)), Some((amount, amount_range)), true) =
        (id, name, msisdn, amount, complete)
    else {
        return None;
    };
    let (offset, len) = yaml::scalar_range(file, id);
    let origin = Origin {
        file: file.clone(),
        offset,
        len,
        description: description.map(|source| yaml::scalar_range(file, source)),
        amount: amount_range,
        msisdn: msisdn_range,
    };
    let recipient = Recipient {
        id: id.as_str().to_owned(),
        name,
        msisdn: msisdn.as_str().to_owned(),
        amount,
        description: description.map(|source| source.as_str().to_owned()),
        vars,
    };
    Some((recipient, origin))
}

fn read_vars(mapping: Option<&MarkedMappingNode>) -> BTreeMap<String, String> {
    mapping
        .map(|mapping| {
            mapping
                .iter()
                .filter_map(|(key, value)| {
                    let value = value.as_scalar()?;
                    Some((key.as_str().to_owned(), value.as_str().to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks an amount against the provider's per-transfer range, 5000 to 500000 XOF.
pub fn check_amount_range(amount: u64) -> Result<u64, scalar::Rejection> {
    let min = crate::money::MIN_TRANSFER.0;
    let max = crate::money::MAX_TRANSFER.0;
    let help = format!("the provider accepts {min} to {max} XOF per transfer");
    if amount < min {
        return Err(scalar::Rejection {
            message: format!("`amount` {amount} is below the minimum of {min} XOF"),
            help,
        });
    }
    if amount > max {
        return Err(scalar::Rejection {
            message: format!("`amount` {amount} is above the maximum of {max} XOF"),
            help,
        });
    }
    Ok(amount)
}
