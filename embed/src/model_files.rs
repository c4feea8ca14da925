//! The files of a sentence-transformers model directory and the settings read from them.

use std::fs;
use std::path::{Path, PathBuf};

use candle_transformers::models::bert;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::EmbedError;

/// The weights, in safetensors format.
pub(crate) const WEIGHTS_FILE: &str = "model.safetensors";
/// The Hugging Face tokenizer definition.
pub(crate) const TOKENIZER_FILE: &str = "tokenizer.json";
/// The BERT architecture: layers, hidden size, activation.
pub(crate) const BERT_CONFIG_FILE: &str = "config.json";
/// The sentence-transformers settings, of which only `max_seq_length` is used.
const SENTENCE_CONFIG_FILE: &str = "sentence_bert_config.json";
/// The pooling settings of the sentence-transformers Pooling module.
const POOLING_CONFIG_FILE: &str = "1_Pooling/config.json";

const REQUIRED_FILES: [&str; 5] = [
    WEIGHTS_FILE,
    TOKENIZER_FILE,
    BERT_CONFIG_FILE,
    SENTENCE_CONFIG_FILE,
    POOLING_CONFIG_FILE,
];

/// A model directory whose required files all exist.
#[derive(Debug)]
pub(crate) struct ModelFiles {
    dir: PathBuf,
}

impl ModelFiles {
    /// Checks that every required file exists in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, EmbedError> {
        let missing: Vec<&'static str> = REQUIRED_FILES
            .into_iter()
            .filter(|name| !dir.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(EmbedError::MissingFiles {
                dir: dir.to_path_buf(),
                missing,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Returns the path of a file in the model directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads and checks the three configuration files.
    pub(crate) fn read_config(&self) -> Result<ModelConfig, EmbedError> {
        let bert: bert::Config = self.read_json(BERT_CONFIG_FILE)?;
        let sentence: SentenceConfig = self.read_json(SENTENCE_CONFIG_FILE)?;
        let pooling: PoolingConfig = self.read_json(POOLING_CONFIG_FILE)?;

        self.check_sequence_length(&bert, sentence.max_seq_length)?;
        self.check_pooling(&bert, &pooling)?;
        Ok(ModelConfig {
            bert,
            max_seq_length: sentence.max_seq_length,
        })
    }

    /// Reads the weights file and computes its SHA-256 digest.
    pub(crate) fn read_weights(&self) -> Result<Weights, EmbedError> {
        let path = self.path(WEIGHTS_FILE);
        let bytes = fs::read(&path).map_err(|source| EmbedError::ReadFailed {
            path: path.clone(),
            source,
        })?;
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        Ok(Weights {
            path,
            bytes,
            sha256,
        })
    }

    fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T, EmbedError> {
        let path = self.path(name);
        let bytes = fs::read(&path).map_err(|source| EmbedError::ReadFailed {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|error| EmbedError::InvalidConfig {
            path,
            reason: error.to_string(),
        })
    }

    fn check_sequence_length(
        &self,
        bert: &bert::Config,
        max_seq_length: usize,
    ) -> Result<(), EmbedError> {
        // [CLS] and [SEP] take two positions, so a shorter limit leaves no room for text.
        if max_seq_length < 3 || max_seq_length > bert.max_position_embeddings {
            return Err(EmbedError::InvalidConfig {
                path: self.path(SENTENCE_CONFIG_FILE),
                reason: format!(
                    "max_seq_length is {max_seq_length}, expected 3 to {} \
                     (max_position_embeddings in {BERT_CONFIG_FILE})",
                    bert.max_position_embeddings
                ),
            });
        }
        Ok(())
    }

    fn check_pooling(
        &self,
        bert: &bert::Config,
        pooling: &PoolingConfig,
    ) -> Result<(), EmbedError> {
        let path = self.path(POOLING_CONFIG_FILE);
        if !pooling.is_mean_only() {
            return Err(EmbedError::InvalidConfig {
                path,
                reason: "only mean pooling is supported: expected pooling_mode_mean_tokens true \
                         and every other pooling_mode_* false"
                    .to_owned(),
            });
        }
        if pooling.word_embedding_dimension != bert.hidden_size {
            return Err(EmbedError::InvalidConfig {
                path,
                reason: format!(
                    "word_embedding_dimension is {}, but hidden_size in {BERT_CONFIG_FILE} is {}",
                    pooling.word_embedding_dimension, bert.hidden_size
                ),
            });
        }
        Ok(())
    }
}

/// The settings of a model directory that the embedder uses.
#[derive(Debug)]
pub(crate) struct ModelConfig {
    /// The BERT architecture from `config.json`.
    pub(crate) bert: bert::Config,
    /// The token limit per text, including `[CLS]` and `[SEP]`, from `sentence_bert_config.json`.
    pub(crate) max_seq_length: usize,
}

/// The content of the weights file and its digest.
pub(crate) struct Weights {
    pub(crate) path: PathBuf,
    pub(crate) bytes: Vec<u8>,
    /// The SHA-256 digest of `bytes`, in lowercase hex.
    pub(crate) sha256: String,
}

#[derive(Debug, Deserialize)]
struct SentenceConfig {
    max_seq_length: usize,
}

#[derive(Debug, Deserialize)]
struct PoolingConfig {
    word_embedding_dimension: usize,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

impl PoolingConfig {
    fn is_mean_only(&self) -> bool {
        self.pooling_mode_mean_tokens
            && !self.pooling_mode_cls_token
            && !self.pooling_mode_max_tokens
            && !self.pooling_mode_mean_sqrt_len_tokens
            && !self.pooling_mode_weightedmean_tokens
            && !self.pooling_mode_lasttoken
    }
}
