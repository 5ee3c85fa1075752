//! `payroll sandbox`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {}

pub async fn run(args: SandboxArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("sandbox")
}
