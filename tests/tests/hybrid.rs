//! Every query kind end to end on a hand-written corpus with vectors written here. HYBRID fusion is
//! checked against a fusion of the TEXT and KNN results of the same query, and filters against brute
//! force on a FLAT index. Facets, sorting, paging, counting, RANGE, highlights, lucky and SearchBatch are
//! checked against expectations computed here. A second test embeds text with the real model.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use docsearch_e2e::data::{cosine_distance, exact_top_k};
use docsearch_e2e::{Stack, StackOptions, ingest_all, model_dir};
use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tonic::Code;
use tonic::transport::Channel;

type Client = pb::search_service_client::SearchServiceClient<Channel>;

const INDEX: &str = "corpus";
const NUM_DOCUMENTS: usize = 150;
const DIMENSION: usize = 8;
/// Candidates per HYBRID leg in the fusion checks.
const WINDOW: u32 = 60;
/// Words of titles and bodies. None is a stop word or the stem of another, so that a word matches only
/// itself, and some pairs lie one edit apart for the fuzzy checks.
const WORDS: [&str; 24] = [
    "amber", "birch", "cedar", "river", "rivet", "ridge", "rover", "stone", "stove", "cloud",
    "clout", "willow", "falcon", "harbor", "meadow", "canyon", "glacier", "lantern", "orchid",
    "pepper", "quartz", "timber", "velvet", "walnut",
];
const KINDS: [&str; 6] = ["alpha", "alpine", "beta", "gamma", "galaxy", "delta"];
/// Longitude and latitude around which the documents lie.
const CENTER: (f64, f64) = (13.4, 52.5);
const RADIUS_KM: f64 = 20.0;
/// Documents keep at least this far from the radius, so that geohash rounding cannot move them across.
const RADIUS_MARGIN_KM: f64 = 2.0;
/// The Earth radius that Redis uses for geo distances, in meters.
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;
/// f32 distances from RediSearch against f64 distances computed here.
const DISTANCE_TOLERANCE: f64 = 1e-5;

/// A document as this test wrote it.
#[derive(Debug, Clone)]
struct Doc {
    id: String,
    title: Vec<&'static str>,
    body: Vec<&'static str>,
    kinds: Vec<&'static str>,
    year: f64,
    rating: f64,
    /// Longitude and latitude.
    location: (f64, f64),
    doi: Option<String>,
    vector: Vec<f32>,
}

impl Doc {
    fn words(&self) -> impl Iterator<Item = &&'static str> {
        self.title.iter().chain(&self.body)
    }

    fn field_words(&self, field: &str) -> &[&'static str] {
        match field {
            "title" => &self.title,
            "body" => &self.body,
            other => panic!("{other} is not a TEXT field of the corpus"),
        }
    }
}

fn corpus() -> Vec<Doc> {
    let mut rng = StdRng::seed_from_u64(2024);
    (0..NUM_DOCUMENTS)
        .map(|i| {
            let title_len = rng.random_range(2..=3);
            let body_len = rng.random_range(5..=9);
            let title = (0..title_len)
                .map(|_| *WORDS.choose(&mut rng).unwrap())
                .collect();
            let body = (0..body_len)
                .map(|_| *WORDS.choose(&mut rng).unwrap())
                .collect();
            let mut kinds = vec![*KINDS.choose(&mut rng).unwrap()];
            if rng.random_bool(0.4) {
                let second = *KINDS.choose(&mut rng).unwrap();
                if !kinds.contains(&second) {
                    kinds.push(second);
                }
            }
            // Distances from the center in 0..18 km or 22..50 km, away from the 20 km radius.
            let distance_km = if rng.random_bool(0.4) {
                rng.random_range(0.0..RADIUS_KM - RADIUS_MARGIN_KM)
            } else {
                rng.random_range(RADIUS_KM + RADIUS_MARGIN_KM..50.0)
            };
            let bearing: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let latitude = CENTER.1 + distance_km / 111.2 * bearing.cos();
            let longitude =
                CENTER.0 + distance_km / (111.2 * CENTER.1.to_radians().cos()) * bearing.sin();
            Doc {
                id: format!("doc-{i:03}"),
                title,
                body,
                kinds,
                year: f64::from(rng.random_range(1990..2020)),
                rating: (rng.random_range(0.0..5.0f64) * 10.0).round() / 10.0,
                location: (longitude, latitude),
                doi: (i % 3 != 0).then(|| format!("10.1000/{i}")),
                vector: (0..DIMENSION)
                    .map(|_| rng.random_range(-1.0f32..1.0))
                    .collect(),
            }
        })
        .collect()
}

fn field(name: &str, index_missing: bool, kind: pb::field_schema::Kind) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing,
        kind: Some(kind),
    }
}

fn exact_text(name: &str) -> pb::FieldSchema {
    field(
        name,
        false,
        pb::field_schema::Kind::Text(pb::TextField {
            no_stem: true,
            ..pb::TextField::default()
        }),
    )
}

fn schema() -> pb::IndexSchema {
    use pb::field_schema::Kind;
    pb::IndexSchema {
        fields: vec![
            exact_text("title"),
            exact_text("body"),
            field("kinds", false, Kind::Tag(pb::TagField::default())),
            field(
                "year",
                false,
                Kind::Numeric(pb::NumericField { sortable: true }),
            ),
            field("rating", false, Kind::Numeric(pb::NumericField::default())),
            field("location", false, Kind::Geo(pb::GeoField {})),
            field("doi", true, Kind::Tag(pb::TagField::default())),
            field(
                "embedding",
                false,
                Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: DIMENSION as u32,
                    metric: pb::DistanceMetric::Cosine as i32,
                    ..Default::default()
                }),
            ),
        ],
    }
}

fn value(kind: pb::field_value::Kind) -> pb::FieldValue {
    pb::FieldValue { kind: Some(kind) }
}

