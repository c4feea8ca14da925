//! The docsearch indexer: creates and drops indexes, and writes documents and their embedding vectors
//! into Redis, where RediSearch indexes them.
//!
//! - [`config`]: settings and their defaults.
//! - [`document`]: validation and encoding of one document against its index schema.
//! - [`ingest`]: batch writes and deletes, with per-document errors and embedding of missing vectors.
//! - [`suggestions`]: the suggestion dictionary kept in step with the documents.
//! - [`service`]: the gRPC adapters of `IndexService` and `IngestService`.
//! - [`error`]: the error type and its mapping to gRPC status codes.

pub mod config;
pub mod document;
pub mod error;
pub mod ingest;
pub mod service;
pub mod suggestions;

use anyhow::Context as _;
use docsearch_proto::v1::index_service_server::IndexServiceServer;
use docsearch_proto::v1::ingest_service_server::IngestServiceServer;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::server::{GrpcServer, Readiness, bind};
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::Routes;
use tracing::info;

use crate::config::IndexerConfig;
use crate::ingest::Ingestor;
use crate::service::admin::IndexAdmin;
use crate::service::ingest::IngestHandler;
use docsearch_embed::SharedEmbedder;

/// Runs the indexer until `shutdown` is cancelled and in-flight batches are acknowledged.
pub async fn run(config: IndexerConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let IndexerConfig {
        server,
        redis,
        telemetry: _,
        embedding,
        ingest,
    } = config;

    let layout = KeyLayout::new(&redis.namespace)?;
    let connection =
        connection::connect(&redis).context("failed to set up the Redis connection")?;
    let catalog = Catalog::new(connection.clone(), layout);
    let embedder = match &embedding.model_dir {
        Some(dir) => {
            let embedder = SharedEmbedder::load(dir).await.with_context(|| {
                format!("failed to load the embedding model from {}", dir.display())
            })?;
            info!(
                model = embedder.model_name(),
                dimension = embedder.dimension(),
                "embedding model loaded"
            );
            Some(embedder)
        }
        None => {
            info!("no embedding model configured; documents must carry their vectors");
            None
        }
    };

    let max_message_bytes = server.max_message_bytes;
    let admin = IndexServiceServer::new(IndexAdmin::new(catalog.clone(), embedder.clone()))
        .max_decoding_message_size(max_message_bytes);
    let ingestor = Ingestor::new(catalog, connection.clone(), embedder, ingest);
    let ingest = IngestServiceServer::new(IngestHandler::new(ingestor, shutdown.clone()))
        .max_decoding_message_size(max_message_bytes);

    let listener = bind(server.listen_addr).await?;
    GrpcServer {
        name: "indexer",
        listener,
        routes: Routes::new(admin).add_service(ingest),
        health_services: vec![
            <IndexServiceServer<IndexAdmin> as NamedService>::NAME,
            <IngestServiceServer<IngestHandler> as NamedService>::NAME,
        ],
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
