//! Suggest latency. The titles of the whole arXiv sample are loaded through the indexer into an index
//! with one `title` TEXT field that feeds the suggestion dictionary. Then 2,000 prefixes of 2 to 12
//! characters of random titles are completed one at a time through the searcher's gRPC Suggest and, as
//! the baseline measured in the same run, with FT.SUGGET sent straight to Redis with redis-rs.
//!
//! Run with `DOCSEARCH_ARXIV_SAMPLE=/path/to/arxiv-sample.jsonl cargo bench -p docsearch-e2e --bench
//! suggest`. Without the sample it prints why it skips. Latencies are observed by the client, so the
//! gRPC numbers are an upper bound of the time the searcher spends.

use std::io::BufRead;
use std::time::{Duration, Instant};

use docsearch_e2e::arxiv::{parse_paper, sample_path};
use docsearch_e2e::{Stack, StackOptions, ingest_all};
use docsearch_proto::v1 as pb;
use docsearch_runtime::keys::KeyLayout;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const INDEX: &str = "titles";
const NUM_PREFIXES: usize = 2_000;
const NUM_WARMUP_REQUESTS: usize = 200;
const SUGGESTIONS_PER_REQUEST: u32 = 10;
/// Maximum p50 latency of Suggest through the searcher, measured from the client.
const MAX_P50: Duration = Duration::from_millis(5);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(sample) = sample_path() else {
        eprintln!(
            "SKIPPED: set DOCSEARCH_ARXIV_SAMPLE to the arXiv sample (JSON lines) to run the Suggest benchmark"
        );
        return;
    };
    let titles = read_titles(&sample);
    eprintln!("read {} titles from {}", titles.len(), sample.display());

    let stack = Stack::start(StackOptions::default()).await;
    load_titles(&stack, &titles).await;
    let prefixes = prefixes(&titles);

    let search = stack.search_client().await;
    let grpc = measure(&prefixes, |prefix| {
        let request = pb::SuggestRequest {
            index: INDEX.to_owned(),
            prefix: prefix.to_owned(),
            limit: SUGGESTIONS_PER_REQUEST,
            fuzzy: false,
        };
        let mut search = search.clone();
        async move {
            search
                .suggest(request)
                .await
                .expect("Suggest")
                .into_inner()
                .suggestions
                .len()
        }
    })
    .await;
    let client = redis::Client::open(stack.redis.url()).expect("valid Redis URL");
    let connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let dictionary = KeyLayout::new(stack.redis.namespace())
        .expect("valid namespace")
        .suggestions(INDEX);
    let direct = measure(&prefixes, |prefix| {
        let mut connection = connection.clone();
        let mut command = redis::cmd("FT.SUGGET");
        command
            .arg(&dictionary)
            .arg(prefix)
            .arg("MAX")
            .arg(SUGGESTIONS_PER_REQUEST)
            .arg("WITHSCORES")
            .arg("WITHPAYLOADS");
        async move {
            let reply: Vec<redis::Value> = command
                .query_async(&mut connection)
                .await
                .expect("FT.SUGGET");
            reply.len() / 3
        }
    })
    .await;

    println!(
        "Suggest latency over {} prefixes of 2 to 12 characters, {} titles, limit {SUGGESTIONS_PER_REQUEST}, one request at a time:",
        prefixes.len(),
        titles.len()
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}",
        "path", "p50", "p95", "p99", "mean"
    );
    print_row("searcher gRPC Suggest", &grpc);
    print_row("FT.SUGGET with redis-rs", &direct);
    println!(
        "{:<28} {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x",
        "ratio gRPC / FT.SUGGET",
        ratio(grpc.p50, direct.p50),
        ratio(grpc.p95, direct.p95),
        ratio(grpc.p99, direct.p99),
        ratio(grpc.mean, direct.mean)
    );
    println!(
        "suggestions returned: {} through gRPC, {} from FT.SUGGET",
        grpc.num_results, direct.num_results
    );
    assert_eq!(
        grpc.num_results, direct.num_results,
        "the searcher returns the suggestions that FT.SUGGET returns"
    );
    assert!(
        grpc.p50 <= MAX_P50,
        "Suggest p50 is {:?} seen from the client, above the {MAX_P50:?} limit",
        grpc.p50
    );
}

