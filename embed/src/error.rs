//! The error type of this crate.

use std::io;
use std::path::PathBuf;

use crate::known_models;

/// The command that downloads the model into the default cache directory.
const FETCH_COMMAND: &str = "scripts/provision.sh model";

/// An error from loading the model or computing embeddings.
///
/// Each variant is a different failure, so callers can match on it: the model files
/// (missing, unreadable, invalid or not the expected ones), the tokenizer, or inference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// Files that the model needs are not in the model directory, or the directory does not exist.
    #[error(
        "model files not found in {}: {}; fetch the model with `{FETCH_COMMAND}` \
         or point the service at the directory that contains it",
        dir.display(),
        missing.join(", ")
    )]
    MissingFiles {
        /// The model directory as given to [`Embedder::load`](crate::Embedder::load).
        dir: PathBuf,
        /// The missing files, relative to `dir`.
        missing: Vec<&'static str>,
    },

    /// A model file exists but could not be read.
    #[error("failed to read model file {}: {source}", path.display())]
    ReadFailed {
        /// The file that could not be read.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },

    /// A configuration file is not valid JSON, lacks a field, or describes a model this crate
    /// cannot run.
    #[error("invalid model configuration {}: {reason}", path.display())]
    InvalidConfig {
        /// The configuration file.
        path: PathBuf,
        /// The problem found in the file, such as a missing field or a value out of range.
        reason: String,
    },

    /// The weights file belongs to a known model architecture, but its SHA-256 digest is not
    /// the published one, so the file is corrupt, truncated or replaced.
    #[error(
        "SHA-256 digest mismatch for {model} weights {}: expected {expected}, found {found}; \
         re-fetch the model with `{FETCH_COMMAND}`",
        path.display()
    )]
    DigestMismatch {
        /// The name of the model that the configuration describes.
        model: &'static str,
        /// The weights file.
        path: PathBuf,
        /// The digest of the published weights, in lowercase hex.
        expected: &'static str,
        /// The digest of the file on disk, in lowercase hex.
        found: String,
    },

    /// Neither the weights digest nor the architecture in the configuration matches an entry
    /// of [`KNOWN_MODELS`](crate::KNOWN_MODELS).
    #[error(
        "unknown model in {}: no known model has weights SHA-256 {found} or the architecture \
         in config.json; known models: {}",
        path.display(),
        known_models::describe_all()
    )]
    UnknownModel {
        /// The weights file.
        path: PathBuf,
        /// The digest of the file on disk, in lowercase hex.
        found: String,
    },

    /// The weights file is not valid safetensors, or lacks tensors that the model needs.
    #[error(
        "failed to load model weights {}: {source}; re-fetch the model with `{FETCH_COMMAND}`",
        path.display()
    )]
    InvalidWeights {
        /// The weights file.
        path: PathBuf,
        /// The error from candle.
        source: candle_core::Error,
    },

    /// tokenizer.json could not be parsed or configured.
    #[error(
        "failed to load tokenizer {}: {source}; re-fetch the model with `{FETCH_COMMAND}`",
        path.display()
    )]
    TokenizerLoad {
        /// The tokenizer file.
        path: PathBuf,
        /// The error from the tokenizers library.
        source: tokenizers::Error,
    },

    /// The tokenizer failed on an input text.
    #[error("failed to tokenize {count} input texts: {source}")]
    Tokenize {
        /// The number of texts in the failed call.
        count: usize,
        /// The error from the tokenizers library.
        source: tokenizers::Error,
    },

    /// The forward pass or the pooling failed.
    #[error(
        "inference failed on a batch of {batch_size} texts padded to {sequence_length} tokens: {source}"
    )]
    Inference {
        /// The number of texts in the failed batch.
        batch_size: usize,
        /// The padded token length of the failed batch.
        sequence_length: usize,
        /// The error from candle.
        source: candle_core::Error,
    },

    /// An [`EmbedderOptions`](crate::EmbedderOptions) value is out of range.
    #[error("invalid embedder options: {reason}")]
    InvalidOptions {
        /// The invalid option and the range it accepts.
        reason: String,
    },
}
