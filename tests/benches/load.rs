//! End-to-end load benchmark: the arXiv sample streamed through `docsearch load` into the indexer, which
//! embeds every paper, compared with embedding the same texts in-process, measured in the same run.
//!
//!   DOCSEARCH_ARXIV_SAMPLE=path/to/arxiv-sample.jsonl cargo bench -p docsearch-e2e --bench load
//!
//! `DOCSEARCH_BENCH_DOCS` limits the number of papers (default: the whole file); the in-process
//! baseline embeds `DOCSEARCH_BENCH_BASELINE_DOCS` of them (default 500).

use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

use docsearch_e2e::arxiv::{INDEX, parse_paper, sample_path};
use docsearch_e2e::{Stack, StackOptions, model_dir, workspace_root};
use docsearch_embed::Embedder;

fn env_count(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(sample) = sample_path() else {
        eprintln!(
            "SKIPPED: set DOCSEARCH_ARXIV_SAMPLE to the arXiv sample file to run this benchmark"
        );
        return;
    };
    let Some(model_dir) = model_dir() else {
        return;
    };
    let lines: Vec<String> =
        BufReader::new(std::fs::File::open(&sample).expect("the sample is readable"))
            .lines()
            .map(|line| line.expect("the sample is UTF-8"))
            .collect();
    let num_documents = env_count("DOCSEARCH_BENCH_DOCS")
        .unwrap_or(lines.len())
        .min(lines.len());
    let num_baseline = env_count("DOCSEARCH_BENCH_BASELINE_DOCS")
        .unwrap_or(500)
        .min(num_documents);

    // Baseline: the same title and abstract texts embedded in-process, with no gRPC, Redis or parsing.
    let texts: Vec<String> = lines
        .iter()
        .take(num_baseline)
        .filter_map(|line| parse_paper(line))
        .map(|paper| format!("{}\n{}", paper.title, paper.abstract_text))
        .collect();
    let embedder = Embedder::load(&model_dir).expect("the model loads");
    let started = Instant::now();
    let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&borrowed).expect("embedding succeeds");
    let baseline_rate = texts.len() as f64 / started.elapsed().as_secs_f64();
    drop(embedder);

    // End to end: the CLI streams the file to the indexer, which embeds and writes each batch.
    let stack = Stack::start(StackOptions {
        model_dir: Some(model_dir),
        settings: Vec::new(),
    })
    .await;
    let subset = stack.dir.path().join("load.jsonl");
    let mut file = std::fs::File::create(&subset).expect("failed to create the load file");
    for line in lines.iter().take(num_documents) {
        writeln!(file, "{line}").expect("failed to write the load file");
    }
    drop(file);
    let schema = workspace_root().join("schemas/arxiv.json");
    let created = stack.run_cli(&[
        "index",
        "create",
        INDEX,
        "--schema",
        &schema.display().to_string(),
    ]);
    assert_eq!(created.code, Some(0), "index create failed: {created:?}");
    let started = Instant::now();
    let load = stack.run_cli(&[
        "load",
        &subset.display().to_string(),
        "--index",
        INDEX,
        "--format",
        "arxiv",
    ]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(
        load.code,
        Some(0),
        "docsearch load failed:\n{}\n{}",
        load.stdout,
        load.stderr
    );
    let load_rate = num_documents as f64 / elapsed;

    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "baseline, in-process embedding of {} papers: {baseline_rate:.1} documents/s",
        texts.len()
    );
    println!(
        "end to end, docsearch load of {num_documents} papers: {elapsed:.1} s, {load_rate:.1} documents/s"
    );
    println!(
        "ratio end to end / baseline: {:.2}",
        load_rate / baseline_rate
    );
}
