//! Models that this crate can load, identified by the SHA-256 digest of their weights.
//!
//! To support another BERT-style sentence-embedding model, add an entry to [`KNOWN_MODELS`]
//! with the digest of its `model.safetensors`.

/// A model that this crate has been verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The name that the services store in the index and compare with queries.
    pub name: &'static str,
    /// The length of the embedding vectors, equal to the BERT hidden size.
    pub dimension: usize,
    /// The number of transformer layers, used to recognise a model whose weights changed.
    pub hidden_layers: usize,
    /// The SHA-256 digest of `model.safetensors`, in lowercase hex.
    pub weights_sha256: &'static str,
}

/// All models that [`Embedder::load`](crate::Embedder::load) accepts.
pub const KNOWN_MODELS: &[KnownModel] = &[KnownModel {
    name: "all-MiniLM-L6-v2",
    dimension: 384,
    hidden_layers: 6,
    weights_sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}];

/// Finds the known model whose weights have this digest.
pub(crate) fn find_by_digest(sha256: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS
        .iter()
        .find(|model| model.weights_sha256 == sha256)
}

/// Finds the known model with this architecture, for reporting which digest was expected.
pub(crate) fn find_by_shape(
    hidden_size: usize,
    hidden_layers: usize,
) -> Option<&'static KnownModel> {
    KNOWN_MODELS
        .iter()
        .find(|model| model.dimension == hidden_size && model.hidden_layers == hidden_layers)
}

/// Lists every known model with its dimension and digest, for error messages.
pub(crate) fn describe_all() -> String {
    KNOWN_MODELS
        .iter()
        .map(|model| {
            format!(
                "{} (dimension {}, {} layers, SHA-256 {})",
                model.name, model.dimension, model.hidden_layers, model.weights_sha256
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_have_distinct_names_and_digests() {
        for (index, model) in KNOWN_MODELS.iter().enumerate() {
            for other in &KNOWN_MODELS[index + 1..] {
                assert_ne!(model.name, other.name);
                assert_ne!(model.weights_sha256, other.weights_sha256);
            }
        }
    }

    #[test]
    fn known_digests_are_lowercase_sha256_hex() {
        for model in KNOWN_MODELS {
            assert_eq!(model.weights_sha256.len(), 64, "{}", model.name);
            assert!(
                model
                    .weights_sha256
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{}",
                model.name
            );
        }
    }

    #[test]
    fn find_by_digest_returns_minilm() {
        let model = find_by_digest(KNOWN_MODELS[0].weights_sha256);
        assert_eq!(model.map(|m| m.name), Some("all-MiniLM-L6-v2"));
    }

    #[test]
    fn find_by_shape_rejects_other_architecture() {
        assert!(find_by_shape(768, 12).is_none());
        assert_eq!(find_by_shape(384, 6).map(|m| m.dimension), Some(384));
    }

    #[test]
    fn describe_all_lists_name_and_digest() {
        let description = describe_all();
        assert!(description.contains("all-MiniLM-L6-v2"));
        assert!(description.contains(KNOWN_MODELS[0].weights_sha256));
    }
}
