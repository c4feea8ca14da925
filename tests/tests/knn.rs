//! KNN end to end: documents streamed through the indexer, searched through the searcher, checked
//! against brute-force nearest neighbours computed here.

use docsearch_e2e::data::{self, document, exact_top_k, number, random_vectors, schema, tags};
use docsearch_e2e::{Stack, StackOptions, ingest_all};
use docsearch_proto::v1 as pb;
use tonic::Code;

const NUM_DOCUMENTS: usize = 5_000;
const DIMENSION: usize = 384;
const NUM_QUERIES: usize = 50;
const NUM_GROUPS: usize = 10;
/// f32 distances from RediSearch against f64 distances computed here.
const DISTANCE_TOLERANCE: f64 = 1e-5;
/// HNSW graph parameters of the approximate index.
const HNSW_M: u32 = 32;
const HNSW_EF_CONSTRUCTION: u32 = 400;
/// Neighbours closer together than this may come back in either order.
const TIE_TOLERANCE: f64 = 1e-6;

struct Corpus {
    ids: Vec<String>,
    vectors: Vec<Vec<f32>>,
    groups: Vec<String>,
}

impl Corpus {
    fn new() -> Self {
        let vectors = random_vectors(7, NUM_DOCUMENTS, DIMENSION);
        let ids = (0..NUM_DOCUMENTS).map(|i| format!("doc-{i:05}")).collect();
        let groups = (0..NUM_DOCUMENTS)
            .map(|i| format!("g{}", i % NUM_GROUPS))
            .collect();
        Corpus {
            ids,
            vectors,
            groups,
        }
    }

    fn documents(&self) -> Vec<pb::Document> {
        (0..NUM_DOCUMENTS)
            .map(|i| {
                document(
                    &self.ids[i],
                    vec![
                        ("group", tags(&[&self.groups[i]])),
                        ("rank", number(i as f64)),
                    ],
                    "embedding",
                    self.vectors[i].clone(),
                )
            })
            .collect()
    }

    fn top_k(&self, query: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<(String, f64)> {
        let candidates = (0..NUM_DOCUMENTS)
            .filter(|i| keep(*i))
            .map(|i| (self.ids[i].as_str(), self.vectors[i].as_slice()));
        exact_top_k(query, candidates, k)
    }
}

fn index_schema(algorithm: pb::VectorAlgorithm) -> pb::IndexSchema {
    let mut vector = schema::vector("embedding", algorithm, DIMENSION as u32);
    if algorithm == pb::VectorAlgorithm::Hnsw
        && let Some(pb::field_schema::Kind::Vector(options)) = &mut vector.kind
    {
        // Uniform random vectors have no structure for the graph to exploit: with the default M of 16,
        // EF_RUNTIME 200 finds about 91% of the true top 10 here, and M 32 with a wider construction
        // search lifts recall above 95%.
        options.m = HNSW_M;
        options.ef_construction = HNSW_EF_CONSTRUCTION;
    }
    pb::IndexSchema {
        fields: vec![schema::tag("group"), schema::numeric("rank"), vector],
    }
}

fn knn_request(index: &str, query: &[f32], k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: index.to_owned(),
        mode: pb::SearchMode::Knn as i32,
        vector: Some(pb::Vector {
            values: query.to_vec(),
        }),
        k,
        return_fields: vec!["rank".to_owned()],
        ..Default::default()
    }
}

/// Asserts that hits equal the expected neighbours: same ids in the same order (up to exact ties) and
/// distances within tolerance.
fn assert_same_neighbours(hits: &[pb::SearchHit], expected: &[(String, f64)], context: &str) {
    assert_eq!(hits.len(), expected.len(), "{context}: number of hits");
    for (rank, (hit, (expected_id, expected_distance))) in hits.iter().zip(expected).enumerate() {
        let distance = f64::from(hit.distance.expect("KNN hits carry a distance"));
        assert!(
            (distance - expected_distance).abs() < DISTANCE_TOLERANCE,
            "{context}: rank {rank}: distance {distance} vs exact {expected_distance}"
        );
        if hit.id != *expected_id {
            let tied = expected
                .iter()
                .any(|(id, d)| *id == hit.id && (d - expected_distance).abs() < TIE_TOLERANCE);
            assert!(
                tied,
                "{context}: rank {rank}: got {} but the exact neighbour is {expected_id}",
                hit.id
            );
        }
    }
}