fn to_document(doc: &Doc) -> pb::Document {
    use pb::field_value::Kind;
    let mut fields = HashMap::new();
    fields.insert("title".to_owned(), value(Kind::Text(doc.title.join(" "))));
    fields.insert("body".to_owned(), value(Kind::Text(doc.body.join(" "))));
    fields.insert(
        "kinds".to_owned(),
        value(Kind::Tags(pb::TagList {
            values: doc.kinds.iter().map(|kind| (*kind).to_owned()).collect(),
        })),
    );
    fields.insert("year".to_owned(), value(Kind::Number(doc.year)));
    fields.insert("rating".to_owned(), value(Kind::Number(doc.rating)));
    fields.insert(
        "location".to_owned(),
        value(Kind::Geo(pb::GeoPoint {
            longitude: doc.location.0,
            latitude: doc.location.1,
        })),
    );
    if let Some(doi) = &doc.doi {
        fields.insert(
            "doi".to_owned(),
            value(Kind::Tags(pb::TagList {
                values: vec![doi.clone()],
            })),
        );
    }
    let mut vectors = HashMap::new();
    vectors.insert(
        "embedding".to_owned(),
        pb::Vector {
            values: doc.vector.clone(),
        },
    );
    pb::Document {
        id: doc.id.clone(),
        fields,
        vectors,
    }
}

/// Creates an index and waits until RediSearch finishes the scan of existing keys that FT.CREATE
/// starts. A document written during the scan is indexed twice, and until garbage collection BM25
/// counts it twice, so text scores would change from one query to the next.
async fn create_index(stack: &Stack, name: &str, schema: pb::IndexSchema) {
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: name.to_owned(),
            schema: Some(schema),
        })
        .await
        .unwrap_or_else(|status| panic!("CreateIndex {name} failed: {status}"));
    for _ in 0..500 {
        let info = admin
            .describe_index(pb::DescribeIndexRequest {
                name: name.to_owned(),
            })
            .await
            .expect("DescribeIndex")
            .into_inner()
            .index
            .expect("index info");
        if !info.indexing {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("index {name} was still scanning existing keys after 5 s");
}

async fn ingest(stack: &Stack, name: &str, documents: Vec<pb::Document>) {
    let num_documents = documents.len();
    let mut ingest = stack.ingest_client().await;
    let acks = ingest_all(&mut ingest, name, documents, 100).await;
    for ack in &acks {
        assert!(ack.errors.is_empty(), "ingest errors: {:?}", ack.errors);
    }
    let written: u32 = acks.iter().map(|ack| ack.num_written).sum();
    assert_eq!(written as usize, num_documents, "every document written");
}

/// Great-circle distance in kilometers, as Redis computes it.
fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let u = ((lat2 - lat1) / 2.0).sin();
    let v = ((lon2 - lon1) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1.cos() * lat2.cos() * v * v).sqrt().asin() / 1000.0
}

/// Levenshtein distance over characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn filter(condition: Condition) -> pb::Filter {
    pb::Filter {
        condition: Some(condition),
    }
}

fn tag_values(field: &str, values: &[&str]) -> pb::TagValues {
    pb::TagValues {
        field: field.to_owned(),
        values: values.iter().map(|value| (*value).to_owned()).collect(),
    }
}

fn year_range(min: Option<(f64, bool)>, max: Option<(f64, bool)>) -> pb::Filter {
    let bound = |(value, exclusive)| pb::NumericBound { value, exclusive };
    filter(Condition::NumericRange(pb::NumericRange {
        field: "year".to_owned(),
        min: min.map(bound),
        max: max.map(bound),
    }))
}

type Predicate = Box<dyn Fn(&Doc) -> bool>;

/// Lists every filter kind, with the predicate it is.
fn filter_cases() -> Vec<(&'static str, pb::Filter, Predicate)> {
    let in_radius = |doc: &Doc| haversine_km(doc.location, CENTER) <= RADIUS_KM;
    vec![
        (
            "tag any-of",
            filter(Condition::TagAnyOf(tag_values("kinds", &["beta", "gamma"]))),
            Box::new(|doc: &Doc| {
                doc.kinds
                    .iter()
                    .any(|kind| ["beta", "gamma"].contains(kind))
            }),
        ),
        (
            "tag none-of",
            filter(Condition::TagNoneOf(tag_values(
                "kinds",
                &["alpha", "delta"],
            ))),
            Box::new(|doc: &Doc| {
                !doc.kinds
                    .iter()
                    .any(|kind| ["alpha", "delta"].contains(kind))
            }),
        ),
        (
            "tag prefix",
            filter(Condition::TagPrefix(pb::TagPrefix {
                field: "kinds".to_owned(),
                prefix: "al".to_owned(),
            })),
            Box::new(|doc: &Doc| doc.kinds.iter().any(|kind| kind.starts_with("al"))),
        ),
        (
            "numeric closed range",
            year_range(Some((2000.0, false)), Some((2010.0, true))),
            Box::new(|doc: &Doc| (2000.0..2010.0).contains(&doc.year)),
        ),
        (
            "numeric open range",
            year_range(Some((2015.0, true)), None),
            Box::new(|doc: &Doc| doc.year > 2015.0),
        ),
        (
            "text phrase",
            filter(Condition::TextPhrase(pb::TextPhrase {
                field: "body".to_owned(),
                phrase: "river stone".to_owned(),
            })),
            Box::new(|doc: &Doc| doc.body.windows(2).any(|pair| pair == ["river", "stone"])),
        ),
        (
            "text any-of",
            filter(Condition::TextAnyOf(pb::TextTerms {
                field: "title".to_owned(),
                terms: vec!["cedar".to_owned(), "quartz".to_owned()],
            })),
            Box::new(|doc: &Doc| {
                doc.title
                    .iter()
                    .any(|word| ["cedar", "quartz"].contains(word))
            }),
        ),
        (
            "text prefix",
            filter(Condition::TextPrefix(pb::TextPrefix {
                field: "title".to_owned(),
                prefix: "ri".to_owned(),
            })),
            Box::new(|doc: &Doc| doc.title.iter().any(|word| word.starts_with("ri"))),
        ),
        (
            "text fuzzy",
            filter(Condition::TextFuzzy(pb::TextFuzzy {
                field: "body".to_owned(),
                term: "stove".to_owned(),
                distance: 1,
            })),
            Box::new(|doc: &Doc| doc.body.iter().any(|word| levenshtein(word, "stove") <= 1)),
        ),
        (
            "geo radius",
            filter(Condition::GeoRadius(pb::GeoRadius {
                field: "location".to_owned(),
                longitude: CENTER.0,
                latitude: CENTER.1,
                radius: RADIUS_KM,
                unit: pb::DistanceUnit::Kilometers as i32,
            })),
            Box::new(in_radius),
        ),
        (
            "missing",
            filter(Condition::Missing(pb::FieldMissing {
                field: "doi".to_owned(),
            })),
            Box::new(|doc: &Doc| doc.doi.is_none()),
        ),
        (
            "nested and, or, not",
            filter(Condition::AllOf(pb::FilterList {
                filters: vec![
                    filter(Condition::AnyOf(pb::FilterList {
                        filters: vec![
                            filter(Condition::TagAnyOf(tag_values("kinds", &["galaxy"]))),
                            year_range(None, Some((2000.0, false))),
                        ],
                    })),
                    filter(Condition::Not(Box::new(filter(Condition::TextAnyOf(
                        pb::TextTerms {
                            field: String::new(),
                            terms: vec!["amber".to_owned()],
                        },
                    ))))),
                ],
            })),
            Box::new(|doc: &Doc| {
                (doc.kinds.contains(&"galaxy") || doc.year <= 2000.0)
                    && !doc.words().any(|word| *word == "amber")
            }),
        ),
    ]
}

