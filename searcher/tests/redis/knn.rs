//! KNN search against a real Redis Stack, checked against a brute-force search over the same papers.

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use docsearch_runtime::vector;
use tonic::Code;

use crate::common::{Fixture, Rng, numeric_field, tag_field, text_field, vector_field};

pub(crate) const INDEX: &str = "papers";
pub(crate) const DIMENSION: usize = 8;
const NUM_PAPERS: usize = 240;
pub(crate) const TOPICS: [&str; 4] = ["quantum", "neural", "galaxy", "protein"];
pub(crate) const CATEGORIES: [&str; 5] = ["cs.LG", "cs.CL", "stat.ML", "math.OC", "astro-ph.GA"];

/// A paper as the test wrote it.
pub(crate) struct Paper {
    pub(crate) id: String,
    pub(crate) topic: &'static str,
    pub(crate) categories: Vec<&'static str>,
    pub(crate) year: f64,
    pub(crate) doi: Option<String>,
    pub(crate) vector: Vec<f32>,
}

fn schema(algorithm: pb::VectorAlgorithm) -> pb::IndexSchema {
    pb::IndexSchema {
        fields: vec![
            text_field("title"),
            tag_field("categories", ",", false, false),
            numeric_field("year"),
            tag_field("doi", ",", false, true),
            vector_field(
                "embedding",
                DIMENSION as u32,
                algorithm,
                pb::DistanceMetric::Cosine,
            ),
        ],
    }
}

fn papers() -> Vec<Paper> {
    let mut rng = Rng::new(7);
    (0..NUM_PAPERS)
        .map(|i| {
            let mut categories = vec![CATEGORIES[(i / 4) % CATEGORIES.len()]];
            if i % 3 == 0 {
                categories.push(CATEGORIES[(i / 4 + 2) % CATEGORIES.len()]);
            }
            Paper {
                // One id has the slash of old-style arXiv ids.
                id: if i == 0 {
                    "hep-th/9901001".to_owned()
                } else {
                    format!("2401.{i:05}")
                },
                topic: TOPICS[i % TOPICS.len()],
                categories,
                year: 2000.0 + (i % 25) as f64,
                doi: (i % 2 == 0).then(|| format!("10.1000/{i}")),
                vector: (0..DIMENSION).map(|_| rng.next_f32()).collect(),
            }
        })
        .collect()
}

pub(crate) async fn fixture(algorithm: pb::VectorAlgorithm) -> (Fixture, Vec<Paper>) {
    let fixture = Fixture::start(INDEX, schema(algorithm)).await;
    let papers = papers();
    for paper in &papers {
        let mut fields = vec![
            (
                "title",
                format!("{} study {}", paper.topic, paper.id).into_bytes(),
            ),
            ("categories", paper.categories.join(",").into_bytes()),
            ("year", paper.year.to_string().into_bytes()),
            ("embedding", vector::encode(&paper.vector)),
        ];
        if let Some(doi) = &paper.doi {
            fields.push(("doi", doi.clone().into_bytes()));
        }
        fixture.put(INDEX, &paper.id, &fields).await;
    }
    (fixture, papers)
}

pub(crate) fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    1.0 - dot / (norm(a) * norm(b))
}

/// Ranks the papers that pass `filter`, nearest first, with their distances.
pub(crate) fn brute_force<'p>(
    papers: &'p [Paper],
    query: &[f32],
    filter: impl Fn(&Paper) -> bool,
) -> Vec<(&'p str, f64)> {
    let mut ranked: Vec<(&str, f64)> = papers
        .iter()
        .filter(|paper| filter(paper))
        .map(|paper| (paper.id.as_str(), cosine_distance(query, &paper.vector)))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    ranked
}

pub(crate) fn knn_request(query: &[f32], k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Knn as i32,
        vector: Some(pb::Vector {
            values: query.to_vec(),
        }),
        k,
        ..pb::SearchRequest::default()
    }
}

pub(crate) fn query_vector(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..DIMENSION).map(|_| rng.next_f32()).collect()
}

/// Asserts that hits equal the expected ids in order, with distances within 1e-5.
fn assert_hits(hits: &[pb::SearchHit], expected: &[(&str, f64)], case: &str) {
    let ids: Vec<&str> = hits.iter().map(|hit| hit.id.as_str()).collect();
    let expected_ids: Vec<&str> = expected.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, expected_ids, "{case}");
    for (hit, (_, distance)) in hits.iter().zip(expected) {
        let returned = f64::from(hit.distance.expect("KNN hits carry a distance"));
        assert!(
            (returned - distance).abs() < 1e-5,
            "{case}: {} has distance {returned}, expected {distance}",
            hit.id
        );
    }
}

