//! Sentence embeddings for docsearch, computed in pure Rust on the CPU.
//!
//! [`Embedder`] runs the all-MiniLM-L6-v2 sentence-transformers model with candle: BERT
//! over word pieces, mean pooling over the attention mask, then L2 normalisation, with the
//! padding and truncation that sentence-transformers uses. On the texts in
//! `tests/data/reference.json`, the vectors differ from those of an independent float64
//! implementation (`reference/compute_reference.py`) by at most 2.4e-7 per component.
//!
//! The indexer embeds documents that arrive without a vector and the searcher embeds query
//! text. Vectors of different models cannot be compared, so callers store
//! [`Embedder::model_name`] with the vectors they index and check it before a search.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let embedder = docsearch_embed::Embedder::load(Path::new("/models/all-MiniLM-L6-v2"))?;
//! let vectors = embedder.embed(&["first document", "second document"])?;
//! assert_eq!(vectors[0].len(), embedder.dimension());
//! # Ok::<(), docsearch_embed::EmbedError>(())
//! ```
//!
//! [`SharedEmbedder`] wraps a loaded model for async services.
//!
//! The model directory is the one that `scripts/provision.sh model` creates, by default
//! `~/.cache/docsearch/all-MiniLM-L6-v2`. Loading verifies the SHA-256 digest of the weights
//! against [`KNOWN_MODELS`].

mod embedder;
mod error;
mod known_models;
mod model_files;
mod pooling;
mod shared;
mod tokenize;

pub use embedder::{Embedder, EmbedderOptions};
pub use error::EmbedError;
pub use known_models::{KNOWN_MODELS, KnownModel};
pub use shared::SharedEmbedder;