fn knn_request(query: &[f32], k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Knn as i32,
        vector: Some(pb::Vector {
            values: query.to_vec(),
        }),
        k,
        return_fields: vec!["year".to_owned()],
        ..Default::default()
    }
}

fn text_request(text: &str, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: text.to_owned(),
        k,
        return_fields: vec!["year".to_owned()],
        ..Default::default()
    }
}

fn hybrid_request(
    text: &str,
    query: &[f32],
    method: pb::fusion::Method,
    k: u32,
) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Hybrid as i32,
        text: text.to_owned(),
        vector: Some(pb::Vector {
            values: query.to_vec(),
        }),
        fusion: Some(pb::Fusion {
            method: Some(method),
        }),
        k,
        return_fields: vec!["year".to_owned()],
        ..Default::default()
    }
}

fn rrf(window: u32) -> pb::fusion::Method {
    pb::fusion::Method::Rrf(pb::ReciprocalRankFusion {
        constant: 0,
        window,
    })
}

fn query_vectors(seed: u64, count: usize) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..DIMENSION)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect()
        })
        .collect()
}

async fn search(client: &mut Client, request: pb::SearchRequest) -> pb::SearchResponse {
    client
        .search(request.clone())
        .await
        .unwrap_or_else(|status| panic!("Search failed: {status}\nrequest: {request:?}"))
        .into_inner()
}

fn ids(response: &pb::SearchResponse) -> Vec<&str> {
    response.hits.iter().map(|hit| hit.id.as_str()).collect()
}

/// A fused document as computed here: id, score, rank in the vector leg, rank in the text leg.
type Expected = (String, f64, Option<u32>, Option<u32>);