/// Normalised titles of the sample, in file order.
fn read_titles(sample: &std::path::Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(sample).expect("the sample is readable");
    std::io::BufReader::new(file)
        .lines()
        .map(|line| line.expect("the sample is UTF-8"))
        .map(|line| {
            let paper =
                parse_paper(&line).unwrap_or_else(|| panic!("unparsable sample line: {line}"));
            (paper.id, paper.title)
        })
        .collect()
}

async fn load_titles(stack: &Stack, titles: &[(String, String)]) {
    let schema = pb::IndexSchema {
        fields: vec![pb::FieldSchema {
            name: "title".to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Text(pb::TextField {
                suggest: true,
                ..Default::default()
            })),
        }],
    };
    stack
        .index_client()
        .await
        .create_index(pb::CreateIndexRequest {
            name: INDEX.to_owned(),
            schema: Some(schema),
        })
        .await
        .expect("CreateIndex");

    let documents: Vec<pb::Document> = titles
        .iter()
        .map(|(id, title)| pb::Document {
            id: id.clone(),
            fields: [(
                "title".to_owned(),
                pb::FieldValue {
                    kind: Some(pb::field_value::Kind::Text(title.clone())),
                },
            )]
            .into_iter()
            .collect(),
            vectors: Default::default(),
        })
        .collect();
    let started = Instant::now();
    let mut ingest = stack.ingest_client().await;
    let acks = ingest_all(&mut ingest, INDEX, documents, 500).await;
    let written: u32 = acks.iter().map(|ack| ack.num_written).sum();
    assert_eq!(written as usize, titles.len(), "every title is written");
    eprintln!(
        "loaded {written} titles through the indexer in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Prefixes of 2 to 12 characters of random titles, with at least 2 characters besides white space.
fn prefixes(titles: &[(String, String)]) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut prefixes = Vec::with_capacity(NUM_PREFIXES);
    while prefixes.len() < NUM_PREFIXES {
        let (_, title) = titles.choose(&mut rng).expect("the sample has titles");
        let len = rng.random_range(2..=12);
        let prefix: String = title.chars().take(len).collect();
        if prefix.trim().chars().count() >= 2 {
            prefixes.push(prefix.trim_start().to_owned());
        }
    }
    prefixes
}

/// Latency percentiles of one path, and the suggestions it returned in all.
struct Latencies {
    p50: Duration,
    p95: Duration,
    p99: Duration,
    mean: Duration,
    num_results: usize,
}

/// Sends a warm-up round, then one request per prefix, one at a time, timing each.
async fn measure<F, Fut>(prefixes: &[String], mut request: F) -> Latencies
where
    F: FnMut(&str) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    for prefix in prefixes.iter().take(NUM_WARMUP_REQUESTS) {
        request(prefix).await;
    }
    let mut samples = Vec::with_capacity(prefixes.len());
    let mut num_results = 0;
    for prefix in prefixes {
        let started = Instant::now();
        num_results += request(prefix).await;
        samples.push(started.elapsed());
    }
    samples.sort();
    let percentile =
        |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let total: Duration = samples.iter().sum();
    Latencies {
        p50: percentile(0.50),
        p95: percentile(0.95),
        p99: percentile(0.99),
        mean: total / samples.len() as u32,
        num_results,
    }
}

fn print_row(name: &str, latencies: &Latencies) {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} {:>7.3}ms {:>7.3}ms {:>7.3}ms {:>7.3}ms",
        ms(latencies.p50),
        ms(latencies.p95),
        ms(latencies.p99),
        ms(latencies.mean)
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
