//! `payroll validate`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {}

pub async fn run(args: ValidateArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("validate")
}