/// Fuses the hits of a KNN call and a TEXT call, sorted by score, then id. `score` combines a
/// document's vector hit and text hit, each with its rank.
fn fuse(
    vector: &[pb::SearchHit],
    text: &[pb::SearchHit],
    score: impl Fn(Option<(u32, &pb::SearchHit)>, Option<(u32, &pb::SearchHit)>) -> f64,
) -> Vec<Expected> {
    let mut all_ids: Vec<&str> = Vec::new();
    for hit in vector.iter().chain(text) {
        if !all_ids.contains(&hit.id.as_str()) {
            all_ids.push(&hit.id);
        }
    }
    let mut fused: Vec<Expected> = all_ids
        .into_iter()
        .map(|id| {
            let in_vector = vector
                .iter()
                .position(|hit| hit.id == id)
                .map(|p| (p as u32 + 1, &vector[p]));
            let in_text = text
                .iter()
                .position(|hit| hit.id == id)
                .map(|p| (p as u32 + 1, &text[p]));
            (
                id.to_owned(),
                score(in_vector, in_text),
                in_vector.map(|(rank, _)| rank),
                in_text.map(|(rank, _)| rank),
            )
        })
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

/// Asserts that HYBRID hits equal the fusion computed here, position by position. Scores closer than
/// 1e-9 may come in either order.
fn assert_fused(hits: &[pb::SearchHit], expected: &[Expected], case: &str) {
    let k = hits.len().min(expected.len());
    assert_eq!(hits.len(), k, "{case}: number of hits");
    for (position, hit) in hits.iter().enumerate() {
        let (id, score, vector_rank, text_rank) = &expected[position];
        assert!(
            (hit.score - score).abs() < 1e-9,
            "{case}: position {position}: score {} vs expected {score} ({id})",
            hit.score
        );
        if hit.id != *id {
            let tied = expected.iter().any(|(other, other_score, _, _)| {
                *other == hit.id && (other_score - score).abs() < 1e-9
            });
            assert!(
                tied,
                "{case}: position {position} holds {} but the fusion puts {id} there",
                hit.id
            );
            continue;
        }
        assert_eq!(hit.vector_rank, *vector_rank, "{case}: vector rank of {id}");
        assert_eq!(hit.text_rank, *text_rank, "{case}: text rank of {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_kinds_end_to_end() {
    let stack = Stack::start(StackOptions::default()).await;
    let docs = corpus();
    create_index(&stack, INDEX, schema()).await;
    ingest(&stack, INDEX, docs.iter().map(to_document).collect()).await;
    let mut client = stack.search_client().await;

    check_rrf_matches_legs(&mut client).await;
    check_linear_matches_legs(&mut client).await;
    check_filters_match_brute_force(&mut client, &docs).await;
    check_facets(&mut client, &docs).await;
    check_sort_by(&mut client, &docs).await;
    check_paging(&mut client).await;
    check_count_only(&mut client, &docs).await;
    check_range(&mut client, &docs).await;
    check_text_highlights(&mut client, &docs).await;
    check_lucky(&mut client).await;
    check_batch(&mut client).await;
    check_special_tags(&stack, &mut client).await;
}

/// HYBRID with reciprocal rank fusion equals the fusion of a KNN call and a TEXT call with the same
/// window and filter.
async fn check_rrf_matches_legs(client: &mut Client) {
    let queries = query_vectors(11, 5);
    let filters = [None, Some(year_range(Some((2000.0, false)), None))];
    for (number, query) in queries.iter().enumerate() {
        for filter in &filters {
            let case = format!("RRF query {number}, filter {}", filter.is_some());
            let text = "river stone falcon";
            let vector_leg = search(
                client,
                pb::SearchRequest {
                    filter: filter.clone(),
                    ..knn_request(query, WINDOW)
                },
            )
            .await;
            let text_leg = search(
                client,
                pb::SearchRequest {
                    filter: filter.clone(),
                    ..text_request(text, WINDOW)
                },
            )
            .await;
            let expected = fuse(&vector_leg.hits, &text_leg.hits, |v, t| {
                v.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
                    + t.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
            });
            let response = search(
                client,
                pb::SearchRequest {
                    filter: filter.clone(),
                    ..hybrid_request(text, query, rrf(WINDOW), 25)
                },
            )
            .await;
            assert_fused(&response.hits, &expected, &case);
            assert_eq!(
                response.total, vector_leg.total,
                "{case}: total counts the documents that pass the filter"
            );
            assert_eq!(response.mode, pb::SearchMode::Hybrid as i32, "{case}: mode");
            for hit in &response.hits {
                if let Some(rank) = hit.text_rank {
                    let leg = &text_leg.hits[rank as usize - 1];
                    assert_eq!(
                        hit.text_score,
                        Some(leg.score),
                        "{case}: text score of {}",
                        hit.id
                    );
                }
                if let Some(rank) = hit.vector_rank {
                    let leg = &vector_leg.hits[rank as usize - 1];
                    assert_eq!(hit.distance, leg.distance, "{case}: distance of {}", hit.id);
                    assert_eq!(
                        hit.similarity, leg.similarity,
                        "{case}: similarity of {}",
                        hit.id
                    );
                }
                assert!(
                    hit.fields.contains_key("year"),
                    "{case}: {} returns its fields",
                    hit.id
                );
            }
        }
    }
}

/// HYBRID with linear fusion equals w · (1 − d/2) + (1 − w) · t / t_max over the same legs.
async fn check_linear_matches_legs(client: &mut Client) {
    let queries = query_vectors(12, 4);
    for (number, query) in queries.iter().enumerate() {
        for weight in [0.2, 0.5, 0.9] {
            let case = format!("linear query {number}, weight {weight}");
            let text = "cedar walnut orchid";
            let vector_leg = search(client, knn_request(query, WINDOW)).await;
            let text_leg = search(client, text_request(text, WINDOW)).await;
            let best_text = text_leg
                .hits
                .iter()
                .map(|hit| hit.score)
                .fold(0.0, f64::max);
            let expected = fuse(&vector_leg.hits, &text_leg.hits, |v, t| {
                let similarity =
                    v.map_or(0.0, |(_, hit)| 1.0 - f64::from(hit.distance.unwrap()) / 2.0);
                let text_share = t.map_or(0.0, |(_, hit)| hit.score / best_text);
                weight * similarity + (1.0 - weight) * text_share
            });
            let method = pb::fusion::Method::Linear(pb::LinearFusion {
                vector_weight: Some(weight),
                window: WINDOW,
            });
            let response = search(client, hybrid_request(text, query, method, 30)).await;
            assert_fused(&response.hits, &expected, &case);
        }
    }
}

/// For every filter kind: KNN on the FLAT index equals the brute-force top 10 of the documents that pass
/// the filter, its total counts them, and HYBRID and TEXT return only such documents.
async fn check_filters_match_brute_force(client: &mut Client, docs: &[Doc]) {
    let queries = query_vectors(13, 3);
    for (name, filter, keep) in filter_cases() {
        let passing: Vec<&Doc> = docs.iter().filter(|doc| keep(doc)).collect();
        assert!(
            !passing.is_empty(),
            "{name}: the corpus has documents that pass"
        );
        assert!(
            passing.len() < docs.len(),
            "{name}: the corpus has documents that fail"
        );
        for (number, query) in queries.iter().enumerate() {
            let case = format!("{name}, query {number}");
            let response = search(
                client,
                pb::SearchRequest {
                    filter: Some(filter.clone()),
                    ..knn_request(query, 10)
                },
            )
            .await;
            let expected = exact_top_k(
                query,
                passing
                    .iter()
                    .map(|doc| (doc.id.as_str(), doc.vector.as_slice())),
                10,
            );
            let expected_ids: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(ids(&response), expected_ids, "{case}: KNN hits");
            for (hit, (_, distance)) in response.hits.iter().zip(&expected) {
                let returned = f64::from(hit.distance.unwrap());
                assert!(
                    (returned - distance).abs() < DISTANCE_TOLERANCE,
                    "{case}: distance of {}",
                    hit.id
                );
            }
            assert_eq!(response.total as usize, passing.len(), "{case}: KNN total");

            let hybrid = search(
                client,
                pb::SearchRequest {
                    filter: Some(filter.clone()),
                    ..hybrid_request("river timber", query, rrf(0), 20)
                },
            )
            .await;
            assert_eq!(hybrid.total as usize, passing.len(), "{case}: HYBRID total");
            for hit in &hybrid.hits {
                assert!(
                    passing.iter().any(|doc| doc.id == hit.id),
                    "{case}: HYBRID returned {}, which fails the filter",
                    hit.id
                );
            }
        }

        let text = search(
            client,
            pb::SearchRequest {
                filter: Some(filter.clone()),
                ..text_request("river timber", 200)
            },
        )
        .await;
        let expected_text: BTreeSet<&str> = passing
            .iter()
            .filter(|doc| {
                doc.words().any(|word| {
                    ["river", "timber"].contains(word)
                        || levenshtein(word, "river") <= 1
                        || levenshtein(word, "timber") <= 1
                })
            })
            .map(|doc| doc.id.as_str())
            .collect();
        let returned: BTreeSet<&str> = ids(&text).into_iter().collect();
        assert_eq!(returned, expected_text, "{name}: TEXT matches");
        assert_eq!(
            text.total as usize,
            expected_text.len(),
            "{name}: TEXT total"
        );
    }
}

/// Counts the TAG buckets expected over `docs`: most frequent first, ties by value, at most `limit`.
fn kind_counts<'d>(docs: impl Iterator<Item = &'d Doc>, limit: usize) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for doc in docs {
        for kind in &doc.kinds {
            *counts.entry(kind).or_default() += 1;
        }
    }
    let mut sorted: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(kind, count)| (kind.to_owned(), count))
        .collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted.truncate(limit);
    sorted
}

fn bucket_counts(result: &pb::FacetResult) -> Vec<(String, u64)> {
    result
        .buckets
        .iter()
        .map(|bucket| (bucket.value.clone(), bucket.count))
        .collect()
}

fn facet_requests() -> Vec<pb::FacetRequest> {
    vec![
        pb::FacetRequest {
            field: "kinds".to_owned(),
            limit: 4,
            ..Default::default()
        },
        pb::FacetRequest {
            field: "year".to_owned(),
            boundaries: vec![1990.0, 2000.0, 2005.0, 2030.0],
            ..Default::default()
        },
        pb::FacetRequest {
            field: "rating".to_owned(),
            interval: 1.5,
            ..Default::default()
        },
    ]
}

