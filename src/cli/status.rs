//! `payroll status`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

pub async fn run(args: StatusArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("status")
}
