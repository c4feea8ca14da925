//! The query embedder: turns the text of a query into a vector, with the model that embedded the
//! documents of the index.

use futures::future::BoxFuture;

/// Message of the FAILED_PRECONDITION status for a text query on a searcher without a model.
pub const NO_MODEL_MESSAGE: &str = "text queries need an embedding model; set embedding.model_dir (DOCSEARCH__EMBEDDING__MODEL_DIR) or send a vector";

/// A sentence-embedding model that the searcher runs on query text.
pub trait QueryEmbedder: Send + Sync {
    /// Name of the model, compared with the model that a VECTOR field records.
    fn model_name(&self) -> &str;

    /// Number of values in each vector.
    fn dimension(&self) -> usize;

    /// Embeds one query text. Implementations run the model off the async runtime's worker threads.
    fn embed<'a>(&'a self, text: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<f32>>>;
}