/// Asserts the three facets of [`facet_requests`] over the documents `matching`.
fn assert_facets(facets: &[pb::FacetResult], matching: &[&Doc], case: &str) {
    assert_eq!(facets.len(), 3, "{case}: one result per facet");
    assert_eq!(facets[0].field, "kinds", "{case}: facet order");
    assert_eq!(
        bucket_counts(&facets[0]),
        kind_counts(matching.iter().copied(), 4),
        "{case}: kinds"
    );

    let boundaries = [1990.0, 2000.0, 2005.0, 2030.0];
    let expected_years: Vec<(String, u64)> = boundaries
        .windows(2)
        .map(|pair| {
            let count = matching
                .iter()
                .filter(|doc| doc.year >= pair[0] && doc.year < pair[1])
                .count();
            (format!("[{}, {})", pair[0], pair[1]), count as u64)
        })
        .collect();
    assert_eq!(
        bucket_counts(&facets[1]),
        expected_years,
        "{case}: year buckets"
    );

    let mut ratings: BTreeMap<i64, u64> = BTreeMap::new();
    for doc in matching {
        *ratings
            .entry((doc.rating / 1.5).floor() as i64)
            .or_default() += 1;
    }
    let returned: Vec<(f64, u64)> = facets[2]
        .buckets
        .iter()
        .map(|bucket| {
            (
                bucket.min.expect("numeric buckets have a min"),
                bucket.count,
            )
        })
        .collect();
    let expected_ratings: Vec<(f64, u64)> = ratings
        .into_iter()
        .map(|(n, count)| (n as f64 * 1.5, count))
        .collect();
    assert_eq!(returned, expected_ratings, "{case}: rating buckets");
}

/// Facets count the documents that `total` counts: those that pass the filter for KNN and HYBRID, and
/// those that match for TEXT and RANGE.
async fn check_facets(client: &mut Client, docs: &[Doc]) {
    let query = &query_vectors(14, 1)[0];
    let kinds_filter = filter(Condition::TagAnyOf(tag_values(
        "kinds",
        &["alpha", "beta", "galaxy"],
    )));
    let keep = |doc: &&Doc| {
        doc.kinds
            .iter()
            .any(|kind| ["alpha", "beta", "galaxy"].contains(kind))
    };

    let knn = search(
        client,
        pb::SearchRequest {
            filter: Some(kinds_filter.clone()),
            facets: facet_requests(),
            ..knn_request(query, 5)
        },
    )
    .await;
    let passing: Vec<&Doc> = docs.iter().filter(keep).collect();
    assert_eq!(knn.total as usize, passing.len(), "KNN facets: total");
    assert_facets(&knn.facets, &passing, "KNN facets");

    let all = search(
        client,
        pb::SearchRequest {
            facets: facet_requests(),
            ..knn_request(query, 5)
        },
    )
    .await;
    let every: Vec<&Doc> = docs.iter().collect();
    assert_facets(&all.facets, &every, "KNN facets without a filter");

    let hybrid = search(
        client,
        pb::SearchRequest {
            filter: Some(kinds_filter.clone()),
            facets: facet_requests(),
            ..hybrid_request("meadow", query, rrf(0), 5)
        },
    )
    .await;
    assert_facets(&hybrid.facets, &passing, "HYBRID facets");

    let exact = pb::TextOptions {
        fuzzy_distance: Some(0),
        ..Default::default()
    };
    let text = search(
        client,
        pb::SearchRequest {
            text_options: Some(exact),
            facets: facet_requests(),
            ..text_request("meadow glacier", 5)
        },
    )
    .await;
    let matching: Vec<&Doc> = docs
        .iter()
        .filter(|doc| doc.words().any(|word| ["meadow", "glacier"].contains(word)))
        .collect();
    assert_eq!(text.total as usize, matching.len(), "TEXT facets: total");
    assert_facets(&text.facets, &matching, "TEXT facets");

    let threshold = 0.7;
    let within: Vec<&Doc> = docs
        .iter()
        .filter(|doc| cosine_distance(query, &doc.vector) <= threshold)
        .collect();
    assert!(
        docs.iter()
            .all(|doc| (cosine_distance(query, &doc.vector) - threshold).abs() > 1e-4),
        "no document lies on the RANGE threshold"
    );
    let range = search(
        client,
        pb::SearchRequest {
            facets: facet_requests(),
            ..range_request(query, threshold, 5)
        },
    )
    .await;
    assert_eq!(range.total as usize, within.len(), "RANGE facets: total");
    assert_facets(&range.facets, &within, "RANGE facets");
}

fn range_request(query: &[f32], threshold: f64, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            distance_threshold: threshold,
            ..Default::default()
        }),
        ..knn_request(query, k)
    }
}

fn year_of(docs: &[Doc], id: &str) -> f64 {
    docs.iter()
        .find(|doc| doc.id == id)
        .map(|doc| doc.year)
        .unwrap_or_else(|| panic!("unknown id {id}"))
}

