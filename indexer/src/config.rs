//! Indexer configuration: defaults that work against a local Redis, overridden by a TOML file and by
//! `DOCSEARCH__SECTION__KEY` environment variables.

use docsearch_runtime::config::{
    ConfigError, EmbeddingConfig, RedisConfig, ServerConfig, TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// Port the indexer listens on by default.
pub const DEFAULT_PORT: u16 = 50051;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexerConfig {
    pub server: ServerConfig,
    pub redis: RedisConfig,
    pub telemetry: TelemetryConfig,
    pub embedding: EmbeddingConfig,
    pub ingest: IngestConfig,
}

/// Limits on ingestion.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Documents in one Ingest batch or Upsert request.
    pub max_batch_documents: usize,
    /// Bytes of one document's field values and vectors together.
    pub max_document_bytes: usize,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            redis: RedisConfig::default(),
            telemetry: TelemetryConfig::default(),
            embedding: EmbeddingConfig::default(),
            ingest: IngestConfig::default(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_batch_documents: 1000,
            max_document_bytes: 4 * 1024 * 1024,
        }
    }
}

impl IndexerConfig {
    /// Checks every section; the error names the key and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.redis.validate()?;
        self.telemetry.validate()?;
        self.embedding.validate()?;
        if !(1..=100_000).contains(&self.ingest.max_batch_documents) {
            return Err(ConfigError::invalid(
                "ingest.max_batch_documents",
                format!(
                    "{} is out of range; use 1 to 100000",
                    self.ingest.max_batch_documents
                ),
            ));
        }
        if self.ingest.max_document_bytes < 1024
            || self.ingest.max_document_bytes > self.server.max_message_bytes
        {
            return Err(ConfigError::invalid(
                "ingest.max_document_bytes",
                format!(
                    "{} is out of range; use 1024 up to server.max_message_bytes ({})",
                    self.ingest.max_document_bytes, self.server.max_message_bytes
                ),
            ));
        }
        Ok(())
    }
}
