//! Loading a manifest: bytes to text, YAML to nodes, the schema and semantic checks, the
//! recipients file, and the checks across recipients. Every problem is collected before
//! returning, in file order.

use std::path::Path;
use std::time::Instant;

use marked_yaml::Node;
use sha2::{Digest, Sha256};

use super::check::{self, Findings};
use super::cross::{Lenient, check_undefined_vars, cross_check};
use super::diagnostic::{Problem, SourceFile};
use super::recipients::{self, Origin};
use super::types::{Manifest, Recipient};
use super::{LoadedManifest, ManifestError, Templates, csv_file, schema, yaml};

/// Files larger than this are rejected before parsing: 256 MiB is far above a 100,000-recipient
/// manifest (about 10 MiB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

pub fn load(path: &Path) -> Result<LoadedManifest, ManifestError> {
    let display_name = path.display().to_string();
    let fail = |problem: Problem| Err(ManifestError::new(&display_name, vec![problem]));
    let empty = SourceFile::new(&display_name, String::new());

    match std::fs::metadata(path) {
        Ok(metadata) if metadata.len() > MAX_FILE_BYTES => {
            return fail(Problem::error(
                "manifest::io",
                &empty,
                0,
                0,
                format!(
                    "`{display_name}` is {} bytes, larger than the limit of {MAX_FILE_BYTES}",
                    metadata.len()
                ),
            ));
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return fail(
                Problem::error(
                    "manifest::io",
                    &empty,
                    0,
                    0,
                    format!("cannot read `{display_name}`: {error}"),
                )
                .with_help("check the path and the file's permissions"),
            );
        }
    };
    let mut hasher = Sha256::new();
    digest_part(&mut hasher, &bytes);
    let file = match super::decode(bytes) {
        Ok(text) => SourceFile::new(&display_name, text),
        Err((text, offset)) => {
            let file = SourceFile::new(&display_name, text);
            return fail(super::not_utf8(&file, offset));
        }
    };
    let started = Instant::now();
    let root = match yaml::parse(&file) {
        Ok(root) => root,
        Err(problem) => return fail(*problem),
    };
    let Node::Mapping(mapping) = &root else {
        return fail(Problem::error(
            "manifest::yaml",
            &file,
            0,
            0,
            "the manifest must be a YAML mapping",
        ));
    };

    tracing::debug!(elapsed = ?started.elapsed(), "parsed YAML");
    let mut found = Findings::default();
    let top = check::top_level(&file, mapping, &mut found);
    let mut all = recipients::from_yaml(&file, mapping, &mut found);
    check_undefined_vars(&file, mapping, &mut found);

    tracing::debug!(elapsed = ?started.elapsed(), "parsed YAML and read recipients");
    let yaml_count = all.len();
    let (schema_problems, value) = schema::check(&file, &root);
    tracing::debug!(elapsed = ?started.elapsed(), "checked the schema");
    for (pointer, problem) in schema_problems {
        // The pointer or one of its ancestors, looked up by prefix so that a file with an error on
        // every recipient stays linear.
        let covered = pointer
            .match_indices('/')
            .map(|(at, _)| &pointer[..at])
            .chain(std::iter::once(pointer.as_str()))
            .any(|prefix| found.covered.contains(prefix));
        if !covered {
            found.problems.push(problem);
        }
    }
    let mut problems = std::mem::take(&mut found.problems);
    sort(&mut problems);

    let recipients_file = mapping.get_scalar("recipients_file");
    let escapes = recipients_file.filter(|relative| {
        let given = Path::new(relative.as_str());
        given.is_absolute()
            || given
                .components()
                .any(|part| matches!(part, std::path::Component::ParentDir))
    });
    if let Some(relative) = escapes {
        // A manifest reviewed in a pull request must not pay from a file outside its repository.
        let (offset, len) = yaml::scalar_range(&file, relative);
        problems.push(
            Problem::error(
                "manifest::recipients-file",
                &file,
                offset,
                len,
                format!(
                    "`recipients_file` `{}` leaves the manifest's folder",
                    relative.as_str()
                ),
            )
            .with_help("name a CSV file in the manifest's folder or below it, without `..`"),
        );
        sort(&mut problems);
    }
    if let Some(relative) = recipients_file.filter(|_| escapes.is_none()) {
        let csv_path = path
            .parent()
            .unwrap_or(Path::new(""))
            .join(relative.as_str());
        let csv_display_name = csv_path.display().to_string();
        let mut csv_problems = Vec::new();
        match csv_file::read(&csv_path, &csv_display_name, &mut csv_problems) {
            Ok(read) => {
                digest_part(&mut hasher, &read.bytes);
                all.extend(read.recipients);
            }
            Err(error) => {
                let (offset, len) = yaml::scalar_range(&file, relative);
                problems.push(
                    Problem::error(
                        "manifest::recipients-file",
                        &file,
                        offset,
                        len,
                        format!("cannot read the recipients file `{csv_display_name}`: {error}"),
                    )
                    .with_help("the path is relative to the manifest's folder"),
                );
                sort(&mut problems);
            }
        }
        problems.extend(csv_problems);
    }

    let mut warnings = Vec::new();
    let lenient = Lenient::read(&value);
    cross_check(
        &file,
        mapping,
        &lenient,
        &all,
        &found.ids,
        &mut problems,
        &mut warnings,
    );

    if problems.iter().any(Problem::is_error) {
        return Err(ManifestError::new(&display_name, problems));
    }
    tracing::debug!(elapsed = ?started.elapsed(), "checked across recipients");
    let mut manifest: Manifest = match serde_json::from_value(value) {
        Ok(manifest) => manifest,
        Err(error) => {
            let problem = Problem::error(
                "manifest::internal",
                &file,
                0,
                0,
                format!("the manifest passed every check but could not be read: {error}"),
            );
            return Err(ManifestError::new(&display_name, vec![problem]));
        }
    };

    manifest.recipients = all[..yaml_count]
        .iter()
        .map(|(recipient, _)| recipient.clone())
        .collect();
    let (recipients, origins): (Vec<Recipient>, Vec<Origin>) = all.into_iter().unzip();
    let templates = Templates {
        reference: yaml::scalar_range(
            &file,
            mapping
                .get_scalar("reference")
                .ok_or_else(|| ManifestError::new(&display_name, Vec::new()))?,
        ),
        description: mapping
            .get_scalar("description")
            .map(|source| yaml::scalar_range(&file, source)),
        file: file.clone(),
    };
    tracing::debug!(elapsed = ?started.elapsed(), "loaded");
    Ok(LoadedManifest {
        path: path.to_path_buf(),
        digest: hex(hasher),
        manifest,
        recipients,
        warnings: cap_warnings(&file, warnings),
        fee_rate: top.fee_rate,
        origins,
        templates,
    })
}

/// Keeps the first `MAX_PROBLEMS` warnings and counts the rest in one last warning, for the same
/// reason `ManifestError` caps its problems.
fn cap_warnings(file: &SourceFile, mut warnings: Vec<Problem>) -> Vec<Problem> {
    if warnings.len() > super::MAX_PROBLEMS {
        let hidden = warnings.len() - super::MAX_PROBLEMS;
        warnings.truncate(super::MAX_PROBLEMS);
        let nowhere = SourceFile::new(file.name(), String::new());
        warnings.push(Problem::warning(
            "manifest::more-problems",
            &nowhere,
            0,
            0,
            format!("{hidden} more warnings in `{}` are not shown", file.name()),
        ));
    }
    warnings
}

fn sort(problems: &mut [Problem]) {
    problems.sort_by_key(|problem| problem.offset);
}

/// Feeds one file to the digest: its length as 8 little-endian bytes, then its bytes. The
/// digest is the SHA-256 of the manifest's part followed by the recipients file's part, and
/// the length prefixes keep two different file pairs from hashing the same bytes.
fn digest_part(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