/// sort_by orders TEXT, RANGE and HYBRID results by the field, and a field created without sortable is
/// rejected with its name.
async fn check_sort_by(client: &mut Client, docs: &[Doc]) {
    let query = &query_vectors(15, 1)[0];
    let by_year = |descending| {
        Some(pb::SortBy {
            field: "year".to_owned(),
            descending,
        })
    };

    let exact = pb::TextOptions {
        fuzzy_distance: Some(0),
        ..Default::default()
    };
    let text = search(
        client,
        pb::SearchRequest {
            sort_by: by_year(true),
            text_options: Some(exact),
            ..text_request("willow lantern", 200)
        },
    )
    .await;
    let matching: BTreeSet<&str> = docs
        .iter()
        .filter(|doc| doc.words().any(|word| ["willow", "lantern"].contains(word)))
        .map(|doc| doc.id.as_str())
        .collect();
    assert_eq!(
        ids(&text).into_iter().collect::<BTreeSet<_>>(),
        matching,
        "sorted TEXT keeps the matches"
    );
    let years: Vec<f64> = text.hits.iter().map(|hit| year_of(docs, &hit.id)).collect();
    assert!(
        years.windows(2).all(|pair| pair[0] >= pair[1]),
        "TEXT years descend: {years:?}"
    );

    let range = search(
        client,
        pb::SearchRequest {
            sort_by: by_year(false),
            ..range_request(query, 0.9, 200)
        },
    )
    .await;
    let years: Vec<f64> = range
        .hits
        .iter()
        .map(|hit| year_of(docs, &hit.id))
        .collect();
    assert!(!years.is_empty(), "RANGE finds documents");
    assert!(
        years.windows(2).all(|pair| pair[0] <= pair[1]),
        "RANGE years ascend: {years:?}"
    );

    // HYBRID sorts the fused candidates of the window: the fusion of the legs, by year, then fused order.
    let vector_leg = search(client, knn_request(query, 30)).await;
    let text_leg = search(client, text_request("harbor", 30)).await;
    let mut fused = fuse(&vector_leg.hits, &text_leg.hits, |v, t| {
        v.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
            + t.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
    });
    fused.sort_by(|a, b| year_of(docs, &a.0).total_cmp(&year_of(docs, &b.0)));
    let hybrid = search(
        client,
        pb::SearchRequest {
            sort_by: by_year(false),
            ..hybrid_request("harbor", query, rrf(30), 30)
        },
    )
    .await;
    let expected: Vec<&str> = fused
        .iter()
        .take(30)
        .map(|(id, _, _, _)| id.as_str())
        .collect();
    assert_eq!(
        ids(&hybrid),
        expected,
        "HYBRID sorts the fused candidates by year"
    );

    let knn = search(
        client,
        pb::SearchRequest {
            sort_by: by_year(true),
            ..knn_request(query, 10)
        },
    )
    .await;
    let nearest = search(client, knn_request(query, 10)).await;
    let years: Vec<f64> = knn.hits.iter().map(|hit| year_of(docs, &hit.id)).collect();
    assert!(
        years.windows(2).all(|pair| pair[0] >= pair[1]),
        "KNN years descend: {years:?}"
    );
    assert_eq!(
        ids(&knn).into_iter().collect::<BTreeSet<_>>(),
        ids(&nearest).into_iter().collect::<BTreeSet<_>>(),
        "sorted KNN holds the nearest neighbours"
    );

    let status = client
        .search(pb::SearchRequest {
            sort_by: Some(pb::SortBy {
                field: "rating".to_owned(),
                descending: false,
            }),
            ..text_request("river", 10)
        })
        .await
        .expect_err("rating is not sortable");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("sort_by.field"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("\"rating\""),
        "{}",
        status.message()
    );
}

/// Pages of TEXT, KNN and HYBRID results concatenate to the whole ranking.
async fn check_paging(client: &mut Client) {
    let query = &query_vectors(16, 1)[0];
    let requests = [
        ("TEXT", text_request("river stone cloud clout", 40)),
        ("KNN", knn_request(query, 40)),
        ("HYBRID", hybrid_request("river stone", query, rrf(40), 40)),
    ];
    for (name, full_request) in requests {
        let full = search(client, full_request.clone()).await;
        assert_eq!(full.hits.len(), 40, "{name}: a full page");
        let mut paged: Vec<String> = Vec::new();
        for offset in (0..40).step_by(8) {
            let page = search(
                client,
                pb::SearchRequest {
                    k: 8,
                    offset,
                    ..full_request.clone()
                },
            )
            .await;
            assert_eq!(page.total, full.total, "{name}: total at offset {offset}");
            paged.extend(page.hits.into_iter().map(|hit| hit.id));
        }
        let full_ids: Vec<String> = full.hits.into_iter().map(|hit| hit.id).collect();
        assert_eq!(paged, full_ids, "{name}: pages concatenate to the ranking");
    }
}

/// count_only returns the total and no hits, for every mode.
async fn check_count_only(client: &mut Client, docs: &[Doc]) {
    let query = &query_vectors(17, 1)[0];
    let year_filter = year_range(Some((2005.0, false)), None);
    let passing = docs.iter().filter(|doc| doc.year >= 2005.0).count();
    let exact = pb::TextOptions {
        fuzzy_distance: Some(0),
        ..Default::default()
    };
    let matching = docs
        .iter()
        .filter(|doc| doc.year >= 2005.0 && doc.words().any(|word| *word == "pepper"))
        .count();
    let cases = [
        (
            "KNN",
            pb::SearchRequest {
                vector: None,
                ..knn_request(query, 0)
            },
            passing,
        ),
        (
            "HYBRID",
            hybrid_request("pepper", query, rrf(0), 0),
            passing,
        ),
        (
            "TEXT",
            pb::SearchRequest {
                text_options: Some(exact),
                ..text_request("pepper", 0)
            },
            matching,
        ),
    ];
    for (name, request, expected) in cases {
        let response = search(
            client,
            pb::SearchRequest {
                count_only: true,
                filter: Some(year_filter.clone()),
                ..request
            },
        )
        .await;
        assert!(response.hits.is_empty(), "{name}: no hits");
        assert_eq!(response.total as usize, expected, "{name}: total");
    }
}

/// RANGE returns every document within the threshold, nearest first.
async fn check_range(client: &mut Client, docs: &[Doc]) {
    for (number, query) in query_vectors(18, 3).iter().enumerate() {
        for threshold in [0.4, 0.8] {
            let case = format!("RANGE query {number}, threshold {threshold}");
            let mut expected: Vec<(&str, f64)> = docs
                .iter()
                .map(|doc| (doc.id.as_str(), cosine_distance(query, &doc.vector)))
                .filter(|(_, distance)| *distance <= threshold)
                .collect();
            expected.sort_by(|a, b| a.1.total_cmp(&b.1));
            assert!(
                docs.iter()
                    .all(|doc| (cosine_distance(query, &doc.vector) - threshold).abs() > 1e-4),
                "{case}: no document lies on the threshold"
            );
            let response = search(client, range_request(query, threshold, 200)).await;
            let expected_ids: Vec<&str> = expected.iter().map(|(id, _)| *id).collect();
            assert_eq!(ids(&response), expected_ids, "{case}: hits");
            assert_eq!(response.total as usize, expected.len(), "{case}: total");
            assert_eq!(response.mode, pb::SearchMode::Range as i32, "{case}: mode");
        }
    }
}

