//! Checks the embedder against vectors recorded by reference/compute_reference.py, an
//! independent numpy implementation of the same model, and checks how loading fails.
//!
//! Tests that need the model read it from `DOCSEARCH_MODEL_DIR`, or else from
//! `$HOME/.cache/docsearch/all-MiniLM-L6-v2`. Without it they print a skip message and pass,
//! unless `DOCSEARCH_REQUIRE_ALL=1`, which makes them fail.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use docsearch_embed::{EmbedError, Embedder, EmbedderOptions, KNOWN_MODELS};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The largest difference allowed per vector component.
const TOLERANCE: f32 = 1e-5;

const REFERENCE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference.json");

/// The small files of a model directory, which the digest tests copy instead of the weights.
const SMALL_MODEL_FILES: [&str; 4] = [
    "config.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "1_Pooling/config.json",
];

#[derive(Debug, Deserialize)]
struct Reference {
    model: String,
    model_sha256: String,
    max_seq_length: usize,
    texts: Vec<ReferenceText>,
}

#[derive(Debug, Deserialize)]
struct ReferenceText {
    name: String,
    text: String,
    token_count: usize,
    untruncated_token_count: usize,
    embedding: Vec<f32>,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let json = fs::read_to_string(REFERENCE_FILE)
            .unwrap_or_else(|error| panic!("failed to read {REFERENCE_FILE}: {error}"));
        serde_json::from_str(&json)
            .unwrap_or_else(|error| panic!("invalid reference file {REFERENCE_FILE}: {error}"))
    })
}

fn reference_text(name: &str) -> &'static ReferenceText {
    reference()
        .texts
        .iter()
        .find(|text| text.name == name)
        .unwrap_or_else(|| panic!("{REFERENCE_FILE} has no text named {name}"))
}

/// Returns the model directory, or `None` after printing why the calling test is skipped.
///
/// Panics instead of skipping when `DOCSEARCH_REQUIRE_ALL=1`.
fn model_dir(test: &str) -> Option<PathBuf> {
    let configured = env::var_os("DOCSEARCH_MODEL_DIR").filter(|dir| !dir.is_empty());
    let dir = match configured {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/docsearch/all-MiniLM-L6-v2")
        }
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }

    let problem = format!(
        "the all-MiniLM-L6-v2 model is not in {} (fetch it with `scripts/provision.sh model` \
         and export the DOCSEARCH_MODEL_DIR that `scripts/provision.sh env` prints)",
        dir.display()
    );
    if env::var("DOCSEARCH_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{test}: DOCSEARCH_REQUIRE_ALL=1 but {problem}");
    }
    eprintln!("skipping {test}: {problem}");
    None
}

/// Returns the embedder shared by the tests of this file, loaded once.
fn embedder(test: &str) -> Option<&'static Embedder> {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    let dir = model_dir(test)?;
    Some(EMBEDDER.get_or_init(|| {
        Embedder::load(&dir).unwrap_or_else(|error| panic!("failed to load the model: {error}"))
    }))
}

/// Copies the small files of the model directory into a new temporary directory.
fn copy_small_model_files(model_dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("failed to create a temporary directory");
    for name in SMALL_MODEL_FILES {
        let target = copy.path().join(name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).expect("failed to create a directory in the copy");
        }
        fs::copy(model_dir.join(name), &target)
            .unwrap_or_else(|error| panic!("failed to copy {name}: {error}"));
    }
    copy
}

fn max_abs_difference(left: &[f32], right: &[f32]) -> (usize, f32) {
    assert_eq!(left.len(), right.len(), "vectors differ in length");
    left.iter()
        .zip(right)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .fold((0, 0.0), |max, (index, difference)| {
            if difference > max.1 {
                (index, difference)
            } else {
                max
            }
        })
}

