//! The `docsearch` binary: parses the command line, runs the command and maps the result to an
//! exit code (0 success, 1 failure, 2 usage error, 3 load with rejected or malformed records).

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use docsearch_cli::CliError;
use docsearch_cli::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match docsearch_cli::run(cli).await {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(CliError::Usage(message)) => Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit(),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
