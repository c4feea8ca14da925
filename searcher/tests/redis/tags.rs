//! Filter values with query-syntax characters, against a real Redis Stack: each tag value matches the
//! one document that contains it and no other, and RediSearch accepts every compiled filter.

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use docsearch_runtime::vector;

use crate::common::{Fixture, Rng, tag_field, text_field, vector_field};

const INDEX: &str = "tags";

/// Tag values built around each character that means something in query syntax, with look-alikes
/// that differ only in that character.
fn special_values() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for special in [
        '.', '-', '|', '{', '}', '\\', '"', '\'', '*', '?', '@', ':', ';', ',', '/', '(', ')', '[',
        ']', '~', '!', '$', '%', '=', '+', '<', '>', '&', '#', '`', '_',
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
            "a\tb",
            "café",
            "CAFÉ",
            "日本語",
            "naïve-ü",
            "emoji 🙂",
            "as",
            "inf",
            "-inf",
            "1e5",
            "12",
            "isempty",
            "ismissing",
            "KNN",
            "$K",
            "a|b|c",
            "{a}",
            r"\\",
            "@title:x",
            "w'x'",
            "(-@tags:{x})",
        ]
        .map(str::to_owned),
    );
    for (position, value) in values.iter().enumerate() {
        assert!(
            !values[..position].contains(value),
            "{value:?} is listed twice"
        );
    }
    values
}

fn schema() -> pb::IndexSchema {
    pb::IndexSchema {
        fields: vec![
            // "^" separates stored values because no test value contains it.
            tag_field("tags", "^", true, false),
            text_field("title"),
            vector_field(
                "embedding",
                2,
                pb::VectorAlgorithm::Flat,
                pb::DistanceMetric::L2,
            ),
        ],
    }
}

async fn fixture(values: &[String]) -> Fixture {
    let fixture = Fixture::start(INDEX, schema()).await;
    for (position, value) in values.iter().enumerate() {
        fixture
            .put(
                INDEX,
                &format!("d{position}"),
                &[
                    ("tags", value.clone().into_bytes()),
                    ("title", value.clone().into_bytes()),
                    ("embedding", vector::encode(&[position as f32, 0.0])),
                ],
            )
            .await;
    }
    fixture
}

fn request(filter: pb::Filter, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        vector: Some(pb::Vector {
            values: vec![0.0, 0.0],
        }),
        filter: Some(filter),
        k,
        ..pb::SearchRequest::default()
    }
}

fn tag_any_of(value: &str) -> pb::Filter {
    pb::Filter {
        condition: Some(Condition::TagAnyOf(pb::TagValues {
            field: "tags".to_owned(),
            values: vec![value.to_owned()],
        })),
    }
}

#[tokio::test]
async fn special_tag_matches_only_itself() {
    let values = special_values();
    let fixture = fixture(&values).await;
    for (position, value) in values.iter().enumerate() {
        let response = fixture
            .search(request(tag_any_of(value), 10))
            .await
            .unwrap_or_else(|status| panic!("{value:?}: {status:?}"));
        let ids: Vec<&str> = response.hits.iter().map(|hit| hit.id.as_str()).collect();
        assert_eq!(ids, vec![format!("d{position}")], "tag {value:?}");
        assert_eq!(response.total, 1, "tag {value:?}");
    }
}

#[tokio::test]
async fn special_tag_excluded_alone() {
    let values = special_values();
    let fixture = fixture(&values).await;
    for value in ["a|b", "a\\b", "{x", "a b", "café"] {
        let filter = pb::Filter {
            condition: Some(Condition::TagNoneOf(pb::TagValues {
                field: "tags".to_owned(),
                values: vec![value.to_owned()],
            })),
        };
        let response = fixture.search(request(filter, 1)).await.unwrap();
        assert_eq!(response.total, values.len() as u64 - 1, "tag {value:?}");
    }
}

#[tokio::test]
async fn special_tag_prefix_matches_literally() {
    let values = special_values();
    let fixture = fixture(&values).await;
    for prefix in ["a|", "a*", "a\\b", "{a", "a ", "\\x", "日本"] {
        let filter = pb::Filter {
            condition: Some(Condition::TagPrefix(pb::TagPrefix {
                field: "tags".to_owned(),
                prefix: prefix.to_owned(),
            })),
        };
        let response = fixture.search(request(filter, 100)).await.unwrap();
        let mut ids: Vec<String> = response.hits.iter().map(|hit| hit.id.clone()).collect();
        ids.sort();
        let mut expected: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, value)| value.starts_with(prefix))
            .map(|(position, _)| format!("d{position}"))
            .collect();
        expected.sort();
        assert_eq!(ids, expected, "prefix {prefix:?}");
    }
}

/// Random values from the characters that stress escaping; RediSearch must accept every compiled
/// filter, and tag filters must match only documents holding the value.
#[tokio::test]
async fn random_values_parse_in_redis() {
    const ALPHABET: &str = "{}|()[]\"'\\@:*?~-!$%;,/ .=+<>^&#`_\tabcxyzé日🙂";
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    let values = special_values();
    let fixture = fixture(&values).await;
    let mut rng = Rng::new(2024);

    for _ in 0..300 {
        let length = 1 + rng.below(12);
        let value: String = (0..length)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let conditions = [
            Condition::TagAnyOf(pb::TagValues {
                field: "tags".to_owned(),
                values: vec![value.clone()],
            }),
            Condition::TextAnyOf(pb::TextTerms {
                field: "title".to_owned(),
                terms: vec![value.clone()],
            }),
            Condition::TextPhrase(pb::TextPhrase {
                field: String::new(),
                phrase: value.clone(),
            }),
            Condition::TextPrefix(pb::TextPrefix {
                field: "title".to_owned(),
                prefix: value.clone(),
            }),
            Condition::TextFuzzy(pb::TextFuzzy {
                field: "title".to_owned(),
                term: value.clone(),
                distance: 1,
            }),
        ];
        for condition in conditions {
            let filter = pb::Filter {
                condition: Some(condition.clone()),
            };
            match fixture.search(request(filter, 50)).await {
                Ok(response) => {
                    if let Condition::TagAnyOf(_) = condition {
                        for hit in &response.hits {
                            let position: usize = hit.id[1..].parse().unwrap();
                            assert_eq!(
                                values[position], value,
                                "tag {value:?} matched {:?}",
                                values[position]
                            );
                        }
                    }
                }
                Err(status) => assert_eq!(
                    status.code(),
                    tonic::Code::InvalidArgument,
                    "{value:?} in {condition:?}: {status:?}"
                ),
            }
        }
    }
}
