//! `payroll schema`.

use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {}

pub async fn run(args: SchemaArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let _ = (args, global);
    unimplemented!("schema")
}
