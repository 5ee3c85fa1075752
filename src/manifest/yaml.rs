//! YAML with positions: parsing through marked-yaml, scalar spans, conversion to JSON for the
//! schema check, and JSON-pointer lookups back to the source.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node, Span};

use super::diagnostic::{Problem, SourceFile};

/// Parses `file` into a node tree. Duplicate keys, anchors, aliases and tags are errors, so a
/// second `amount:` never wins silently and a few bytes of aliases cannot expand into gigabytes.
pub fn parse(file: &SourceFile) -> Result<Node, Box<Problem>> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true)
        .toplevel_mapping();
    marked_yaml::parse_yaml_with_options(0, file.text(), options)
        .map_err(|error| Box::new(load_error(file, error)))
}

fn load_error(file: &SourceFile, error: LoadError) -> Problem {
    let at = |marker: &marked_yaml::Marker| file.offset(marker.line(), marker.column());
    match error {
        LoadError::TopLevelMustBeMapping(marker) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml",
                file,
                offset,
                file.rest_of_line(offset),
                "the manifest must be a YAML mapping of keys such as `version`, `job` and `recipients`",
            )
            .with_help("start the file with `version: 1`")
        }
        LoadError::TopLevelMustBeSequence(marker) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml",
                file,
                offset,
                0,
                "unexpected YAML sequence",
            )
        }
        LoadError::UnexpectedAnchor(marker) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml-anchor",
                file,
                offset,
                file.rest_of_line(offset),
                "YAML anchors and aliases (`&name`, `*name`) are not allowed in a manifest",
            )
            .with_help("write each value out, so a reviewer sees every amount where it applies")
        }
        LoadError::MappingKeyMustBeScalar(marker) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml",
                file,
                offset,
                file.rest_of_line(offset),
                "a mapping key must be a plain name, not a list or a mapping",
            )
        }
        LoadError::UnexpectedTag(marker) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml-tag",
                file,
                offset,
                file.rest_of_line(offset),
                "YAML tags such as `!!str` are not allowed in a manifest",
            )
            .with_help("quote a value to make it a string")
        }
        LoadError::ScanError(marker, scan) => {
            let offset = at(&marker);
            Problem::error(
                "manifest::yaml",
                file,
                offset,
                1,
                format!("invalid YAML: {}", scan_message(&scan)),
            )
            .with_help("check the indentation and the quotes on this line and the one before")
        }
        LoadError::DuplicateKey(inner) => {
            let first = span_offset(file, inner.prev_key.span());
            let (first_line, _) = file.line_column(first);
            let offset = span_offset(file, inner.key.span());
            let key = inner.key.as_str();
            Problem::error(
                "manifest::duplicate-key",
                file,
                offset,
                key.len(),
                format!(
                    "key `{key}` is written twice in one mapping; the first is on line {first_line}"
                ),
            )
            .with_help("remove one of them: a manifest must not depend on which one wins")
        }
    }
}

/// Returns the scanner's own description without its position, which the diagnostic shows.
fn scan_message(scan: &impl std::fmt::Display) -> String {
    let text = scan.to_string();
    match text.split_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// Returns the byte offset where a node's span starts (0 when the parser gave none).
pub fn span_offset(file: &SourceFile, span: &Span) -> usize {
    span.start()
        .map_or(0, |marker| file.offset(marker.line(), marker.column()))
}

/// Returns the byte range of a scalar in the source: the quoted string with its quotes, or a
/// plain scalar up to a comment or the end of its first line.
pub fn scalar_range(file: &SourceFile, scalar: &MarkedScalarNode) -> (usize, usize) {
    let start = span_offset(file, scalar.span());
    let rest = file.text().get(start..).unwrap_or("");
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let len = match line.chars().next() {
        Some(quote @ ('"' | '\'')) => quoted_len(line, quote),
        _ => {
            // In block context a plain scalar ends before a comment or a `: ` that starts a
            // value, which is how a key's range stops at its colon.
            let mut end = line.find(" #").unwrap_or(line.len());
            end = end.min(line.find(": ").unwrap_or(line.len()));
            let text = line[..end].trim_end();
            text.strip_suffix(':').unwrap_or(text).len()
        }
    };
    (start, len)
}

fn quoted_len(line: &str, quote: char) -> usize {
    let mut chars = line.char_indices().skip(1).peekable();
    while let Some((index, ch)) = chars.next() {
        if quote == '"' && ch == '\\' {
            chars.next();
        } else if ch == quote {
            if quote == '\'' && chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                continue;
            }
            return index + 1;
        }
    }
    line.trim_end().len()
}

/// Returns the byte range of any node: a scalar's own text, or the first line of a collection.
pub fn node_range(file: &SourceFile, node: &Node) -> (usize, usize) {
    match node {
        Node::Scalar(scalar) => scalar_range(file, scalar),
        // A mapping's own span starts after its first key, so its first key marks it better.
        Node::Mapping(mapping) if !mapping.is_empty() => {
            let first = mapping
                .keys()
                .next()
                .map_or(0, |key| span_offset(file, key.span()));
            (first, file.rest_of_line(first))
        }
        other => {
            let start = span_offset(file, other.span());
            (start, file.rest_of_line(start))
        }
    }
}

/// Returns `true` when the scalar was written without quotes, so YAML reads it by its shape
/// (a number, a boolean, null) and not as a string.
pub fn is_plain(scalar: &MarkedScalarNode) -> bool {
    scalar.may_coerce()
}

/// Returns the JSON value a YAML 1.2 reader produces. Plain scalars become numbers, booleans or
/// null by their shape, and quoted ones stay strings.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Scalar(scalar) => {
            if is_plain(scalar) {
                plain_to_json(scalar.as_str())
            } else {
                Value::String(scalar.as_str().to_owned())
            }
        }
        Node::Sequence(sequence) => Value::Array(sequence.iter().map(to_json).collect()),
        Node::Mapping(mapping) => Value::Object(
            mapping
                .iter()
                .map(|(key, value)| (key.as_str().to_owned(), to_json(value)))
                .collect(),
        ),
    }
}

fn plain_to_json(text: &str) -> serde_json::Value {
    use serde_json::Value;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = parse_integer(text) {
        return number;
    }
    let looks_numeric = text
        .trim_start_matches(['+', '-'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_numeric
        && let Ok(float) = text.parse::<f64>()
        && let Some(number) = serde_json::Number::from_f64(float)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

fn parse_integer(text: &str) -> Option<serde_json::Value> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if let Ok(value) = digits.parse::<u64>() {
        return Some(value.into());
    }
    digits.parse::<i64>().ok().map(Into::into)
}

/// Finds the node at a JSON pointer such as `/recipients/3/amount`.
pub fn lookup<'a>(root: &'a Node, pointer: &str) -> Option<&'a Node> {
    let mut node = root;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match node {
            Node::Mapping(mapping) => mapping.get_node(&segment)?,
            Node::Sequence(sequence) => sequence.get_node(segment.parse().ok()?)?,
            Node::Scalar(_) => return None,
        };
    }
    Some(node)
}

/// Finds the key node of `name` in a mapping.
pub fn key<'a>(mapping: &'a MarkedMappingNode, name: &str) -> Option<&'a MarkedScalarNode> {
    mapping.keys().find(|key| key.as_str() == name)
}
