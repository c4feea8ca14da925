//! The model behind an async interface for the services: inference runs on tokio's blocking thread pool,
//! one call at a time, because candle already spreads one batch over every core.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::Embedder;

/// A cheap-to-clone handle on a loaded model, shared by the tasks of a service.
#[derive(Clone)]
pub struct SharedEmbedder {
    embedder: Arc<Embedder>,
    model_name: Arc<str>,
    permits: Arc<Semaphore>,
}

impl SharedEmbedder {
    /// Loads the model from `model_dir` on the blocking pool.
    pub async fn load(model_dir: &Path) -> Result<Self, crate::EmbedError> {
        let dir = model_dir.to_owned();
        let embedder = match tokio::task::spawn_blocking(move || Embedder::load(&dir)).await {
            Ok(loaded) => loaded?,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        };
        Ok(Self::new(embedder))
    }

    /// Shares an already loaded model.
    pub fn new(embedder: Embedder) -> Self {
        Self {
            model_name: Arc::from(embedder.model_name()),
            embedder: Arc::new(embedder),
            permits: Arc::new(Semaphore::new(1)),
        }
    }

    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    pub fn dimension(&self) -> usize {
        self.embedder.dimension()
    }

    /// Embeds texts, returning one result per text in input order. When the batch fails as a whole, each
    /// text is retried alone so that one bad text fails alone.
    pub async fn embed_each(&self, texts: Vec<String>) -> Vec<Result<Vec<f32>, String>> {
        if texts.is_empty() {
            return Vec::new();
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return texts
                .iter()
                .map(|_| Err("the embedding model is shut down".to_owned()))
                .collect();
        };
        let num_texts = texts.len();
        let embedder = Arc::clone(&self.embedder);
        let joined = tokio::task::spawn_blocking(move || {
            let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
            match embedder.embed(&borrowed) {
                Ok(vectors) => vectors.into_iter().map(Ok).collect(),
                Err(_) => borrowed
                    .iter()
                    .map(|text| embedder.embed_one(text).map_err(|error| error.to_string()))
                    .collect(),
            }
        })
        .await;
        joined.unwrap_or_else(|error| {
            vec![Err(format!("the embedding task failed: {error}")); num_texts]
        })
    }
}