pub(crate) fn filter(condition: Condition) -> Option<pb::Filter> {
    Some(pb::Filter {
        condition: Some(condition),
    })
}

pub(crate) fn tags(field: &str, values: &[&str]) -> pb::TagValues {
    pb::TagValues {
        field: field.to_owned(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn leaf(condition: Condition) -> pb::Filter {
    pb::Filter {
        condition: Some(condition),
    }
}

#[tokio::test]
async fn flat_knn_matches_brute_force() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(99);
    let response = fixture.search(knn_request(&query, 10)).await.unwrap();
    let expected = brute_force(&papers, &query, |_| true);
    assert_hits(&response.hits, &expected[..10], "no filter");
    assert_eq!(response.total, NUM_PAPERS as u64);
    assert_eq!(response.mode, pb::SearchMode::Knn as i32);
}

#[tokio::test]
async fn knn_scores_follow_distance() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let response = fixture
        .search(knn_request(&query_vector(5), 3))
        .await
        .unwrap();
    for hit in &response.hits {
        let distance = hit.distance.unwrap();
        assert_eq!(hit.similarity, Some(1.0 - distance));
        assert_eq!(hit.score, f64::from(1.0 - distance));
    }
}

#[tokio::test]
async fn knn_pages_match_brute_force() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(3);
    let expected = brute_force(&papers, &query, |_| true);
    for offset in [0, 7, 15] {
        let request = pb::SearchRequest {
            offset: offset as u32,
            ..knn_request(&query, 7)
        };
        let response = fixture.search(request).await.unwrap();
        assert_hits(
            &response.hits,
            &expected[offset..offset + 7],
            &format!("offset {offset}"),
        );
    }
}

#[tokio::test]
async fn hits_carry_typed_fields() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let paper = &papers[0];
    let response = fixture.search(knn_request(&paper.vector, 1)).await.unwrap();
    let hit = &response.hits[0];
    assert_eq!(hit.id, "hep-th/9901001");
    assert_eq!(
        hit.fields["title"].kind,
        Some(pb::field_value::Kind::Text(
            "quantum study hep-th/9901001".to_owned()
        ))
    );
    assert_eq!(
        hit.fields["categories"].kind,
        Some(pb::field_value::Kind::Tags(pb::TagList {
            values: vec!["cs.LG".to_owned(), "stat.ML".to_owned()]
        }))
    );
    assert_eq!(
        hit.fields["year"].kind,
        Some(pb::field_value::Kind::Number(2000.0))
    );
    assert!(!hit.fields.contains_key("embedding"));
}

#[tokio::test]
async fn return_fields_limit_hit_fields() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        return_fields: vec!["year".to_owned()],
        ..knn_request(&query_vector(11), 5)
    };
    let response = fixture.search(request).await.unwrap();
    for hit in &response.hits {
        let names: Vec<&String> = hit.fields.keys().collect();
        assert_eq!(names, vec!["year"], "{}", hit.id);
    }
}

