//! Measures embedding throughput on arXiv abstracts, with and without length-sorted batching,
//! and the latency of one short sentence.
//!
//! Run with `cargo bench -p docsearch-embed`. Environment variables:
//! - `DOCSEARCH_MODEL_DIR`: the model directory (default `$HOME/.cache/docsearch/all-MiniLM-L6-v2`)
//! - `DOCSEARCH_ARXIV_SAMPLE`: a JSON Lines file whose records have an "abstract" field
//!   (default `DEFAULT_SAMPLE`)
//! - `DOCSEARCH_BENCH_DOCS`: the number of abstracts to embed (default 256)
//!
//! The unsorted baseline calls `embed` once per `batch_size` abstracts in file order, so each
//! forward pass pads to the longest abstract of that slice, as a batcher without sorting does.

use std::env;
use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docsearch_embed::{Embedder, EmbedderOptions};

const DEFAULT_SAMPLE: &str = "/work/shared/data/arxiv/arxiv-sample.jsonl";
const DEFAULT_DOCS: usize = 256;
const SHORT_SENTENCE: &str = "A man is eating food.";
const SHORT_SENTENCE_RUNS: u32 = 50;

type BenchResult<T> = Result<T, Box<dyn Error>>;

fn main() -> BenchResult<()> {
    let Some(model_dir) = model_dir() else {
        return Ok(());
    };
    let sample = env::var_os("DOCSEARCH_ARXIV_SAMPLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SAMPLE));
    if !sample.is_file() {
        println!(
            "skipping the throughput benchmark: abstracts file {} not found \
             (set DOCSEARCH_ARXIV_SAMPLE to a JSON Lines file with an \"abstract\" field)",
            sample.display()
        );
        return Ok(());
    }
    let docs = document_count()?;

    let options = EmbedderOptions::default();
    let batch_size = options.batch_size;
    let loading = Instant::now();
    let embedder = Embedder::load_with(&model_dir, options)?;
    println!(
        "loaded {} in {:.0} ms, including the SHA-256 check",
        embedder.model_name(),
        loading.elapsed().as_secs_f64() * 1e3
    );
    let abstracts = read_abstracts(&sample, docs)?;
    let texts: Vec<&str> = abstracts.iter().map(String::as_str).collect();
    println!(
        "{} abstracts from {}, batch size {batch_size}, {} threads",
        texts.len(),
        sample.display(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    // The first forward pass allocates buffers, so it is left out of every measurement.
    embedder.embed(&texts[..texts.len().min(batch_size)])?;

    let short = measure_short_sentence(&embedder)?;
    println!(
        "short sentence: {:.1} ms per call (mean of {SHORT_SENTENCE_RUNS})",
        short.as_secs_f64() * 1e3
    );

    let unsorted = measure(|| {
        texts
            .chunks(batch_size)
            .try_for_each(|chunk| embedder.embed(chunk).map(drop))
    })?;
    let sorted = measure(|| embedder.embed(&texts).map(drop))?;

    let unsorted_rate = texts.len() as f64 / unsorted.as_secs_f64();
    let sorted_rate = texts.len() as f64 / sorted.as_secs_f64();
    println!("unsorted batches: {unsorted_rate:.1} documents/s ({unsorted:.2?})");
    println!("length-sorted batches: {sorted_rate:.1} documents/s ({sorted:.2?})");
    println!("speed-up of sorting: {:.2}x", sorted_rate / unsorted_rate);
    Ok(())
}

/// Returns the model directory, or `None` after printing why the benchmark is skipped.
fn model_dir() -> Option<PathBuf> {
    let dir = match env::var_os("DOCSEARCH_MODEL_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env::var_os("HOME").unwrap_or_default())
            .join(".cache/docsearch/all-MiniLM-L6-v2"),
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    println!(
        "skipping the throughput benchmark: the model is not in {} \
         (set DOCSEARCH_MODEL_DIR, or fetch it with `scripts/provision.sh model`)",
        dir.display()
    );
    None
}

fn document_count() -> BenchResult<usize> {
    let Ok(value) = env::var("DOCSEARCH_BENCH_DOCS") else {
        return Ok(DEFAULT_DOCS);
    };
    match value.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(
            format!("invalid DOCSEARCH_BENCH_DOCS {value:?}: expected a positive integer").into(),
        ),
    }
}

/// Reads the first `limit` non-empty abstracts, with surrounding whitespace trimmed.
fn read_abstracts(path: &Path, limit: usize) -> BenchResult<Vec<String>> {
    let file =
        File::open(path).map_err(|error| format!("failed to open {}: {error}", path.display()))?;
    let mut abstracts = Vec::with_capacity(limit);
    for (index, line) in BufReader::new(file).lines().enumerate() {
        if abstracts.len() == limit {
            break;
        }
        let line = line.map_err(|error| format!("failed to read {}: {error}", path.display()))?;
        let record: serde_json::Value = serde_json::from_str(&line)
            .map_err(|error| format!("{}:{}: invalid JSON: {error}", path.display(), index + 1))?;
        if let Some(text) = record["abstract"]
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            abstracts.push(text.to_owned());
        }
    }
    if abstracts.len() < limit {
        println!(
            "note: {} has only {} abstracts",
            path.display(),
            abstracts.len()
        );
    }
    Ok(abstracts)
}

fn measure_short_sentence(embedder: &Embedder) -> BenchResult<Duration> {
    let started = Instant::now();
    for _ in 0..SHORT_SENTENCE_RUNS {
        embedder.embed_one(SHORT_SENTENCE)?;
    }
    Ok(started.elapsed() / SHORT_SENTENCE_RUNS)
}

fn measure<E: Error + 'static>(run: impl FnOnce() -> Result<(), E>) -> BenchResult<Duration> {
    let started = Instant::now();
    run()?;
    Ok(started.elapsed())
}
