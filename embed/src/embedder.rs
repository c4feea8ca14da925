//! The [`Embedder`]: loading a model directory and embedding texts in length-sorted batches.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::BertModel;
use tokenizers::{Encoding, pad_encodings};

use crate::EmbedError;
use crate::known_models::{self, KnownModel};
use crate::model_files::{BERT_CONFIG_FILE, ModelConfig, ModelFiles, TOKENIZER_FILE, Weights};
use crate::pooling::{l2_normalize, mean_pool};
use crate::tokenize::{TextTokenizer, load_tokenizer};

/// Settings for [`Embedder::load_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// The maximum number of texts in one forward pass. Must be at least 1. Default: 32.
    pub batch_size: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self { batch_size: 32 }
    }
}

/// A sentence-embedding model loaded on the CPU.
///
/// Embedding is CPU-bound and blocks for milliseconds to seconds, so async callers run it on a
/// blocking thread (for example `tokio::task::spawn_blocking` with an `Arc<Embedder>`). The
/// type is `Send + Sync`. candle runs matrix products on the global rayon thread pool, whose
/// size `RAYON_NUM_THREADS` sets, so concurrent calls share those threads.
pub struct Embedder {
    model: BertModel,
    tokenizer: TextTokenizer,
    known: &'static KnownModel,
    max_sequence_length: usize,
    batch_size: usize,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Embedder")
            .field("model", &self.known.name)
            .field("dimension", &self.known.dimension)
            .field("max_sequence_length", &self.max_sequence_length)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model in `model_dir` with default [`EmbedderOptions`].
    ///
    /// See [`Embedder::load_with`] for what loading checks.
    pub fn load(model_dir: &Path) -> Result<Embedder, EmbedError> {
        Self::load_with(model_dir, EmbedderOptions::default())
    }

    /// Loads the model in `model_dir`, a sentence-transformers directory with `config.json`,
    /// `sentence_bert_config.json`, `1_Pooling/config.json`, `tokenizer.json` and
    /// `model.safetensors`.
    ///
    /// Verifies the SHA-256 digest of `model.safetensors` against
    /// [`KNOWN_MODELS`](crate::KNOWN_MODELS), then loads the weights as F32 on the CPU. A
    /// release build loads all-MiniLM-L6-v2 in about 0.2 s on two cores, digest included, as
    /// measured by `benches/throughput.rs`.
    ///
    /// # Errors
    ///
    /// [`EmbedError::MissingFiles`] when the directory or a file in it does not exist,
    /// [`EmbedError::DigestMismatch`] or [`EmbedError::UnknownModel`] when the weights are not
    /// those of a known model, and the other variants when a file is unreadable or invalid.
    pub fn load_with(model_dir: &Path, options: EmbedderOptions) -> Result<Embedder, EmbedError> {
        check_options(&options)?;
        let started = Instant::now();

        let files = ModelFiles::open(model_dir)?;
        let config = files.read_config()?;
        let weights = files.read_weights()?;
        let known = identify_model(&weights, &config, &files)?;
        let tokenizer = load_tokenizer(&files.path(TOKENIZER_FILE), config.max_seq_length)?;
        let device = Device::Cpu;
        let model = load_model(weights, &config, &device)?;

        tracing::info!(
            model = known.name,
            dir = %model_dir.display(),
            dimension = known.dimension,
            max_sequence_length = config.max_seq_length,
            batch_size = options.batch_size,
            elapsed_ms = started.elapsed().as_millis(),
            "loaded embedding model"
        );
        Ok(Embedder {
            model,
            tokenizer,
            known,
            max_sequence_length: config.max_seq_length,
            batch_size: options.batch_size,
            device,
        })
    }

    /// Returns the model name, for example "all-MiniLM-L6-v2".
    pub fn model_name(&self) -> &str {
        self.known.name
    }

    /// Returns the length of every embedding vector, 384 for all-MiniLM-L6-v2.
    pub fn dimension(&self) -> usize {
        self.known.dimension
    }

    /// Returns the token limit per text, including the `[CLS]` and `[SEP]` tokens. Longer texts
    /// are truncated to it, as sentence-transformers does.
    pub fn max_sequence_length(&self) -> usize {
        self.max_sequence_length
    }

    /// Computes one L2-normalised embedding per text, in the order of `texts`.
    ///
    /// Texts are tokenized, sorted by token count and run in batches of at most
    /// `batch_size`, so that each batch is padded only to its own longest text. An empty
    /// list returns an empty list, and an empty string gets a vector like any other text.
    ///
    /// # Errors
    ///
    /// [`EmbedError::Tokenize`] or [`EmbedError::Inference`]; no vectors are returned then.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();

        let mut encodings = self.tokenize(texts)?;
        let order = indices_by_length(&encodings);
        let mut vectors = vec![Vec::new(); texts.len()];
        for batch_indices in order.chunks(self.batch_size) {
            let batch: Vec<Encoding> = batch_indices
                .iter()
                .map(|&index| std::mem::take(&mut encodings[index]))
                .collect();
            let batch_vectors = self.embed_batch(batch)?;
            for (&index, vector) in batch_indices.iter().zip(batch_vectors) {
                vectors[index] = vector;
            }
        }

