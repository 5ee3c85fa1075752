//! `payroll plan`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

pub async fn run(args: PlanArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("plan")
}
