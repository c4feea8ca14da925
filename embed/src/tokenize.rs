//! Loading the tokenizer with the padding and truncation that sentence-transformers uses.

use std::path::Path;

use tokenizers::{
    PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationDirection,
    TruncationParams, TruncationStrategy,
};

use crate::EmbedError;

/// A tokenizer that truncates each text on its own and a padding rule for batches.
pub(crate) struct TextTokenizer {
    /// Truncates to the model's max_seq_length and pads nothing.
    pub(crate) tokenizer: Tokenizer,
    /// Pads a batch to its longest sequence, with the pad token of tokenizer.json.
    pub(crate) batch_padding: PaddingParams,
}

/// Loads tokenizer.json and replaces its padding and truncation settings.
///
/// The tokenizer.json of all-MiniLM-L6-v2 pads to a fixed 128 tokens and truncates at 128,
/// but sentence-transformers pads each batch to its longest text and truncates at the model's
/// max_seq_length (256), counting `[CLS]` and `[SEP]`. The tokenizer here pads nothing, because
/// texts are tokenized once, sorted by length and then padded batch by batch.
pub(crate) fn load_tokenizer(
    path: &Path,
    max_seq_length: usize,
) -> Result<TextTokenizer, EmbedError> {
    let load_error = |source| EmbedError::TokenizerLoad {
        path: path.to_path_buf(),
        source,
    };

    let mut tokenizer = Tokenizer::from_file(path).map_err(load_error)?;
    let batch_padding = batch_longest_padding(tokenizer.get_padding());
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length: max_seq_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        }))
        .map_err(load_error)?;

    Ok(TextTokenizer {
        tokenizer,
        batch_padding,
    })
}

/// Keeps the pad token of the file's padding settings, if any, and pads to the longest text.
fn batch_longest_padding(file_padding: Option<&PaddingParams>) -> PaddingParams {
    let defaults = PaddingParams::default();
    let base = file_padding.unwrap_or(&defaults);
    PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        direction: PaddingDirection::Right,
        pad_to_multiple_of: None,
        pad_id: base.pad_id,
        pad_type_id: base.pad_type_id,
        pad_token: base.pad_token.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_padding_keeps_pad_token_of_fixed_padding() {
        let fixed = PaddingParams {
            strategy: PaddingStrategy::Fixed(128),
            pad_id: 7,
            pad_token: "<pad>".to_owned(),
            ..PaddingParams::default()
        };
        let padding = batch_longest_padding(Some(&fixed));
        assert!(matches!(padding.strategy, PaddingStrategy::BatchLongest));
        assert_eq!(padding.pad_id, 7);
        assert_eq!(padding.pad_token, "<pad>");
        assert_eq!(padding.pad_to_multiple_of, None);
    }

    #[test]
    fn batch_padding_defaults_to_bert_pad_token() {
        let padding = batch_longest_padding(None);
        assert!(matches!(padding.strategy, PaddingStrategy::BatchLongest));
        assert_eq!(padding.pad_id, 0);
        assert_eq!(padding.pad_token, "[PAD]");
    }
}