async fn create_and_load(
    stack: &Stack,
    name: &str,
    algorithm: pb::VectorAlgorithm,
    corpus: &Corpus,
) {
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: name.to_owned(),
            schema: Some(index_schema(algorithm)),
        })
        .await
        .unwrap_or_else(|status| panic!("CreateIndex {name} failed: {status}"));

    let mut ingest = stack.ingest_client().await;
    let acks = ingest_all(&mut ingest, name, corpus.documents(), 500).await;
    assert_eq!(
        acks.len(),
        NUM_DOCUMENTS / 500,
        "one acknowledgement per batch"
    );
    for (sequence, ack) in acks.iter().enumerate() {
        assert_eq!(
            ack.sequence, sequence as u64,
            "acknowledgements in batch order"
        );
        assert_eq!(ack.batch_id, format!("batch-{sequence}"));
        assert!(
            ack.errors.is_empty(),
            "batch {sequence} errors: {:?}",
            ack.errors
        );
    }
    let num_written: u32 = acks.iter().map(|ack| ack.num_written).sum();
    assert_eq!(
        num_written as usize, NUM_DOCUMENTS,
        "every document acknowledged as written"
    );

    let info = admin
        .describe_index(pb::DescribeIndexRequest {
            name: name.to_owned(),
        })
        .await
        .expect("DescribeIndex")
        .into_inner()
        .index
        .expect("index info");
    assert_eq!(
        info.num_documents as usize, NUM_DOCUMENTS,
        "DescribeIndex counts every document"
    );
    assert_eq!(info.num_indexing_failures, 0);
    assert!(info.memory_bytes > 0, "DescribeIndex reports memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knn_matches_brute_force() {
    let stack = Stack::start(StackOptions::default()).await;
    let corpus = Corpus::new();
    create_and_load(&stack, "flat", pb::VectorAlgorithm::Flat, &corpus).await;
    create_and_load(&stack, "hnsw", pb::VectorAlgorithm::Hnsw, &corpus).await;
    let mut search = stack.search_client().await;
    let queries = random_vectors(99, NUM_QUERIES, DIMENSION);

    // FLAT is exact: the results must be the brute-force neighbours.
    for k in [1u32, 10, 100] {
        for (number, query) in queries.iter().enumerate() {
            let response = search
                .search(knn_request("flat", query, k))
                .await
                .expect("Search")
                .into_inner();
            let expected = corpus.top_k(query, k as usize, |_| true);
            assert_same_neighbours(
                &response.hits,
                &expected,
                &format!("FLAT query {number}, k = {k}"),
            );
            assert_eq!(
                response.total as usize, NUM_DOCUMENTS,
                "total counts every document without a filter"
            );
        }
    }

    // HNSW is approximate: with EF_RUNTIME 200 at least 95% of the true top 10 must come back.
    let mut num_found = 0;
    for query in &queries {
        let mut request = knn_request("hnsw", query, 10);
        request.vector_options = Some(pb::VectorOptions {
            ef_runtime: 200,
            ..Default::default()
        });
        let response = search.search(request).await.expect("Search").into_inner();
        let expected = corpus.top_k(query, 10, |_| true);
        num_found += response
            .hits
            .iter()
            .filter(|hit| expected.iter().any(|(id, _)| *id == hit.id))
            .count();
    }
    let recall = num_found as f64 / (NUM_QUERIES * 10) as f64;
    assert!(
        recall >= 0.95,
        "HNSW recall@10 with EF_RUNTIME 200 is {recall}"
    );

    check_filtered_knn(&mut search, &corpus, &queries).await;
    check_returned_fields(&mut search, &queries[0]).await;
}

