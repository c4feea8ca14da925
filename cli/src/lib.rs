//! `docsearch`, the operator's command-line client of the docsearch indexer and searcher.
//!
//! - [`cli`]: the command-line grammar (clap) and the parsers of option values.
//! - [`commands`]: one module per command group: `index`, `load`, `search`, and `lookup` for
//!   `suggest` and `get`.
//! - [`input`]: record readers for JSON lines and JSON documents, and the converters from records to
//!   documents (`arxiv`, and `mapping` for mapping files).
//! - [`ingest`]: the Ingest stream of a load, with batches in flight and acknowledgements read
//!   concurrently.
//! - [`progress`]: load counters, the progress bar on a terminal and progress lines elsewhere.
//! - [`connect`]: gRPC channels to the services, and connection errors that name the address and
//!   how to start the service.
//! - [`output`]: tables, field values, proto3 JSON and status codes for the terminal.
//! - [`error`]: the error type and the exit codes.

pub mod cli;
pub mod commands;
pub mod connect;
pub mod error;
pub mod ingest;
pub mod input;
pub mod output;
pub mod progress;

pub use error::{CliError, Outcome};

/// Runs one parsed command line.
pub async fn run(cli: cli::Cli) -> Result<Outcome, CliError> {
    let cli::Cli {
        indexer,
        searcher,
        timeout,
        command,
    } = cli;
    let services = connect::Services {
        indexer,
        searcher,
        timeout: std::time::Duration::from_secs(timeout),
    };
    match command {
        cli::Command::Index(args) => commands::index::run(&services, args).await,
        cli::Command::Load(args) => commands::load::run(&services, args).await,
        cli::Command::Search(args) => commands::search::run(&services, args).await,
        cli::Command::Suggest(args) => commands::lookup::suggest(&services, args).await,
        cli::Command::Get(args) => commands::lookup::get(&services, args).await,
    }
}
