//! `payroll apply`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {}

pub async fn run(args: ApplyArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("apply")
}
