use std::process::ExitCode;

fn main() -> ExitCode {
    payroll::cli::main()
}
