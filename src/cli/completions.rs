//! `payroll completions` and `payroll man`: shell completions and man pages, generated from the
//! same clap definitions as the parser, so they never drift from the real flags.

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;
use miette::miette;

use crate::cli::{Cli, exit};

/// Print a shell completion script on stdout.
///
/// Example: `payroll completions bash > ~/.local/share/bash-completion/completions/payroll`
///
/// For zsh, write it as `_payroll` in a folder of `$fpath`; for fish, as
/// `~/.config/fish/completions/payroll.fish`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) on stdout, or write one page per command into a folder.
///
/// Example: `payroll man | man -l -`, or `payroll man --out-dir /usr/local/share/man/man1`
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `payroll.1` and one `payroll-COMMAND.1` per command into this existing folder.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: CompletionsArgs) -> miette::Result<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "payroll", &mut script);
    write_stdout(&script)?;
    Ok(exit::OK)
}

pub fn run_man(args: ManArgs) -> miette::Result<u8> {
    let command = Cli::command();
    let Some(dir) = args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| miette!("could not render the man page: {e}"))?;
        write_stdout(&page)?;
        return Ok(exit::OK);
    };

    if !dir.is_dir() {
        return Err(miette!(
            help = "create the folder first, or leave `--out-dir` out to print the page",
            "`{}` is not a folder",
            dir.display()
        ));
    }
    clap_mangen::generate_to(command, &dir).map_err(|e| {
        miette!(
            help = "check that the folder is writable",
            "could not write the man pages into `{}`: {e}",
            dir.display()
        )
    })?;
    let mut written = String::new();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| miette!("could not list `{}`: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("payroll") && name.ends_with(".1"))
        })
        .collect();
    pages.sort();
    for page in pages {
        written.push_str(&format!("{}\n", page.display()));
    }
    write_stdout(written.as_bytes())?;
    Ok(exit::OK)
}

fn write_stdout(bytes: &[u8]) -> miette::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| miette!("could not write to stdout: {e}"))
}