/// Filtered KNN on FLAT equals the brute-force top k among the documents that pass the filter.
async fn check_filtered_knn(
    search: &mut pb::search_service_client::SearchServiceClient<tonic::transport::Channel>,
    corpus: &Corpus,
    queries: &[Vec<f32>],
) {
    use pb::filter::Condition;
    let tag_any_of = |values: &[&str]| pb::Filter {
        condition: Some(Condition::TagAnyOf(pb::TagValues {
            field: "group".to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        })),
    };
    let rank_range = |min: Option<(f64, bool)>, max: Option<(f64, bool)>| pb::Filter {
        condition: Some(Condition::NumericRange(pb::NumericRange {
            field: "rank".to_owned(),
            min: min.map(|(value, exclusive)| pb::NumericBound { value, exclusive }),
            max: max.map(|(value, exclusive)| pb::NumericBound { value, exclusive }),
        })),
    };
    let all_of = |filters: Vec<pb::Filter>| pb::Filter {
        condition: Some(Condition::AllOf(pb::FilterList { filters })),
    };
    let any_of = |filters: Vec<pb::Filter>| pb::Filter {
        condition: Some(Condition::AnyOf(pb::FilterList { filters })),
    };
    let not = |filter: pb::Filter| pb::Filter {
        condition: Some(Condition::Not(Box::new(filter))),
    };
    let group = |i: usize| i % NUM_GROUPS;

    type Keep = Box<dyn Fn(usize) -> bool>;
    let cases: Vec<(&str, pb::Filter, Keep)> = vec![
        (
            "tag any-of",
            tag_any_of(&["g1", "g3"]),
            Box::new(move |i| [1, 3].contains(&group(i))),
        ),
        (
            "closed range",
            rank_range(Some((1000.0, false)), Some((2000.0, true))),
            Box::new(|i| (1000..2000).contains(&i)),
        ),
        (
            "open range",
            rank_range(Some((4000.0, true)), None),
            Box::new(|i| i > 4000),
        ),
        (
            "and",
            all_of(vec![
                tag_any_of(&["g2"]),
                rank_range(None, Some((2500.0, false))),
            ]),
            Box::new(move |i| group(i) == 2 && i <= 2500),
        ),
        (
            "or",
            any_of(vec![
                tag_any_of(&["g5"]),
                rank_range(Some((4900.0, false)), None),
            ]),
            Box::new(move |i| group(i) == 5 || i >= 4900),
        ),
        (
            "not",
            not(tag_any_of(&[
                "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7",
            ])),
            Box::new(move |i| group(i) >= 8),
        ),
    ];
    for (name, filter, keep) in cases {
        let expected_total = (0..NUM_DOCUMENTS).filter(|i| keep(*i)).count();
        for (number, query) in queries.iter().take(10).enumerate() {
            let mut request = knn_request("flat", query, 10);
            request.filter = Some(filter.clone());
            let response = search
                .search(request)
                .await
                .expect("filtered Search")
                .into_inner();
            let expected = corpus.top_k(query, 10, &keep);
            assert_same_neighbours(
                &response.hits,
                &expected,
                &format!("{name} filter, query {number}"),
            );
            assert_eq!(
                response.total as usize, expected_total,
                "{name} filter: total"
            );
            for hit in &response.hits {
                let position: usize = hit.id["doc-".len()..].parse().expect("numeric id");
                assert!(
                    keep(position),
                    "{name} filter returned {}, which does not match",
                    hit.id
                );
            }
        }
    }
}

