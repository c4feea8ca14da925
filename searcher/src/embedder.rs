//! The query embedder: turns the text of a query into a vector, with the model that embedded the
//! documents of the index.

use docsearch_embed::SharedEmbedder;
use futures::FutureExt as _;
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

/// The all-MiniLM-L6-v2 model of `docsearch-embed`, which runs on tokio's blocking pool.
pub struct ModelEmbedder {
    model: SharedEmbedder,
}

impl ModelEmbedder {
    pub fn new(model: SharedEmbedder) -> Self {
        Self { model }
    }
}

impl QueryEmbedder for ModelEmbedder {
    fn model_name(&self) -> &str {
        self.model.model_name()
    }

    fn dimension(&self) -> usize {
        self.model.dimension()
    }

    fn embed<'a>(&'a self, text: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<f32>>> {
        async move {
            let mut results = self.model.embed_each(vec![text.to_owned()]).await;
            match results.pop() {
                Some(Ok(values)) => Ok(values),
                Some(Err(message)) => Err(anyhow::anyhow!(message)),
                None => Err(anyhow::anyhow!("the model returned no vector for one text")),
            }
        }
        .boxed()
    }
}
