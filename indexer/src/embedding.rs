//! The embedding model behind an async interface: inference runs on the blocking thread pool, one call
//! at a time, because the model already uses every core for one batch.

use std::path::Path;
use std::sync::Arc;

use docsearch_embed::Embedder;
use tokio::sync::Semaphore;

/// A shared handle on the loaded model.
#[derive(Clone)]
pub struct TextEmbedder {
    embedder: Arc<Embedder>,
    model_name: Arc<str>,
    permits: Arc<Semaphore>,
}

impl TextEmbedder {
    /// Loads the model from `model_dir` on the blocking pool.
    pub async fn load(model_dir: &Path) -> anyhow::Result<Self> {
        let dir = model_dir.to_owned();
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&dir)).await??;
        Ok(Self {
            model_name: Arc::from(embedder.model_name()),
            embedder: Arc::new(embedder),
            permits: Arc::new(Semaphore::new(1)),
        })
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