        tracing::debug!(
            texts = texts.len(),
            batches = order.len().div_ceil(self.batch_size),
            elapsed_ms = started.elapsed().as_millis(),
            "embedded texts"
        );
        Ok(vectors)
    }

    /// Computes the L2-normalised embedding of one text.
    ///
    /// # Errors
    ///
    /// As [`Embedder::embed`].
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.embed(&[text])?;
        Ok(vectors
            .pop()
            .expect("embed returns one vector per input text"))
    }

    /// Tokenizes each text on its own, truncated and without padding.
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Encoding>, EmbedError> {
        self.tokenizer
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|source| EmbedError::Tokenize {
                count: texts.len(),
                source,
            })
    }

    /// Pads one batch to its longest text and returns its embeddings in batch order.
    fn embed_batch(&self, mut batch: Vec<Encoding>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let batch_size = batch.len();
        pad_encodings(&mut batch, &self.tokenizer.batch_padding).map_err(|source| {
            EmbedError::Tokenize {
                count: batch_size,
                source,
            }
        })?;
        let sequence_length = batch.first().map_or(0, Encoding::len);

        self.run_model(&batch, sequence_length)
            .map_err(|source| EmbedError::Inference {
                batch_size,
                sequence_length,
                source,
            })
    }

    /// Runs BERT on padded encodings of equal length, then pools and normalises.
    fn run_model(
        &self,
        batch: &[Encoding],
        sequence_length: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let shape = (batch.len(), sequence_length);
        let token_ids: Vec<u32> = batch.iter().flat_map(|e| e.get_ids()).copied().collect();
        let attention_mask: Vec<u32> = batch
            .iter()
            .flat_map(|e| e.get_attention_mask())
            .copied()
            .collect();

        let token_ids = Tensor::from_vec(token_ids, shape, &self.device)?;
        let attention_mask = Tensor::from_vec(attention_mask, shape, &self.device)?;
        // Every text is a single segment, so all token type ids are 0.
        let token_type_ids = token_ids.zeros_like()?;

        let hidden = self
            .model
            .forward(&token_ids, &token_type_ids, Some(&attention_mask))?;
        let pooled = mean_pool(&hidden, &attention_mask)?;
        l2_normalize(&pooled)?.to_vec2::<f32>()
    }
}

fn check_options(options: &EmbedderOptions) -> Result<(), EmbedError> {
    if options.batch_size == 0 {
        return Err(EmbedError::InvalidOptions {
            reason: "batch_size is 0, expected at least 1".to_owned(),
        });
    }
    Ok(())
}

/// Matches the weights digest to a known model and checks that the configuration agrees.
fn identify_model(
    weights: &Weights,
    config: &ModelConfig,
    files: &ModelFiles,
) -> Result<&'static KnownModel, EmbedError> {
    let hidden_size = config.bert.hidden_size;
    let hidden_layers = config.bert.num_hidden_layers;

    let Some(known) = known_models::find_by_digest(&weights.sha256) else {
        // Weights of a known architecture with another digest are most likely a corrupt or
        // partial download, so name the digest that was expected.
        return Err(
            match known_models::find_by_shape(hidden_size, hidden_layers) {
                Some(expected) => EmbedError::DigestMismatch {
                    model: expected.name,
                    path: weights.path.clone(),
                    expected: expected.weights_sha256,
                    found: weights.sha256.clone(),
                },
                None => EmbedError::UnknownModel {
                    path: weights.path.clone(),
                    found: weights.sha256.clone(),
                },
            },
        );
    };

    if known.dimension != hidden_size || known.hidden_layers != hidden_layers {
        return Err(EmbedError::InvalidConfig {
            path: files.path(BERT_CONFIG_FILE),
            reason: format!(
                "hidden_size is {hidden_size} and num_hidden_layers is {hidden_layers}, \
                 but the weights are those of {}, which has {} and {}",
                known.name, known.dimension, known.hidden_layers
            ),
        });
    }
    Ok(known)
}

/// Builds the BERT model from the weights, which are dropped once copied into tensors.
fn load_model(
    weights: Weights,
    config: &ModelConfig,
    device: &Device,
) -> Result<BertModel, EmbedError> {
    let Weights { path, bytes, .. } = weights;
    let invalid = |source| EmbedError::InvalidWeights {
        path: path.clone(),
        source,
    };
    let variables =
        VarBuilder::from_buffered_safetensors(bytes, DType::F32, device).map_err(invalid)?;
    BertModel::load(variables, &config.bert).map_err(invalid)
}

/// Returns the indices of `encodings` sorted by token count, shortest first.
///
/// The sort is stable, so texts of equal length keep their input order.
fn indices_by_length(encodings: &[Encoding]) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..encodings.len()).collect();
    indices.sort_by_key(|&index| encodings[index].len());
    indices
}
