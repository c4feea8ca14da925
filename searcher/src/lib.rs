//! The docsearch searcher: k-nearest-neighbour, vector range, full-text and hybrid search with
//! structured filters, facets, document lookup and suggestions, over the indexes that the indexer
//! writes to Redis.
//!
//! - [`config`]: settings and their defaults.
//! - [`searcher`]: the [`Searcher`], with the Redis connection and the query limits. [`search`],
//!   [`get`] and [`suggest`] add its operations.
//! - [`request`]: validation of a Search request, first alone, then against the index schema.
//! - [`filter`]: compilation of `docsearch.v1.Filter` to escaped RediSearch query syntax.
//! - [`text_query`], [`fuzzy`] and [`spelling`]: the query syntax of text typed by people, and the
//!   corrections of its misspelled words.
//! - [`query`]: the RediSearch commands of each mode (KNN, RANGE, TEXT, HYBRID) and their hits.
//! - [`fusion`]: reciprocal rank and linear fusion of the HYBRID legs.
//! - [`facets`]: value counts with FT.AGGREGATE.
//! - [`hits`], [`highlight`], [`reply`]: hits from replies, snippets, and reply parsing.
//! - [`embedder`]: the model that embeds query text.
//! - [`service`]: the gRPC adapter of `SearchService`.
//! - [`error`]: the error type and its mapping to gRPC status codes.

pub mod config;
pub mod embedder;
pub mod error;
pub mod facets;
pub mod filter;
pub mod fusion;
pub mod fuzzy;
pub mod get;
pub mod highlight;
pub mod hits;
pub mod query;
pub mod reply;
pub mod request;
pub mod search;
pub mod searcher;
pub mod service;
pub mod spelling;
pub mod suggest;
pub mod text_query;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use anyhow::Context as _;
use docsearch_embed::SharedEmbedder;
use docsearch_proto::v1::search_service_server::SearchServiceServer;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::server::{GrpcServer, Readiness, bind};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::Routes;

use redis::aio::ConnectionManager;
use tracing::{info, warn};

use crate::config::SearcherConfig;
use crate::embedder::{ModelEmbedder, QueryEmbedder};
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
    let embedder = load_embedder(&embedding).await?;
    tokio::spawn(log_hybrid_path(connection.clone()));
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

/// Time the searcher waits at start to learn whether the server has FT.HYBRID.
const CAPABILITY_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the query embedder of the configuration; `None` when no model is configured.
async fn load_embedder(
    embedding: &docsearch_runtime::config::EmbeddingConfig,
) -> anyhow::Result<Option<Arc<dyn QueryEmbedder>>> {
    let Some(dir) = &embedding.model_dir else {
        info!("no embedding model configured; queries with text need a vector or mode TEXT");
        return Ok(None);
    };
    let model = SharedEmbedder::load(dir).await.with_context(|| {
        format!(
            "failed to load the embedding model from {} (embedding.model_dir)",
            dir.display()
        )
    })?;
    info!(
        model = model.model_name(),
        dimension = model.dimension(),
        model_dir = %dir.display(),
        "embedding model loaded"
    );
    Ok(Some(Arc::new(ModelEmbedder::new(model))))
}

/// Logs which path HYBRID queries take on this server. Both legs run and fuse in the searcher on every
/// server; Redis 8.4 and later could fuse with FT.HYBRID, which this searcher does not use.
async fn log_hybrid_path(mut connection: ConnectionManager) {
    let checked = tokio::time::timeout(
        CAPABILITY_CHECK_TIMEOUT,
        query::hybrid::native_hybrid_available(&mut connection),
    )
    .await;
    match checked {
        Ok(Ok(true)) => info!(
            "the server has FT.HYBRID, but HYBRID queries run both legs and fuse them in the searcher"
        ),
        Ok(Ok(false)) => info!(
            "the server has no FT.HYBRID (Redis 8.4 and later have it); HYBRID queries run both legs and fuse them in the searcher"
        ),
        Ok(Err(error)) => warn!(
            error = %error,
            "failed to check whether the server has FT.HYBRID; HYBRID queries fuse in the searcher"
        ),
        Err(_) => warn!(
            timeout = %humantime::format_duration(CAPABILITY_CHECK_TIMEOUT),
            "timed out checking whether the server has FT.HYBRID; HYBRID queries fuse in the searcher"
        ),
    }
}
