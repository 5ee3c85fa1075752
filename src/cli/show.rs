//! `payroll show`: renders a saved plan for review, without the provider or state.

use std::io::Write;
use std::path::PathBuf;

use miette::miette;

use crate::cli::plan::Format;
use crate::cli::{GlobalArgs, exit};
use crate::plan::{PlanFile, render};

/// Show a plan saved by `payroll plan --out`, without contacting the provider or opening state.
///
/// The file's digest is checked first, so an altered plan is rejected rather than shown. The
/// digest printed is the one to pass to `payroll apply FILE --expect-digest`.
///
/// Example: `payroll show plan.json --format markdown > plan.md`
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The plan file, as written by `payroll plan --out`.
    pub plan_file: PathBuf,

    /// Output format; `json` adds `digest`, `created_at` and `manifest_path` to the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: ShowArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let file = PlanFile::read(&args.plan_file).map_err(|e| {
        miette!(
            help = "make the plan again with `payroll plan MANIFEST --out FILE`",
            "{e}"
        )
    })?;
    let body = render_file(&file, args.format, global.stdout_color())?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(body.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| miette!("could not write the plan to stdout: {e}"))?;
    Ok(exit::OK)
}

/// Renders a saved plan: the plan as `payroll plan` prints it, with where and when it was made.
pub fn render_file(file: &PlanFile, format: Format, color: bool) -> miette::Result<String> {
    let digest = Some(file.digest.as_str());
    let body = match format {
        Format::Text => format!(
            "Saved plan made {} from manifest `{}`\n\n{}",
            file.created_at,
            file.manifest_path,
            render::text_styled(&file.plan, digest, color)
        ),
        Format::Markdown => format!(
            "{}\n<sub>Saved plan made {} from manifest `{}`.</sub>\n",
            render::markdown(&file.plan, digest),
            file.created_at,
            file.manifest_path
        ),
        Format::Json => {
            let mut value = render::json(&file.plan, digest);
            if let Some(object) = value.as_object_mut() {
                object.insert("created_at".to_owned(), file.created_at.clone().into());
                object.insert(
                    "manifest_path".to_owned(),
                    file.manifest_path.clone().into(),
                );
            }
            let mut body = serde_json::to_string_pretty(&value)
                .map_err(|e| miette!("could not render the plan as JSON: {e}"))?;
            body.push('\n');
            body
        }
    };
    Ok(body)
}
