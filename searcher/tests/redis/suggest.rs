//! Suggest against a real Redis Stack, over a dictionary written here with FT.SUGADD as the indexer
//! writes it: each title once, with its document id as the payload.

use docsearch_proto::v1 as pb;
use tonic::Code;

use crate::common::{Fixture, exact_text_field, text_field};

const INDEX: &str = "titles";
const TITLES: [(&str, &str); 6] = [
    ("Graph neural networks", "p1"),
    ("Graphene sheets", "p2"),
    ("graph theory basics", "p3"),
    ("Gravity waves", "p4"),
    ("Über alles", "p5"),
    ("Quantum graphs", "p6"),
];

async fn fixture() -> Fixture {
    let schema = pb::IndexSchema {
        fields: vec![exact_text_field("title", false, true)],
    };
    let fixture = Fixture::start(INDEX, schema).await;
    for (title, id) in TITLES {
        let () = redis::cmd("FT.SUGADD")
            .arg(fixture.layout.suggestions(INDEX))
            .arg(title)
            .arg(1)
            .arg("PAYLOAD")
            .arg(id)
            .query_async(&mut fixture.connection.clone())
            .await
            .map(|_: i64| ())
            .unwrap();
    }
    fixture
}

fn request(prefix: &str, limit: u32, fuzzy: bool) -> pb::SuggestRequest {
    pb::SuggestRequest {
        index: INDEX.to_owned(),
        prefix: prefix.to_owned(),
        limit,
        fuzzy,
    }
}

fn texts(response: &pb::SuggestResponse) -> Vec<&str> {
    let mut texts: Vec<&str> = response
        .suggestions
        .iter()
        .map(|suggestion| suggestion.text.as_str())
        .collect();
    texts.sort_unstable();
    texts
}

#[tokio::test]
async fn prefix_completes_case_insensitively() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("GRAPH", 10, false)).await.unwrap();
    assert_eq!(
        texts(&response),
        [
            "Graph neural networks",
            "Graphene sheets",
            "graph theory basics"
        ]
    );
}

#[tokio::test]
async fn suggestions_carry_document_ids() {
    let fixture = fixture().await;
    let response = fixture
        .suggest(request("quantum", 10, false))
        .await
        .unwrap();
    assert_eq!(response.suggestions.len(), 1);
    assert_eq!(response.suggestions[0].document_id, "p6");
    assert!(response.suggestions[0].score > 0.0);
}

#[tokio::test]
async fn trailing_space_keeps_whole_words() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("graph ", 10, false)).await.unwrap();
    assert_eq!(
        texts(&response),
        ["Graph neural networks", "graph theory basics"]
    );
}

#[tokio::test]
async fn limit_caps_suggestions() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("gr", 2, false)).await.unwrap();
    assert_eq!(response.suggestions.len(), 2);
}

#[tokio::test]
async fn default_limit_is_five() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("gr", 0, false)).await.unwrap();
    assert_eq!(response.suggestions.len(), 4, "four titles start with gr");
}

#[tokio::test]
async fn fuzzy_completes_near_prefix() {
    let fixture = fixture().await;
    let exact = fixture.suggest(request("grapj", 10, false)).await.unwrap();
    assert!(exact.suggestions.is_empty(), "{:?}", texts(&exact));
    let fuzzy = fixture.suggest(request("grapj", 10, true)).await.unwrap();
    assert_eq!(
        texts(&fuzzy),
        [
            "Graph neural networks",
            "Graphene sheets",
            "graph theory basics"
        ]
    );
}

#[tokio::test]
async fn non_ascii_prefix_folds_case() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("üb", 10, false)).await.unwrap();
    assert_eq!(texts(&response), ["Über alles"]);
}

#[tokio::test]
async fn unknown_prefix_has_no_suggestions() {
    let fixture = fixture().await;
    let response = fixture.suggest(request("zebra", 10, false)).await.unwrap();
    assert!(response.suggestions.is_empty());
}

#[tokio::test]
async fn unknown_index_is_not_found() {
    let fixture = fixture().await;
    let status = fixture
        .suggest(pb::SuggestRequest {
            index: "nope".to_owned(),
            ..request("gr", 5, false)
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{}", status.message());
}

#[tokio::test]
async fn index_without_suggest_field_fails_precondition() {
    let schema = pb::IndexSchema {
        fields: vec![text_field("title")],
    };
    let fixture = Fixture::start("plain", schema).await;
    let status = fixture
        .suggest(pb::SuggestRequest {
            index: "plain".to_owned(),
            ..request("gr", 5, false)
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "index \"plain\" has no suggestion dictionary, because none of its TEXT fields sets suggest; create the index again with suggest set on one TEXT field, such as the title"
    );
}

#[tokio::test]
async fn short_prefix_is_invalid() {
    let fixture = fixture().await;
    let status = fixture.suggest(request(" g ", 5, false)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("invalid prefix: "),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn longest_prefix_reaches_redis() {
    let fixture = fixture().await;
    for fuzzy in [false, true] {
        for letter in ["g", "é"] {
            let longest = letter.repeat(docsearch_searcher::suggest::MAX_PREFIX_CHARS);
            let response = fixture.suggest(request(&longest, 5, fuzzy)).await;
            assert!(
                response.is_ok(),
                "{} × {letter:?}, fuzzy {fuzzy}: {response:?}",
                longest.chars().count()
            );
            let status = fixture
                .suggest(request(&format!("{longest}{letter}"), 5, fuzzy))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
            assert!(
                status.message().contains("at most 99"),
                "{}",
                status.message()
            );
        }
    }
}

#[tokio::test]
async fn large_limit_is_invalid() {
    let fixture = fixture().await;
    let status = fixture
        .suggest(request("gr", 101, false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("invalid limit: "),
        "{}",
        status.message()
    );
}