/// TEXT with highlight marks the matched words of the fields that match.
async fn check_text_highlights(client: &mut Client, docs: &[Doc]) {
    let options = pb::TextOptions {
        highlight: true,
        fuzzy_distance: Some(0),
        ..Default::default()
    };
    let response = search(
        client,
        pb::SearchRequest {
            text_options: Some(options),
            ..text_request("canyon", 100)
        },
    )
    .await;
    assert!(!response.hits.is_empty(), "canyon matches documents");
    for hit in &response.hits {
        let doc = docs.iter().find(|doc| doc.id == hit.id).unwrap();
        for field in ["title", "body"] {
            let contains = doc.field_words(field).contains(&"canyon");
            match hit.highlights.get(field) {
                Some(snippet) => {
                    assert!(
                        contains,
                        "{}: {field} has no canyon but a snippet {snippet}",
                        hit.id
                    );
                    assert!(
                        snippet.contains("<b>canyon</b>"),
                        "{}: {field} snippet {snippet}",
                        hit.id
                    );
                    let plain = snippet.replace("<b>", "").replace("</b>", "");
                    assert_eq!(
                        plain,
                        doc.field_words(field).join(" "),
                        "{}: short fields come back whole",
                        hit.id
                    );
                }
                None => assert!(
                    !contains,
                    "{}: {field} contains canyon but has no snippet",
                    hit.id
                ),
            }
        }
        assert!(
            hit.text_score.is_some_and(|score| score > 0.0),
            "{}: text score",
            hit.id
        );
    }
}

/// A lucky request without a mode runs HYBRID and returns its single best hit.
async fn check_lucky(client: &mut Client) {
    for query in &query_vectors(19, 3) {
        let best = search(client, hybrid_request("velvet quartz", query, rrf(0), 10)).await;
        let lucky = search(
            client,
            pb::SearchRequest {
                mode: pb::SearchMode::Unspecified as i32,
                lucky: true,
                k: 0,
                fusion: None,
                ..hybrid_request("velvet quartz", query, rrf(0), 0)
            },
        )
        .await;
        assert_eq!(
            lucky.mode,
            pb::SearchMode::Hybrid as i32,
            "lucky runs HYBRID"
        );
        assert_eq!(
            ids(&lucky),
            [best.hits[0].id.as_str()],
            "lucky returns the best hybrid hit"
        );
    }
}

/// Checks that SearchBatch returns a result for every query in order, each with the outcome of Search.
async fn check_batch(client: &mut Client) {
    let query = &query_vectors(20, 1)[0];
    let requests = vec![
        knn_request(query, 5),
        pb::SearchRequest {
            k: 0,
            ..knn_request(query, 5)
        },
        text_request("amber birch", 5),
        hybrid_request("amber birch", query, rrf(0), 5),
        range_request(query, 0.5, 5),
        pb::SearchRequest {
            index: "missing".to_owned(),
            ..text_request("amber", 5)
        },
        pb::SearchRequest {
            mode: pb::SearchMode::Text as i32,
            text: String::new(),
            ..text_request("", 5)
        },
    ];
    let expected_errors = [
        None,
        Some(Code::InvalidArgument),
        None,
        None,
        None,
        Some(Code::NotFound),
        Some(Code::InvalidArgument),
    ];
    let batch = client
        .search_batch(pb::SearchBatchRequest {
            requests: requests.clone(),
        })
        .await
        .expect("SearchBatch")
        .into_inner();
    assert_eq!(batch.results.len(), requests.len(), "one result per query");
    for (position, ((result, request), expected_error)) in batch
        .results
        .iter()
        .zip(&requests)
        .zip(expected_errors)
        .enumerate()
    {
        match (&result.outcome, expected_error) {
            (Some(pb::search_batch_result::Outcome::Response(response)), None) => {
                let alone = search(client, request.clone()).await;
                assert_eq!(
                    ids(response),
                    ids(&alone),
                    "query {position}: same hits as Search"
                );
                assert_eq!(
                    response.total, alone.total,
                    "query {position}: same total as Search"
                );
            }
            (Some(pb::search_batch_result::Outcome::Error(error)), Some(code)) => {
                assert_eq!(
                    error.code, code as i32,
                    "query {position}: {}",
                    error.message
                );
                let status = client
                    .search(request.clone())
                    .await
                    .expect_err("Search fails too");
                assert_eq!(
                    error.message,
                    status.message(),
                    "query {position}: same message as Search"
                );
            }
            (outcome, expected) => {
                panic!("query {position}: expected error {expected:?}, got {outcome:?}")
            }
        }
    }
}

/// Checks that tag values with each query-syntax character, spaces and non-ASCII letters match exactly
/// the one document that contains them, through the indexer and the searcher.
async fn check_special_tags(stack: &Stack, client: &mut Client) {
    use pb::field_schema::Kind;
    let mut values: Vec<String> = Vec::new();
    for special in [
        '.', '-', '|', '{', '}', '\\', '"', '\'', '*', '?', '@', ':', ';', ',', '/', '(', ')', '[',
        ']', '~', '!',
    ] {
        values.push(format!("a{special}b"));
        values.push(format!("{special}x"));
        values.push(format!("x{special}"));
    }
    values.extend(
        [
            "ab",
            "a b",
            "a  b",
            "two words here",
            "café",
            "CAFÉ",
            "Café",
            "日本語",
            "naïve-ü",
            "Ελλάδα",
        ]
        .map(str::to_owned),
    );

    let schema = pb::IndexSchema {
        fields: vec![
            field(
                "label",
                false,
                Kind::Tag(pb::TagField {
                    separator: "^".to_owned(),
                    case_sensitive: true,
                    sortable: false,
                }),
            ),
            field(
                "embedding",
                false,
                Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 2,
                    metric: pb::DistanceMetric::L2 as i32,
                    ..Default::default()
                }),
            ),
        ],
    };
    create_index(stack, "specials", schema).await;
    let documents = values
        .iter()
        .enumerate()
        .map(|(position, label)| {
            let mut fields = HashMap::new();
            fields.insert(
                "label".to_owned(),
                value(pb::field_value::Kind::Tags(pb::TagList {
                    values: vec![label.clone()],
                })),
            );
            let mut vectors = HashMap::new();
            vectors.insert(
                "embedding".to_owned(),
                pb::Vector {
                    values: vec![position as f32, 0.0],
                },
            );
            pb::Document {
                id: format!("s{position}"),
                fields,
                vectors,
            }
        })
        .collect();
    ingest(stack, "specials", documents).await;

    for (position, label) in values.iter().enumerate() {
        let request = pb::SearchRequest {
            index: "specials".to_owned(),
            mode: pb::SearchMode::Knn as i32,
            vector: Some(pb::Vector {
                values: vec![0.0, 0.0],
            }),
            k: 5,
            filter: Some(filter(Condition::TagAnyOf(tag_values("label", &[label])))),
            ..Default::default()
        };
        let response = search(client, request.clone()).await;
        assert_eq!(
            ids(&response),
            [format!("s{position}").as_str()],
            "{label:?} matches its document only"
        );
        assert_eq!(response.total, 1, "{label:?}: total");

        let excluded = search(
            client,
            pb::SearchRequest {
                filter: Some(filter(Condition::TagNoneOf(tag_values("label", &[label])))),
                count_only: true,
                k: 0,
                vector: None,
                ..request
            },
        )
        .await;
        assert_eq!(
            excluded.total as usize,
            values.len() - 1,
            "{label:?}: none-of leaves out one document"
        );
    }
}

