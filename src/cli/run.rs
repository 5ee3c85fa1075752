//! `payroll run`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub async fn run(args: RunArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("run")
}
