//! Get against a real Redis Stack.

use docsearch_proto::v1 as pb;
use docsearch_runtime::vector;
use tonic::Code;

use crate::common::{Fixture, numeric_field, tag_field, text_field, vector_field};

const INDEX: &str = "papers";

async fn fixture() -> Fixture {
    let schema = pb::IndexSchema {
        fields: vec![
            text_field("title"),
            tag_field("categories", ",", false, false),
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
    for (id, title, year, vector) in [
        ("a", "Attention", "2017", [1.0, 0.0]),
        ("b/2", "BERT", "2018", [0.0, 1.0]),
        ("c", "CLIP", "2021", [0.5, 0.5]),
    ] {
        fixture
            .put(
                INDEX,
                id,
                &[
                    ("title", title.as_bytes().to_vec()),
                    ("categories", b"cs.LG,cs.CL".to_vec()),
                    ("year", year.as_bytes().to_vec()),
                    ("embedding", vector::encode(&vector)),
                ],
            )
            .await;
    }
    fixture
}

fn request(ids: &[&str]) -> pb::GetRequest {
    pb::GetRequest {
        index: INDEX.to_owned(),
        ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        return_fields: Vec::new(),
        include_vectors: false,
    }
}

async fn get_error(fixture: &Fixture, request: pb::GetRequest, code: Code) -> String {
    match fixture.get(request).await {
        Ok(response) => panic!("expected {code:?}, got {response:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{}", status.message());
            status.message().to_owned()
        }
    }
}

#[tokio::test]
async fn get_returns_request_order() {
    let fixture = fixture().await;
    let response = fixture.get(request(&["c", "a", "b/2"])).await.unwrap();
    let ids: Vec<&str> = response.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec!["c", "a", "b/2"]);
}

#[tokio::test]
async fn get_decodes_every_field() {
    let fixture = fixture().await;
    let response = fixture.get(request(&["a"])).await.unwrap();
    let document = &response.documents[0];
    assert_eq!(
        document.fields["title"].kind,
        Some(pb::field_value::Kind::Text("Attention".to_owned()))
    );
    assert_eq!(
        document.fields["categories"].kind,
        Some(pb::field_value::Kind::Tags(pb::TagList {
            values: vec!["cs.LG".to_owned(), "cs.CL".to_owned()]
        }))
    );
    assert_eq!(
        document.fields["year"].kind,
        Some(pb::field_value::Kind::Number(2017.0))
    );
    assert!(document.vectors.is_empty());
}

#[tokio::test]
async fn get_includes_vectors() {
    let fixture = fixture().await;
    let response = fixture
        .get(pb::GetRequest {
            include_vectors: true,
            return_fields: vec!["year".to_owned()],
            ..request(&["b/2"])
        })
        .await
        .unwrap();
    let document = &response.documents[0];
    assert_eq!(document.vectors["embedding"].values, vec![0.0, 1.0]);
    let names: Vec<&String> = document.fields.keys().collect();
    assert_eq!(names, vec!["year"]);
}

#[tokio::test]
async fn get_vector_field_needs_include_vectors() {
    let fixture = fixture().await;
    let message = get_error(
        &fixture,
        pb::GetRequest {
            return_fields: vec!["embedding".to_owned()],
            ..request(&["a"])
        },
        Code::InvalidArgument,
    )
    .await;
    assert_eq!(
        message,
        "invalid return_fields[0]: \"embedding\" is a VECTOR field; set include_vectors to return it"
    );
}

#[tokio::test]
async fn get_missing_ids_not_found() {
    let fixture = fixture().await;
    let message = get_error(&fixture, request(&["a", "x", "c", "y"]), Code::NotFound).await;
    assert_eq!(
        message,
        "documents \"x\", \"y\" not found in index \"papers\"; check the ids, or ingest the documents first"
    );
}

#[tokio::test]
async fn get_many_missing_ids_counted() {
    let fixture = fixture().await;
    let ids: Vec<String> = (0..15).map(|n| format!("missing-{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let message = get_error(&fixture, request(&ids), Code::NotFound).await;
    assert!(
        message.contains("\"missing-9\" and 5 more not found"),
        "{message}"
    );
    assert!(!message.contains("missing-10"), "{message}");
}

#[tokio::test]
async fn get_empty_ids_invalid() {
    let fixture = fixture().await;
    let message = get_error(&fixture, request(&[]), Code::InvalidArgument).await;
    assert_eq!(
        message,
        "invalid ids: the list is empty; send 1 to 1000 document ids"
    );
}

#[tokio::test]
async fn get_control_character_id_invalid() {
    let fixture = fixture().await;
    let message = get_error(&fixture, request(&["p1", "a\u{0}b"]), Code::InvalidArgument).await;
    assert!(
        message.starts_with("invalid ids[1]: the id \"a\\0b\" contains control characters"),
        "{message}"
    );
}

#[tokio::test]
async fn get_too_many_ids_invalid() {
    let fixture = fixture().await;
    let ids: Vec<String> = (0..1001).map(|n| n.to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let message = get_error(&fixture, request(&ids), Code::InvalidArgument).await;
    assert!(
        message.starts_with("invalid ids: the list has 1001 ids"),
        "{message}"
    );
}

#[tokio::test]
async fn get_unknown_index_not_found() {
    let fixture = fixture().await;
    let message = get_error(
        &fixture,
        pb::GetRequest {
            index: "nope".to_owned(),
            ..request(&["a"])
        },
        Code::NotFound,
    )
    .await;
    assert!(message.starts_with("index \"nope\" not found"), "{message}");
}