#[tokio::test]
async fn filtered_knn_matches_brute_force() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(42);
    type Predicate = Box<dyn Fn(&Paper) -> bool>;
    let cases: Vec<(&str, Option<pb::Filter>, Predicate)> = vec![
        (
            "tag any of",
            filter(Condition::TagAnyOf(tags(
                "categories",
                &["cs.LG", "stat.ML"],
            ))),
            Box::new(|p| p.categories.contains(&"cs.LG") || p.categories.contains(&"stat.ML")),
        ),
        (
            "tag none of",
            filter(Condition::TagNoneOf(tags("categories", &["astro-ph.GA"]))),
            Box::new(|p| !p.categories.contains(&"astro-ph.GA")),
        ),
        (
            "numeric range",
            filter(Condition::NumericRange(pb::NumericRange {
                field: "year".to_owned(),
                min: Some(pb::NumericBound {
                    value: 2005.0,
                    exclusive: false,
                }),
                max: Some(pb::NumericBound {
                    value: 2010.0,
                    exclusive: true,
                }),
            })),
            Box::new(|p| (2005.0..2010.0).contains(&p.year)),
        ),
        (
            "not",
            filter(Condition::Not(Box::new(leaf(Condition::TagAnyOf(tags(
                "categories",
                &["cs.CL"],
            )))))),
            Box::new(|p| !p.categories.contains(&"cs.CL")),
        ),
        (
            "missing",
            filter(Condition::Missing(pb::FieldMissing {
                field: "doi".to_owned(),
            })),
            Box::new(|p| p.doi.is_none()),
        ),
        (
            "text any of",
            filter(Condition::TextAnyOf(pb::TextTerms {
                field: "title".to_owned(),
                terms: vec!["neural".to_owned(), "galaxy".to_owned()],
            })),
            Box::new(|p| p.topic == "neural" || p.topic == "galaxy"),
        ),
        (
            "all of",
            filter(Condition::AllOf(pb::FilterList {
                filters: vec![
                    leaf(Condition::TagNoneOf(tags("categories", &["math.OC"]))),
                    leaf(Condition::NumericRange(pb::NumericRange {
                        field: "year".to_owned(),
                        min: Some(pb::NumericBound {
                            value: 2010.0,
                            exclusive: true,
                        }),
                        max: None,
                    })),
                ],
            })),
            Box::new(|p| !p.categories.contains(&"math.OC") && p.year > 2010.0),
        ),
        (
            "any of",
            filter(Condition::AnyOf(pb::FilterList {
                filters: vec![
                    leaf(Condition::TagPrefix(pb::TagPrefix {
                        field: "categories".to_owned(),
                        prefix: "astro".to_owned(),
                    })),
                    leaf(Condition::TextPhrase(pb::TextPhrase {
                        field: "title".to_owned(),
                        phrase: "quantum study".to_owned(),
                    })),
                ],
            })),
            Box::new(|p| {
                p.categories.iter().any(|c| c.starts_with("astro")) || p.topic == "quantum"
            }),
        ),
    ];

    for (case, filter, predicate) in cases {
        let request = pb::SearchRequest {
            filter,
            ..knn_request(&query, 10)
        };
        let response = fixture.search(request).await.unwrap();
        let expected = brute_force(&papers, &query, &predicate);
        assert!(expected.len() > 10, "{case} passes too few papers to test");
        assert_hits(&response.hits, &expected[..10], case);
        assert_eq!(response.total, expected.len() as u64, "{case}: total");
    }
}

#[tokio::test]
async fn hybrid_policies_match_brute_force() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(8);
    let expected = brute_force(&papers, &query, |p| p.doi.is_some());
    for (policy, batch_size) in [
        (pb::HybridPolicy::AdhocBf, 0),
        (pb::HybridPolicy::Batches, 0),
        (pb::HybridPolicy::Batches, 5),
    ] {
        let request = pb::SearchRequest {
            filter: filter(Condition::TagPrefix(pb::TagPrefix {
                field: "doi".to_owned(),
                prefix: "10.1000/".to_owned(),
            })),
            vector_options: Some(pb::VectorOptions {
                hybrid_policy: policy as i32,
                batch_size,
                ..pb::VectorOptions::default()
            }),
            ..knn_request(&query, 10)
        };
        let response = fixture.search(request).await.unwrap();
        assert_hits(
            &response.hits,
            &expected[..10],
            &format!("{policy:?} batch {batch_size}"),
        );
    }
}

#[tokio::test]
async fn count_only_returns_total() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        vector: None,
        k: 0,
        count_only: true,
        filter: filter(Condition::TagAnyOf(tags("categories", &["cs.LG"]))),
        ..knn_request(&[], 0)
    };
    let response = fixture.search(request).await.unwrap();
    let expected = papers
        .iter()
        .filter(|p| p.categories.contains(&"cs.LG"))
        .count();
    assert!(response.hits.is_empty());
    assert_eq!(response.total, expected as u64);
}

#[tokio::test]
async fn similar_to_id_includes_document() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let paper = &papers[17];
    let request = pb::SearchRequest {
        vector: None,
        similar_to_id: paper.id.clone(),
        ..knn_request(&[], 5)
    };
    let response = fixture.search(request).await.unwrap();
    let expected = brute_force(&papers, &paper.vector, |_| true);
    assert_eq!(expected[0].0, paper.id);
    assert_hits(&response.hits, &expected[..5], "similar_to_id");
    assert_eq!(response.total, NUM_PAPERS as u64);
}

#[tokio::test]
async fn similar_to_id_excludes_document() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let paper = &papers[0];
    let expected = brute_force(&papers, &paper.vector, |p| p.id != paper.id);
    for offset in [0, 4] {
        let request = pb::SearchRequest {
            vector: None,
            similar_to_id: paper.id.clone(),
            exclude_similar_document: true,
            offset,
            ..knn_request(&[], 5)
        };
        let response = fixture.search(request).await.unwrap();
        let offset = offset as usize;
        assert_hits(
            &response.hits,
            &expected[offset..offset + 5],
            &format!("excluding, offset {offset}"),
        );
        assert_eq!(response.total, NUM_PAPERS as u64 - 1);
    }
}

