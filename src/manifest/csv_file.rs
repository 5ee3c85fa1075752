//! Recipients from a CSV file beside the manifest (`recipients_file`), for teams that export
//! their payroll from a spreadsheet. Columns: `id,name,msisdn,amount`, and `description`
//! optionally, in any order, with a header row.

use std::path::Path;

use marked_yaml::Span;
use marked_yaml::types::MarkedScalarNode;

use super::diagnostic::{Problem, SourceFile};
use super::recipients::{Origin, check_amount_range};
use super::scalar;
use super::types::Recipient;

const REQUIRED: [&str; 4] = ["id", "name", "msisdn", "amount"];
const OPTIONAL: [&str; 1] = ["description"];

/// The recipients file as read: its bytes for the digest, and its recipients.
pub struct CsvRecipients {
    pub bytes: Vec<u8>,
    pub recipients: Vec<(Recipient, Origin)>,
}

/// Reads `path` (display_name to users as `display_name`); problems go to `problems`. The caller reports a
/// file that cannot be read at the manifest's `recipients_file` value.
pub fn read(
    path: &Path,
    display_name: &str,
    problems: &mut Vec<Problem>,
) -> std::io::Result<CsvRecipients> {
    let bytes = std::fs::read(path)?;
    let text = match super::decode(bytes.clone()) {
        Ok(text) => text,
        Err((text, offset)) => {
            let file = SourceFile::new(display_name, text);
            problems.push(super::not_utf8(&file, offset));
            return Ok(CsvRecipients {
                bytes,
                recipients: Vec::new(),
            });
        }
    };
    let file = SourceFile::new(display_name, text);
    let recipients = parse(&file, problems);
    Ok(CsvRecipients { bytes, recipients })
}

fn parse(file: &SourceFile, problems: &mut Vec<Problem>) -> Vec<(Recipient, Origin)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file.text().as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => {
            problems.push(Problem::error(
                "manifest::csv",
                file,
                0,
                file.rest_of_line(0),
                format!("invalid CSV header: {error}"),
            ));
            return Vec::new();
        }
    };
    let Some(columns) = columns(file, &headers, problems) else {
        return Vec::new();
    };

    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let offset = reader.position().byte() as usize;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if let Some(recipient) = row(file, offset, &record, &columns, problems) {
                    out.push(recipient);
                }
            }
            Err(error) => {
                let offset = error
                    .position()
                    .map_or(offset, |position| position.byte() as usize);
                problems.push(Problem::error(
                    "manifest::csv",
                    file,
                    offset,
                    file.rest_of_line(offset),
                    format!("invalid CSV row: {error}"),
                ));
                break;
            }
        }
    }
    out
}

/// Column positions of `id`, `name`, `msisdn`, `amount` and `description`.
struct Columns([usize; 4], Option<usize>);

fn columns(
    file: &SourceFile,
    headers: &csv::StringRecord,
    problems: &mut Vec<Problem>,
) -> Option<Columns> {
    let header_len = file.rest_of_line(0);
    let position = |name: &str| headers.iter().position(|header| header == name);
    let mut ok = true;
    for header in headers {
        if !REQUIRED.contains(&header) && !OPTIONAL.contains(&header) {
            problems.push(
                Problem::error(
                    "manifest::csv-header",
                    file,
                    0,
                    header_len,
                    format!("unknown column `{header}` in the header row"),
                )
                .with_help("the columns are `id,name,msisdn,amount` and optionally `description`"),
            );
            ok = false;
        }
    }
    let mut required = [0; 4];
    for (slot, name) in required.iter_mut().zip(REQUIRED) {
        match position(name) {
            Some(index) => *slot = index,
            None => {
                problems.push(
                    Problem::error(
                        "manifest::csv-header",
                        file,
                        0,
                        header_len,
                        format!("the header row has no `{name}` column"),
                    )
                    .with_help("the first row must name the columns: `id,name,msisdn,amount`"),
                );
                ok = false;
            }
        }
    }
    ok.then(|| Columns(required, position("description")))
}

fn row(
    file: &SourceFile,
    offset: usize,
    record: &csv::StringRecord,
    columns: &Columns,
    problems: &mut Vec<Problem>,
) -> Option<(Recipient, Origin)> {
    let line_len = file.rest_of_line(offset);
    let field = |index: usize| record.get(index).unwrap_or_default();
    let [id_at, name_at, msisdn_at, amount_at] = columns.0;
    let range_of = |value: &str| {
        let line = file
            .text()
            .get(offset..offset + line_len)
            .unwrap_or_default();
        match line.find(value) {
            Some(start) if !value.is_empty() => (offset + start, value.len()),
            _ => (offset, line_len),
        }
    };
    let mut fail = |column: &str, value: &str, code: &'static str, rejection: scalar::Rejection| {
        let (start, len) = range_of(value);
        problems.push(
            Problem::error(
                code,
                file,
                start,
                len,
                format!("column `{column}`: {}", rejection.message),
            )
            .with_help(rejection.help),
        );
    };

    let id = field(id_at);
    let name = field(name_at);
    let mut valid = true;
    if let Err(reason) = super::check_identifier(id) {
        let rejection = scalar::Rejection {
            message: format!("`id` `{id}` {reason}"),
            help: "write 1 to 64 characters of letters, digits, `-`, `_` and `.`".into(),
        };
        fail("id", id, "manifest::id", rejection);
        valid = false;
    }
    if name.is_empty() {
        let rejection = scalar::Rejection {
            message: "`name` is empty".into(),
            help: "write the recipient's full name".into(),
        };
        fail("name", name, "manifest::name", rejection);
        valid = false;
    }
    let msisdn = match scalar::parse_msisdn(field(msisdn_at)) {
        Ok(msisdn) => Some(msisdn),
        Err(rejection) => {
            fail("msisdn", field(msisdn_at), "manifest::msisdn", rejection);
            None
        }
    };
    let amount_text = field(amount_at);
    let mut amount_node = MarkedScalarNode::new(Span::new_blank(), amount_text);
    amount_node.set_coerce(true);
    let amount = match scalar::whole_number("amount", &amount_node).and_then(check_amount_range) {
        Ok(amount) => Some(amount),
        Err(rejection) => {
            fail("amount", amount_text, "manifest::amount", rejection);
            None
        }
    };
    let description = columns
        .1
        .map(|index| field(index).to_owned())
        .filter(|text| !text.is_empty());

    let (Some(msisdn), Some(amount), true) = (msisdn, amount, valid) else {
        return None;
    };
    let origin = Origin {
        file: file.clone(),
        offset,
        len: line_len,
        description: None,
        amount: range_of(amount_text),
        msisdn: range_of(field(msisdn_at)),
    };
    let recipient = Recipient {
        id: id.to_owned(),
        name: name.to_owned(),
        msisdn: msisdn.as_str().to_owned(),
        amount,
        description,
        vars: Default::default(),
    };
    Some((recipient, origin))
}