fn l2_norm(vector: &[f32]) -> f32 {
    vector.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn dot(left: &[f32], right: &[f32]) -> f32 {
    left.iter().zip(right).map(|(a, b)| a * b).sum()
}

#[test]
fn reference_file_covers_hard_cases() {
    let reference = reference();
    assert_eq!(reference.model, "all-MiniLM-L6-v2");
    assert_eq!(reference.model_sha256, KNOWN_MODELS[0].weights_sha256);
    assert!(reference.texts.iter().any(|text| text.text.is_empty()));

    let longest = reference
        .texts
        .iter()
        .max_by_key(|text| text.untruncated_token_count)
        .expect("reference file has texts");
    assert!(longest.untruncated_token_count > reference.max_seq_length);
    assert_eq!(longest.token_count, reference.max_seq_length);
}

#[test]
fn embedder_reports_model_metadata() {
    let Some(embedder) = embedder("embedder_reports_model_metadata") else {
        return;
    };
    assert_eq!(embedder.model_name(), "all-MiniLM-L6-v2");
    assert_eq!(embedder.dimension(), 384);
    assert_eq!(embedder.max_sequence_length(), 256);
}

#[test]
fn embed_matches_reference_vectors() {
    let Some(embedder) = embedder("embed_matches_reference_vectors") else {
        return;
    };
    let texts: Vec<&str> = reference().texts.iter().map(|t| t.text.as_str()).collect();
    let vectors = embedder.embed(&texts).expect("embedding failed");

    assert_eq!(vectors.len(), texts.len());
    let mut overall = 0.0f32;
    for (expected, actual) in reference().texts.iter().zip(&vectors) {
        let (component, difference) = max_abs_difference(&expected.embedding, actual);
        eprintln!("{}: max |difference| {difference:.2e}", expected.name);
        assert!(
            difference <= TOLERANCE,
            "{}: component {component} differs by {difference:e}: expected {}, got {}",
            expected.name,
            expected.embedding[component],
            actual[component]
        );
        overall = overall.max(difference);
    }
    eprintln!("max |difference| over all reference texts: {overall:.2e}");
}

#[test]
fn embed_returns_unit_norm_vectors() {
    let Some(embedder) = embedder("embed_returns_unit_norm_vectors") else {
        return;
    };
    let texts: Vec<&str> = reference().texts.iter().map(|t| t.text.as_str()).collect();
    let vectors = embedder.embed(&texts).expect("embedding failed");

    for (text, vector) in reference().texts.iter().zip(&vectors) {
        assert_eq!(vector.len(), embedder.dimension(), "{}", text.name);
        let norm = l2_norm(vector);
        assert!(
            (norm - 1.0).abs() <= TOLERANCE,
            "{}: norm is {norm}",
            text.name
        );
    }
}

#[test]
fn embed_preserves_order_across_lengths() {
    let Some(embedder) = embedder("embed_preserves_order_across_lengths") else {
        return;
    };
    // Long and short texts alternate, so sorting by length reorders every one of them.
    let names = [
        "long_truncated",
        "single_word",
        "abstract",
        "empty",
        "unicode_tex",
        "short_sentence",
    ];
    let texts: Vec<&str> = names
        .iter()
        .map(|name| reference_text(name).text.as_str())
        .collect();
    let together = embedder.embed(&texts).expect("embedding failed");

    assert_eq!(together.len(), texts.len());
    for ((name, text), vector) in names.iter().zip(&texts).zip(&together) {
        let alone = embedder.embed_one(text).expect("embedding failed");
        let (component, difference) = max_abs_difference(&alone, vector);
        assert!(
            difference <= TOLERANCE,
            "{name}: component {component} differs by {difference:e} between batch and single"
        );
    }
}

#[test]
fn embed_small_batches_match_one_batch() {
    let Some(dir) = model_dir("embed_small_batches_match_one_batch") else {
        return;
    };
    let Some(one_batch) = embedder("embed_small_batches_match_one_batch") else {
        return;
    };
    let small_batches = Embedder::load_with(&dir, EmbedderOptions { batch_size: 3 })
        .expect("failed to load the model");
    let texts: Vec<&str> = reference().texts.iter().map(|t| t.text.as_str()).collect();

    let expected = one_batch.embed(&texts).expect("embedding failed");
    let actual = small_batches.embed(&texts).expect("embedding failed");

    assert_eq!(actual.len(), expected.len());
    for ((text, expected), actual) in reference().texts.iter().zip(&expected).zip(&actual) {
        let (component, difference) = max_abs_difference(expected, actual);
        assert!(
            difference <= TOLERANCE,
            "{}: component {component} differs by {difference:e}",
            text.name
        );
    }
}

#[test]
fn embed_empty_list_returns_empty_list() {
    let Some(embedder) = embedder("embed_empty_list_returns_empty_list") else {
        return;
    };
    let vectors = embedder.embed(&[]).expect("embedding failed");
    assert!(vectors.is_empty());
}

#[test]
fn embed_ranks_paraphrase_above_unrelated() {
    let Some(embedder) = embedder("embed_ranks_paraphrase_above_unrelated") else {
        return;
    };
    let sentence = embedder
        .embed_one("A man is eating food.")
        .expect("embedding failed");
    let paraphrase = embedder
        .embed_one("A man is eating a piece of bread.")
        .expect("embedding failed");
    let unrelated = embedder
        .embed_one("The central bank raised interest rates by a quarter point.")
        .expect("embedding failed");

    let related_similarity = dot(&sentence, &paraphrase);
    let unrelated_similarity = dot(&sentence, &unrelated);
    assert!(
        related_similarity > 0.7,
        "paraphrase similarity {related_similarity}"
    );
    assert!(
        unrelated_similarity < 0.2,
        "unrelated similarity {unrelated_similarity}"
    );
}

#[test]
fn load_rejects_wrong_digest() {
    let Some(dir) = model_dir("load_rejects_wrong_digest") else {
        return;
    };
    let copy = copy_small_model_files(&dir);
    let bogus_weights = b"not a safetensors file";
    let weights_path = copy.path().join("model.safetensors");
    fs::write(&weights_path, bogus_weights).expect("failed to write the bogus weights");

    let error = Embedder::load(copy.path()).expect_err("bogus weights were accepted");

    let message = error.to_string();
    let EmbedError::DigestMismatch {
        model,
        path,
        expected,
        found,
    } = error
    else {
        panic!("expected a digest mismatch, got: {message}");
    };
    assert_eq!(model, "all-MiniLM-L6-v2");
    assert_eq!(path, weights_path);
    assert_eq!(expected, KNOWN_MODELS[0].weights_sha256);
    assert_eq!(found, format!("{:x}", Sha256::digest(bogus_weights)));
    assert!(
        message.contains(&weights_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains(expected), "{message}");
    assert!(message.contains(&found), "{message}");
    assert!(message.contains("scripts/provision.sh model"), "{message}");
}

#[test]
fn load_rejects_unknown_model() {
    let Some(dir) = model_dir("load_rejects_unknown_model") else {
        return;
    };
    let copy = copy_small_model_files(&dir);
    fs::write(
        copy.path().join("model.safetensors"),
        b"weights of another model",
    )
    .expect("failed to write the bogus weights");
    // Twelve layers match no known model, so the digest cannot be blamed on a bad download.
    let config_path = copy.path().join("config.json");
    let config = fs::read_to_string(&config_path).expect("failed to read the copied config");
    let mut config: serde_json::Value = serde_json::from_str(&config).expect("invalid config");
    config["num_hidden_layers"] = 12.into();
    fs::write(&config_path, config.to_string()).expect("failed to write the config");

    let error = Embedder::load(copy.path()).expect_err("an unknown model was accepted");

    let message = error.to_string();
    assert!(
        matches!(error, EmbedError::UnknownModel { .. }),
        "expected an unknown model error, got: {message}"
    );
    for known in KNOWN_MODELS {
        assert!(message.contains(known.name), "{message}");
        assert!(message.contains(known.weights_sha256), "{message}");
    }
}

#[test]
fn load_reports_missing_directory() {
    let parent = tempfile::tempdir().expect("failed to create a temporary directory");
    let absent = parent.path().join("all-MiniLM-L6-v2");

    let error = Embedder::load(&absent).expect_err("a missing directory was accepted");

    let message = error.to_string();
    let EmbedError::MissingFiles { dir, missing } = error else {
        panic!("expected a missing files error, got: {message}");
    };
    assert_eq!(dir, absent);
    assert!(missing.contains(&"model.safetensors"), "{missing:?}");
    assert!(missing.contains(&"tokenizer.json"), "{missing:?}");
    assert!(message.contains(&absent.display().to_string()), "{message}");
    assert!(message.contains("scripts/provision.sh model"), "{message}");
}

#[test]
fn load_rejects_zero_batch_size() {
    let error = Embedder::load_with(Path::new("unused"), EmbedderOptions { batch_size: 0 })
        .expect_err("batch size 0 was accepted");
    assert!(
        matches!(error, EmbedError::InvalidOptions { .. }),
        "expected an invalid options error, got: {error}"
    );
}

#[test]
fn embedder_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Embedder>();
    assert_send_sync::<EmbedError>();
}
