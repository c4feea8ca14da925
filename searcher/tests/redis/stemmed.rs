//! TEXT, HYBRID and filtered queries over a stemmed TEXT field against a real Redis Stack. The tests
//! cover words that the RediSearch query lexer reads as keywords or numbers, and the totals of
//! misspelled words whose spelling corrections expand to other forms of their stem.

use std::collections::BTreeSet;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use docsearch_runtime::vector;

use crate::common::{Fixture, numeric_field, text_field, vector_field};

const INDEX: &str = "stemmed";

/// Id, title and year of each document. The title field is stemmed, so the index also stores the stem
/// of each word, and a query word matches the other forms of its stem.
const DOCUMENTS: [(&str, &str, f64); 12] = [
    ("a", "ismissing values in tables", 2001.0),
    ("b", "counting ismissings", 2002.0),
    ("c", "exists and isempty checks", 2003.0),
    ("d", "an inf loop", 2004.0),
    ("e", "speed of 1e5 units", 2005.0),
    ("f", "philosophers of greece", 2006.0),
    ("g", "the philosopher king", 2007.0),
    ("h", "philosophical essays", 2008.0),
    ("i", "mosquito nets", 2009.0),
    ("j", "many mosquitoes", 2010.0),
    ("k", "mosquito bites", 2011.0),
    ("l", "unrelated words", 2012.0),
];

async fn fixture() -> Fixture {
    let schema = pb::IndexSchema {
        fields: vec![
            text_field("title"),
            numeric_field("year"),
            vector_field(
                "embedding",
                2,
                pb::VectorAlgorithm::Flat,
                pb::DistanceMetric::Cosine,
            ),
        ],
    };
    let fixture = Fixture::start(INDEX, schema).await;
    for (position, (id, title, year)) in DOCUMENTS.iter().enumerate() {
        fixture
            .put(
                INDEX,
                id,
                &[
                    ("title", title.as_bytes().to_vec()),
                    ("year", year.to_string().into_bytes()),
                    ("embedding", vector::encode(&[1.0, position as f32])),
                ],
            )
            .await;
    }
    fixture
}

fn text_request(text: &str, fuzzy_distance: Option<u32>) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: text.to_owned(),
        text_options: Some(pb::TextOptions {
            fuzzy_distance,
            ..pb::TextOptions::default()
        }),
        k: 50,
        ..pb::SearchRequest::default()
    }
}

fn ids(response: &pb::SearchResponse) -> BTreeSet<&str> {
    response.hits.iter().map(|hit| hit.id.as_str()).collect()
}

fn set<'a>(ids: &[&'a str]) -> BTreeSet<&'a str> {
    ids.iter().copied().collect()
}

#[tokio::test]
async fn lexer_words_match_their_documents() {
    let fixture = fixture().await;
    // "ismissing" also matches "ismissings" through its stem. The lexer reads "inf" and "1e5" as numbers.
    let cases: [(&str, &[&str]); 8] = [
        ("ismissing", &["a", "b"]),
        ("ISMISSING", &["a", "b"]),
        ("IsMissing tables", &["a", "b"]),
        ("exists", &["c"]),
        ("isempty", &["c"]),
        ("INF", &["d"]),
        ("Inf", &["d"]),
        ("1E5", &["e"]),
    ];
    for (text, expected) in cases {
        for fuzzy_distance in [None, Some(0), Some(2)] {
            let response = fixture
                .search(text_request(text, fuzzy_distance))
                .await
                .unwrap_or_else(|status| panic!("{text:?} ({fuzzy_distance:?}): {status:?}"));
            assert_eq!(
                ids(&response),
                set(expected),
                "{text:?} ({fuzzy_distance:?})"
            );
            assert_eq!(response.total, expected.len() as u64, "{text:?}");
        }
    }
}

#[tokio::test]
async fn lexer_words_match_in_hybrid() {
    let fixture = fixture().await;
    let request = pb::SearchRequest {
        mode: pb::SearchMode::Hybrid as i32,
        vector: Some(pb::Vector {
            values: vec![1.0, 0.0],
        }),
        k: 3,
        ..text_request("ISMISSING", None)
    };
    let response = fixture.search(request).await.unwrap();
    let text_hits: BTreeSet<&str> = response
        .hits
        .iter()
        .filter(|hit| hit.text_rank.is_some())
        .map(|hit| hit.id.as_str())
        .collect();
    assert_eq!(text_hits, set(&["a", "b"]));
}

#[tokio::test]
async fn lexer_words_match_in_filter_without_field() {
    let fixture = fixture().await;
    let filter = pb::Filter {
        condition: Some(Condition::TextAnyOf(pb::TextTerms {
            field: String::new(),
            terms: vec!["ISMISSING".to_owned(), "Inf".to_owned()],
        })),
    };
    let request = pb::SearchRequest {
        filter: Some(filter.clone()),
        ..text_request("counting values loop greece", Some(0))
    };
    let response = fixture.search(request).await.unwrap();
    assert_eq!(ids(&response), set(&["a", "b", "d"]));
    assert_eq!(response.total, 3);

    // RediSearch 2.10.5 matches the words of a filter inside a KNN query without their stems, so
    // "ismissings" (b) need not be among the neighbours.
    let request = pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Knn as i32,
        vector: Some(pb::Vector {
            values: vec![1.0, 0.0],
        }),
        filter: Some(filter),
        k: 10,
        ..pb::SearchRequest::default()
    };
    let response = fixture.search(request).await.unwrap();
    let neighbours = ids(&response);
    assert!(
        neighbours.is_subset(&set(&["a", "b", "d"])),
        "{neighbours:?}"
    );
    assert!(neighbours.contains("a"), "{neighbours:?}");
    assert!(neighbours.contains("d"), "{neighbours:?}");
}

#[tokio::test]
async fn corrected_words_total_counts_hits() {
    let fixture = fixture().await;
    // "philosphers" is one edit from its spelling correction "philosophers", whose stem also matches
    // "philosopher" and "philosophical". "mosqutio" is two edits from "mosquito", whose stem also
    // matches "mosquitoes".
    for (text, fuzzy_distance) in [("philosphers", Some(1)), ("mosqutio", None)] {
        let response = fixture
            .search(text_request(text, fuzzy_distance))
            .await
            .unwrap();
        assert!(!response.hits.is_empty(), "{text:?} matches");
        assert_eq!(
            response.total,
            response.hits.len() as u64,
            "{text:?}: the total counts the hits {:?}",
            ids(&response)
        );

        let count = fixture
            .search(pb::SearchRequest {
                count_only: true,
                k: 0,
                ..text_request(text, fuzzy_distance)
            })
            .await
            .unwrap();
        assert_eq!(count.total, response.total, "{text:?}: count_only");

        let past_end = fixture
            .search(pb::SearchRequest {
                offset: response.total as u32,
                ..text_request(text, fuzzy_distance)
            })
            .await
            .unwrap();
        assert!(
            past_end.hits.is_empty(),
            "{text:?}: a page after the total is empty: {:?}",
            ids(&past_end)
        );

        let faceted = fixture
            .search(pb::SearchRequest {
                facets: vec![pb::FacetRequest {
                    field: "year".to_owned(),
                    interval: 100.0,
                    ..pb::FacetRequest::default()
                }],
                ..text_request(text, fuzzy_distance)
            })
            .await
            .unwrap();
        let faceted_count: u64 = faceted.facets[0]
            .buckets
            .iter()
            .map(|bucket| bucket.count)
            .sum();
        assert_eq!(faceted_count, response.total, "{text:?}: facets");
    }
}