/// Hits carry the requested fields, typed, and a similarity consistent with the distance.
async fn check_returned_fields(
    search: &mut pb::search_service_client::SearchServiceClient<tonic::transport::Channel>,
    query: &[f32],
) {
    let response = search
        .search(knn_request("flat", query, 5))
        .await
        .expect("Search")
        .into_inner();
    for hit in &response.hits {
        let position: usize = hit.id["doc-".len()..].parse().expect("numeric id");
        assert_eq!(
            hit.fields.get("rank"),
            Some(&number(position as f64)),
            "rank field of {}",
            hit.id
        );
        assert!(
            !hit.fields.contains_key("group"),
            "only the requested fields come back"
        );
        let distance = hit.distance.expect("distance");
        let similarity = hit.similarity.expect("similarity");
        assert!(
            (similarity - (1.0 - distance)).abs() < 1e-6,
            "cosine similarity is 1 - distance"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_reports_per_document_errors() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: "errors".to_owned(),
            schema: Some(index_schema(pb::VectorAlgorithm::Flat)),
        })
        .await
        .expect("CreateIndex");

    let vectors = random_vectors(3, 10, DIMENSION);
    let mut documents: Vec<pb::Document> = vectors
        .iter()
        .enumerate()
        .map(|(i, vector)| {
            document(
                &format!("ok-{i}"),
                vec![("rank", number(i as f64))],
                "embedding",
                vector.clone(),
            )
        })
        .collect();
    documents[2] = document("short", vec![], "embedding", vec![0.5; DIMENSION - 1]);
    // The field's metric is COSINE, which a zero vector cannot use.
    documents[3] = document("zero", vec![], "embedding", vec![0.0; DIMENSION]);
    let mut with_nan = vectors[5].clone();
    with_nan[17] = f32::NAN;
    documents[5] = document("nan", vec![], "embedding", with_nan);
    // Finite values whose squared norm overflows FLOAT32.
    documents[6] = document("huge", vec![], "embedding", vec![3e38; DIMENSION]);
    documents[8] = document("", vec![], "embedding", vectors[8].clone());

    let mut ingest = stack.ingest_client().await;
    let acks = ingest_all(&mut ingest, "errors", documents, 100).await;
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.num_written, 5, "the five valid documents land");
    let positions: Vec<u32> = ack.errors.iter().map(|error| error.position).collect();
    assert_eq!(
        positions,
        [2, 3, 5, 6, 8],
        "one error per bad document, in batch order"
    );
    assert_eq!(ack.errors[0].document_id, "short");
    assert_eq!(
        ack.errors[0].code,
        pb::DocumentErrorCode::InvalidVector as i32
    );
    assert!(
        ack.errors[0].message.contains("383 values"),
        "{}",
        ack.errors[0].message
    );
    assert_eq!(ack.errors[1].document_id, "zero");
    assert_eq!(
        ack.errors[1].code,
        pb::DocumentErrorCode::InvalidVector as i32
    );
    assert_eq!(ack.errors[1].field, "embedding");
    assert!(
        ack.errors[1]
            .message
            .contains("a zero vector has no direction; the field's metric is COSINE"),
        "{}",
        ack.errors[1].message
    );
    assert_eq!(ack.errors[2].document_id, "nan");
    assert!(
        ack.errors[2].message.contains("NaN"),
        "{}",
        ack.errors[2].message
    );
    assert_eq!(ack.errors[3].document_id, "huge");
    assert_eq!(ack.errors[3].field, "embedding");
    assert!(
        ack.errors[3].message.contains("scale the vector down"),
        "{}",
        ack.errors[3].message
    );
    assert_eq!(ack.errors[4].code, pb::DocumentErrorCode::InvalidId as i32);

    let info = admin
        .describe_index(pb::DescribeIndexRequest {
            name: "errors".to_owned(),
        })
        .await
        .expect("DescribeIndex")
        .into_inner()
        .index
        .expect("index info");
    assert_eq!(info.num_documents, 5);

    let mut search = stack.search_client().await;
    let get = search
        .get(pb::GetRequest {
            index: "errors".to_owned(),
            ids: vec!["ok-0".to_owned(), "ok-9".to_owned()],
            ..Default::default()
        })
        .await
        .expect("Get")
        .into_inner();
    let ids: Vec<&str> = get.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["ok-0", "ok-9"]);
    let missing = search
        .get(pb::GetRequest {
            index: "errors".to_owned(),
            ids: vec!["short".to_owned()],
            ..Default::default()
        })
        .await
        .expect_err("a rejected document is not stored");
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_rejected() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: "papers".to_owned(),
            schema: Some(index_schema(pb::VectorAlgorithm::Flat)),
        })
        .await
        .expect("CreateIndex");
    let mut search = stack.search_client().await;
    let query = random_vectors(1, 1, DIMENSION).remove(0);

    let status = search
        .search(knn_request("nope", &query, 10))
        .await
        .expect_err("unknown index");
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("\"nope\""),
        "{}",
        status.message()
    );

    let status = search
        .search(knn_request("papers", &query, 0))
        .await
        .expect_err("k = 0");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains('k'), "{}", status.message());

    let status = search
        .search(knn_request("papers", &[], 10))
        .await
        .expect_err("empty vector");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("vector"), "{}", status.message());

    let status = search
        .search(knn_request("papers", &query[..10], 10))
        .await
        .expect_err("wrong dimension");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("384"), "{}", status.message());

    let mut ingest = stack.ingest_client().await;
    let status = ingest
        .upsert(pb::UpsertRequest {
            index: "nope".to_owned(),
            documents: vec![],
        })
        .await
        .expect_err("upsert into an unknown index");
    assert_eq!(status.code(), Code::NotFound);

    let status = admin
        .create_index(pb::CreateIndexRequest {
            name: "papers".to_owned(),
            schema: Some(index_schema(pb::VectorAlgorithm::Flat)),
        })
        .await
        .expect_err("duplicate index");
    assert_eq!(status.code(), Code::AlreadyExists);

    let mut bad_schema = index_schema(pb::VectorAlgorithm::Flat);
    bad_schema.fields.push(data::schema::text("group"));
    let status = admin
        .create_index(pb::CreateIndexRequest {
            name: "dup".to_owned(),
            schema: Some(bad_schema),
        })
        .await
        .expect_err("duplicate field");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("schema.fields[3].name"),
        "{}",
        status.message()
    );

    let status = admin
        .describe_index(pb::DescribeIndexRequest {
            name: "nope".to_owned(),
        })
        .await
        .expect_err("describe unknown");
    assert_eq!(status.code(), Code::NotFound);

    admin
        .drop_index(pb::DropIndexRequest {
            name: "papers".to_owned(),
            delete_documents: true,
        })
        .await
        .expect("DropIndex");
    let status = admin
        .drop_index(pb::DropIndexRequest {
            name: "papers".to_owned(),
            delete_documents: true,
        })
        .await
        .expect_err("drop twice");
    assert_eq!(status.code(), Code::NotFound);
}
