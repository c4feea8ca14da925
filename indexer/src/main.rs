//! The `indexer` binary: loads the configuration, sets up telemetry and runs the service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docsearch_embed::EmbedError;
use docsearch_indexer::config::IndexerConfig;
use docsearch_runtime::config::ConfigError;

/// Exit code for an invalid configuration (EX_CONFIG in sysexits.h).
const EXIT_CONFIG: u8 = 78;

/// docsearch indexer: index administration and document ingestion over gRPC.
///
/// Settings come from defaults, then the TOML file given with --config, then environment variables
/// named DOCSEARCH__SECTION__KEY (for example DOCSEARCH__REDIS__URL).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "DOCSEARCH_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config =
        match docsearch_runtime::config::load(&IndexerConfig::default(), args.config.as_deref())
            .and_then(|config| config.validate().map(|()| config))
        {
            Ok(config) => config,
            Err(error) => {
                eprintln!("indexer: {error}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
    let _telemetry =
        match docsearch_runtime::telemetry::init("docsearch-indexer", &config.telemetry) {
            Ok(guard) => guard,
            Err(error) => {
                eprintln!("indexer: failed to set up telemetry: {error:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };

    let shutdown = docsearch_runtime::server::shutdown_on_signal();
    match docsearch_indexer::run(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<EmbedError>() {
            // A model directory whose files are missing or unusable is an invalid
            // embedding.model_dir, like a directory that does not exist, which validate() rejects.
            Some(embed_error) => {
                eprintln!(
                    "indexer: {}",
                    ConfigError::invalid("embedding.model_dir", embed_error.to_string())
                );
                ExitCode::from(EXIT_CONFIG)
            }
            None => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "indexer stopped with an error"
                );
                ExitCode::FAILURE
            }
        },
    }
}
