//! TEXT queries and text filters for words that RediSearch 2.10.5 changes when it indexes them:
//! words with backslashes, words separated only by line breaks, and words longer than the 128 bytes it
//! keeps of a term. Documents are encoded as the indexer encodes them.

use std::collections::BTreeSet;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::field_value::Kind;
use docsearch_proto::v1::filter::Condition;
use docsearch_runtime::fields::encode_value;
use docsearch_runtime::schema::Schema;

use crate::common::{Fixture, text_field};

const INDEX: &str = "words";

fn long_word() -> String {
    "pneumono".repeat(40)
}

/// Id and title of each document. Every title contains "doc", the text of filtered searches.
fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("backslash", r"doc foo\bar in C:\temp\file".to_owned()),
        (
            "latex",
            r"doc on the \alpha decay of $\beta_{1}$".to_owned(),
        ),
        (
            "lines",
            "doc\nalphaword\nbetaword\r\ngammaword\tdeltaword\u{0B}epsilonword".to_owned(),
        ),
        ("long", format!("doc of a {} word", long_word())),
        ("other", "unrelated doc".to_owned()),
    ]
}

async fn fixture() -> Fixture {
    let schema = pb::IndexSchema {
        fields: vec![text_field("title")],
    };
    let title = Schema::from_proto(&schema)
        .unwrap()
        .field("title")
        .unwrap()
        .clone();
    let fixture = Fixture::start(INDEX, schema).await;
    for (id, text) in documents() {
        let value = pb::FieldValue {
            kind: Some(Kind::Text(text)),
        };
        let encoded = encode_value(&title, &value).unwrap();
        fixture.put(INDEX, id, &[("title", encoded)]).await;
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
            match_all_terms: true,
            ..pb::TextOptions::default()
        }),
        k: 10,
        ..pb::SearchRequest::default()
    }
}

fn filter_request(condition: Condition) -> pb::SearchRequest {
    pb::SearchRequest {
        filter: Some(pb::Filter {
            condition: Some(condition),
        }),
        ..text_request("doc", Some(0))
    }
}

fn text_any_of(term: &str) -> Condition {
    Condition::TextAnyOf(pb::TextTerms {
        field: "title".to_owned(),
        terms: vec![term.to_owned()],
    })
}

fn ids(response: &pb::SearchResponse) -> BTreeSet<&str> {
    response.hits.iter().map(|hit| hit.id.as_str()).collect()
}

/// Runs a search that must find exactly `expected`, and checks that the total counts it.
async fn assert_finds(fixture: &Fixture, request: pb::SearchRequest, expected: &str) {
    let description = format!("{:?} with filter {:?}", request.text, request.filter);
    let response = fixture
        .search(request)
        .await
        .unwrap_or_else(|status| panic!("{description}: {status:?}"));
    assert_eq!(ids(&response), BTreeSet::from([expected]), "{description}");
    assert_eq!(response.total, 1, "{description}");
}

#[tokio::test]
async fn backslash_words_match_text() {
    let fixture = fixture().await;
    let cases = [
        (r"foo\bar", "backslash"),
        ("foobar", "backslash"),
        (r"C:\temp\file", "backslash"),
        (r"\alpha", "latex"),
        (r"\beta_{1}", "latex"),
    ];
    for (text, expected) in cases {
        for fuzzy_distance in [None, Some(0)] {
            assert_finds(&fixture, text_request(text, fuzzy_distance), expected).await;
        }
    }
}

#[tokio::test]
async fn backslash_words_match_filters() {
    let fixture = fixture().await;
    assert_finds(
        &fixture,
        filter_request(text_any_of(r"foo\bar")),
        "backslash",
    )
    .await;
    assert_finds(&fixture, filter_request(text_any_of(r"\alpha")), "latex").await;

    let prefix = Condition::TextPrefix(pb::TextPrefix {
        field: "title".to_owned(),
        prefix: r"foo\ba".to_owned(),
    });
    assert_finds(&fixture, filter_request(prefix), "backslash").await;
}

#[tokio::test]
async fn words_between_line_breaks_match() {
    let fixture = fixture().await;
    for word in [
        "alphaword",
        "betaword",
        "gammaword",
        "deltaword",
        "epsilonword",
    ] {
        assert_finds(&fixture, text_request(word, Some(0)), "lines").await;
        assert_finds(&fixture, filter_request(text_any_of(word)), "lines").await;
    }
    // Query text splits at line breaks as the stored text does.
    assert_finds(
        &fixture,
        text_request("alphaword\nbetaword\r\ngammaword", None),
        "lines",
    )
    .await;
}

#[tokio::test]
async fn long_word_matches_in_full() {
    let fixture = fixture().await;
    let word = long_word();
    assert!(word.len() > 128, "the word is longer than an indexed term");
    for fuzzy_distance in [None, Some(0)] {
        assert_finds(&fixture, text_request(&word, fuzzy_distance), "long").await;
    }
    assert_finds(&fixture, filter_request(text_any_of(&word)), "long").await;
}