/// Checks, with the real model, that the searcher embeds HYBRID text with the model that built the index
/// and that the fusion equals that of the KNN and TEXT calls. A model or dimension that differs from
/// the index's is rejected with both named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_with_model_end_to_end() {
    let Some(model_dir) = model_dir() else {
        return;
    };
    let stack = Stack::start(StackOptions {
        model_dir: Some(model_dir),
        settings: Vec::new(),
    })
    .await;
    use pb::field_schema::Kind;
    let semantic = pb::IndexSchema {
        fields: vec![
            exact_text("title"),
            field(
                "embedding",
                false,
                Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 384,
                    metric: pb::DistanceMetric::Cosine as i32,
                    embedding_source_fields: vec!["title".to_owned()],
                    ..Default::default()
                }),
            ),
        ],
    };
    create_index(&stack, "semantic", semantic).await;
    let titles = [
        "graph neural networks for molecules",
        "convolutional networks for image recognition",
        "attention for machine translation",
        "black hole thermodynamics",
        "dark matter halos in simulations",
        "quantum error correction codes",
        "protein folding with deep learning",
        "stochastic gradient descent convergence",
        "galaxy clusters and cosmic structure",
        "superconducting qubits and decoherence",
        "reinforcement learning for robot control",
        "topological insulators and edge states",
    ];
    let documents = titles
        .iter()
        .enumerate()
        .map(|(position, title)| {
            let mut fields = HashMap::new();
            fields.insert(
                "title".to_owned(),
                value(pb::field_value::Kind::Text((*title).to_owned())),
            );
            pb::Document {
                id: format!("t{position}"),
                fields,
                vectors: HashMap::new(),
            }
        })
        .collect();
    ingest(&stack, "semantic", documents).await;
    let mut client = stack.search_client().await;

    // Every word of these queries is in the index, so no spelling correction changes the text that
    // HYBRID embeds, and its vector leg equals the KNN call.
    for text in [
        "neural networks for molecules",
        "qubits",
        "galaxy clusters and cosmic structure",
    ] {
        let knn = search(
            &mut client,
            pb::SearchRequest {
                index: "semantic".to_owned(),
                mode: pb::SearchMode::Knn as i32,
                text: text.to_owned(),
                k: 12,
                ..Default::default()
            },
        )
        .await;
        let text_leg = search(
            &mut client,
            pb::SearchRequest {
                index: "semantic".to_owned(),
                mode: pb::SearchMode::Text as i32,
                text: text.to_owned(),
                k: 12,
                ..Default::default()
            },
        )
        .await;
        let expected = fuse(&knn.hits, &text_leg.hits, |v, t| {
            v.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
                + t.map_or(0.0, |(rank, _)| 1.0 / (60.0 + f64::from(rank)))
        });
        let hybrid = search(
            &mut client,
            pb::SearchRequest {
                index: "semantic".to_owned(),
                mode: pb::SearchMode::Hybrid as i32,
                text: text.to_owned(),
                fusion: Some(pb::Fusion {
                    method: Some(rrf(12)),
                }),
                k: 12,
                ..Default::default()
            },
        )
        .await;
        assert_fused(&hybrid.hits, &expected, &format!("model HYBRID {text:?}"));
    }
    let lucky = search(
        &mut client,
        pb::SearchRequest {
            index: "semantic".to_owned(),
            text: "qubits and decoherence".to_owned(),
            lucky: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&lucky), ["t9"], "lucky finds the qubit paper");

    // An index whose vectors come from another model of the same dimension.
    let other = pb::IndexSchema {
        fields: vec![
            exact_text("title"),
            field(
                "embedding",
                false,
                Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 384,
                    metric: pb::DistanceMetric::Cosine as i32,
                    model: "other-model".to_owned(),
                    ..Default::default()
                }),
            ),
        ],
    };
    create_index(&stack, "other", other).await;
    let status = client
        .search(pb::SearchRequest {
            index: "other".to_owned(),
            mode: pb::SearchMode::Hybrid as i32,
            text: "qubits".to_owned(),
            k: 5,
            ..Default::default()
        })
        .await
        .expect_err("text embedded by a different model");
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "{}",
        status.message()
    );
    for part in ["\"all-MiniLM-L6-v2\"", "\"other-model\"", "dimension 384"] {
        assert!(
            status.message().contains(part),
            "the message names {part}: {}",
            status.message()
        );
    }
    let status = client
        .search(pb::SearchRequest {
            index: "other".to_owned(),
            mode: pb::SearchMode::Knn as i32,
            vector: Some(pb::Vector {
                values: vec![0.1; 384],
            }),
            vector_options: Some(pb::VectorOptions {
                model: "caller-model".to_owned(),
                ..Default::default()
            }),
            k: 5,
            ..Default::default()
        })
        .await
        .expect_err("a vector from a different model");
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    for part in [
        "\"caller-model\"",
        "\"other-model\"",
        "384 values",
        "dimension 384",
    ] {
        assert!(
            status.message().contains(part),
            "the message names {part}: {}",
            status.message()
        );
    }

    // An index of another dimension without a recorded model.
    let small = pb::IndexSchema {
        fields: vec![
            exact_text("title"),
            field(
                "embedding",
                false,
                Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 8,
                    metric: pb::DistanceMetric::Cosine as i32,
                    ..Default::default()
                }),
            ),
        ],
    };
    create_index(&stack, "small", small).await;
    let status = client
        .search(pb::SearchRequest {
            index: "small".to_owned(),
            mode: pb::SearchMode::Knn as i32,
            text: "qubits".to_owned(),
            k: 5,
            ..Default::default()
        })
        .await
        .expect_err("text embedded into another dimension");
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "{}",
        status.message()
    );
    for part in ["\"all-MiniLM-L6-v2\"", "dimension 384", "dimension 8"] {
        assert!(
            status.message().contains(part),
            "the message names {part}: {}",
            status.message()
        );
    }
}
