//! The `searcher` binary: loads the configuration, sets up telemetry and runs the service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docsearch_embed::EmbedError;
use docsearch_runtime::config::ConfigError;
use docsearch_searcher::config::SearcherConfig;

/// Exit code for an invalid configuration (EX_CONFIG in sysexits.h).
const EXIT_CONFIG: u8 = 78;

/// docsearch searcher: KNN, vector range, full-text and hybrid search with filters, document lookup and
/// suggestions, over gRPC.
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
    let loaded =
        docsearch_runtime::config::load(&SearcherConfig::default(), args.config.as_deref());
    let config = match loaded.and_then(|config| config.validate().map(|()| config)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("searcher: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _telemetry =
        match docsearch_runtime::telemetry::init("docsearch-searcher", &config.telemetry) {
            Ok(guard) => guard,
            Err(error) => {
                eprintln!("searcher: failed to set up telemetry: {error:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };

    let shutdown = docsearch_runtime::server::shutdown_on_signal();
    match docsearch_searcher::run(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<EmbedError>() {
            // A model directory whose files are missing or unusable is an invalid
            // embedding.model_dir, like a directory that does not exist, which validate() rejects.
            Some(embed_error) => {
                eprintln!(
                    "searcher: {}",
                    ConfigError::invalid("embedding.model_dir", embed_error.to_string())
                );
                ExitCode::from(EXIT_CONFIG)
            }
            None => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "searcher stopped with an error"
                );
                ExitCode::FAILURE
            }
        },
    }
}
