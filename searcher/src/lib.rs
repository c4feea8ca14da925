//! The docsearch searcher: k-nearest-neighbour search with structured filters, and document lookup, over
//! the indexes that the indexer writes to Redis.
//!
//! - [`config`]: settings and their defaults.
//! - [`searcher`]: the [`Searcher`], with the Redis connection and the query limits. [`search`] and
//!   [`get`] add its two operations.
//! - [`request`]: validation of a Search request, first alone, then against the index schema.
//! - [`filter`]: compilation of `docsearch.v1.Filter` to escaped RediSearch query syntax.
//! - [`knn`]: the FT.SEARCH commands of a KNN query and the hits built from their replies.
//! - [`reply`]: parsing of FT.SEARCH replies.
//! - [`embedder`]: the interface of the model that embeds query text.
//! - [`service`]: the gRPC adapter of `SearchService`.
//! - [`error`]: the error type and its mapping to gRPC status codes.

pub mod config;
pub mod embedder;
pub mod error;
pub mod filter;
pub mod get;
pub mod knn;
pub mod reply;
pub mod request;
pub mod search;
pub mod searcher;
pub mod service;

use std::sync::Arc;

use anyhow::Context as _;
use docsearch_proto::v1::search_service_server::SearchServiceServer;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::server::{GrpcServer, Readiness, bind};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::Routes;
use tracing::{info, warn};

use crate::config::SearcherConfig;
use crate::embedder::QueryEmbedder;
pub use crate::error::SearchError;
pub use crate::searcher::Searcher;
use crate::service::SearchHandler;

/// Runs the searcher on `config.server.listen_addr` until `shutdown` is cancelled and in-flight
/// requests finish.
pub async fn run(config: SearcherConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = bind(config.server.listen_addr).await?;
    serve(config, listener, shutdown).await
}

/// Runs the searcher on a bound listener, such as one on port 0 in tests. The listen address of the
/// configuration is ignored.
pub async fn serve(
    config: SearcherConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let SearcherConfig {
        server,
        redis,
        telemetry: _,
        embedding,
        search,
    } = config;

    let layout = KeyLayout::new(&redis.namespace)?;
    let connection =
        connection::connect(&redis).context("failed to set up the Redis connection")?;
    let catalog = Catalog::new(connection.clone(), layout);
    let embedder = load_embedder(&embedding);
    info!(
        max_k = search.max_k,
        max_window = search.max_window,
        query_timeout = %humantime::format_duration(search.query_timeout),
        "search limits"
    );

    let searcher = Searcher::new(catalog, connection.clone(), search, embedder);
    let service = SearchServiceServer::new(SearchHandler::new(searcher))
        .max_decoding_message_size(server.max_message_bytes);

    GrpcServer {
        name: "searcher",
        listener,
        routes: Routes::new(service),
        health_services: vec![<SearchServiceServer<SearchHandler> as NamedService>::NAME],
        readiness: Readiness {
            connection,
            url: redis.redacted_url(),
        },
        config: server,
        shutdown,
    }
    .run()
    .await
}

/// Returns the query embedder of the configuration.
fn load_embedder(
    embedding: &docsearch_runtime::config::EmbeddingConfig,
) -> Option<Arc<dyn QueryEmbedder>> {
    match &embedding.model_dir {
        // TODO: load the model with docsearch-embed once the searcher depends on it.
        Some(dir) => {
            warn!(
                model_dir = %dir.display(),
                "this searcher cannot load embedding models yet; text queries fail with FAILED_PRECONDITION"
            );
            None
        }
        None => {
            info!("no embedding model configured; queries must carry vectors");
            None
        }
    }
}