#[tokio::test]
async fn unknown_index_is_not_found() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        index: "preprints".to_owned(),
        ..knn_request(&query_vector(1), 5)
    };
    let status = fixture.search_error(request, Code::NotFound).await;
    assert_eq!(
        status.message(),
        "index \"preprints\" not found; list the indexes with docsearch.v1.IndexService/ListIndexes"
    );
}

#[tokio::test]
async fn unknown_similar_document_is_not_found() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        vector: None,
        similar_to_id: "2401.99999".to_owned(),
        ..knn_request(&[], 5)
    };
    let status = fixture.search_error(request, Code::NotFound).await;
    assert_eq!(
        status.message(),
        "document \"2401.99999\" not found in index \"papers\"; check the ids, or ingest the documents first"
    );
}

#[tokio::test]
async fn zero_k_is_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let status = fixture
        .search_error(knn_request(&query_vector(1), 0), Code::InvalidArgument)
        .await;
    assert_eq!(
        status.message(),
        "invalid k: 0 is out of range; use 1 to 1000 (k may be 0 only with count_only)"
    );
}

#[tokio::test]
async fn empty_vector_is_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let status = fixture
        .search_error(knn_request(&[], 5), Code::InvalidArgument)
        .await;
    assert_eq!(
        status.message(),
        "invalid vector.values: the vector has 0 values, but field \"embedding\" holds vectors of dimension 8 from a model the index does not record; send exactly 8 values"
    );
}

#[tokio::test]
async fn wrong_dimension_is_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let status = fixture
        .search_error(knn_request(&[0.5; 3], 5), Code::InvalidArgument)
        .await;
    assert_eq!(
        status.message(),
        "invalid vector.values: the vector has 3 values, but field \"embedding\" holds vectors of dimension 8 from a model the index does not record; send exactly 8 values"
    );
}

#[tokio::test]
async fn zero_and_overflowing_vectors_are_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let status = fixture
        .search_error(knn_request(&[0.0; DIMENSION], 5), Code::InvalidArgument)
        .await;
    assert!(
        status.message().starts_with("invalid vector.values:"),
        "{}",
        status.message()
    );
    assert!(
        status
            .message()
            .contains("a zero vector has no direction; the field's metric is COSINE"),
        "{}",
        status.message()
    );
    let status = fixture
        .search_error(knn_request(&[3e38; DIMENSION], 5), Code::InvalidArgument)
        .await;
    assert!(
        status.message().contains("scale the vector down"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn similar_to_zero_stored_vector_fails() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    // Written directly, as documents were before the indexer checked norms.
    fixture
        .put(
            INDEX,
            "zero",
            &[("embedding", vector::encode(&[0.0; DIMENSION]))],
        )
        .await;
    let request = pb::SearchRequest {
        vector: None,
        similar_to_id: "zero".to_owned(),
        ..knn_request(&[], 5)
    };
    let status = fixture
        .search_error(request, Code::FailedPrecondition)
        .await;
    assert!(
        status.message().starts_with(
            "the stored \"embedding\" vector of document \"zero\" cannot be the query vector"
        ),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("no direction"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn text_query_needs_model() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        vector: None,
        text: "graph neural networks".to_owned(),
        ..knn_request(&[], 5)
    };
    let status = fixture
        .search_error(request, Code::FailedPrecondition)
        .await;
    assert_eq!(
        status.message(),
        "text queries need an embedding model; set embedding.model_dir (DOCSEARCH__EMBEDDING__MODEL_DIR) or send a vector"
    );
}

#[tokio::test]
async fn filter_on_wrong_type_is_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        filter: filter(Condition::AllOf(pb::FilterList {
            filters: vec![
                leaf(Condition::TagAnyOf(tags("categories", &["cs.LG"]))),
                leaf(Condition::TagAnyOf(tags("year", &["2019"]))),
            ],
        })),
        ..knn_request(&query_vector(1), 5)
    };
    let status = fixture.search_error(request, Code::InvalidArgument).await;
    assert_eq!(
        status.message(),
        "invalid filter.all_of.filters[1].tag_any_of.field: \"year\" is a NUMERIC field; tag_any_of needs a TAG field"
    );
}

#[tokio::test]
async fn hnsw_knn_finds_nearest() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Hnsw).await;
    let query = query_vector(21);
    let request = pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "embedding".to_owned(),
            ef_runtime: 500,
            ..pb::VectorOptions::default()
        }),
        ..knn_request(&query, 5)
    };
    let response = fixture.search(request).await.unwrap();
    // With a candidate list larger than the index, HNSW search is exact on this small index.
    let expected = brute_force(&papers, &query, |_| true);
    assert_hits(&response.hits, &expected[..5], "HNSW");
}
