use super::*;
use docsearch_proto::v1::field_value::Kind;

fn schema() -> Schema {
    let text = |name: &str| pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
    };
    let wire = pb::IndexSchema {
        fields: vec![
            text("title"),
            text("abstract"),
            pb::FieldSchema {
                name: "year".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Numeric(pb::NumericField {
                    sortable: true,
                })),
            },
            pb::FieldSchema {
                name: "embedding".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 3,
                    metric: pb::DistanceMetric::Cosine as i32,
                    model: "all-MiniLM-L6-v2".to_owned(),
                    embedding_source_fields: vec!["title".to_owned(), "abstract".to_owned()],
                    ..Default::default()
                })),
            },
        ],
    };
    Schema::from_proto(&wire).unwrap()
}

fn document(id: &str, vector: Option<Vec<f32>>) -> pb::Document {
    let mut fields = HashMap::new();
    fields.insert(
        "title".to_owned(),
        pb::FieldValue {
            kind: Some(Kind::Text("Attention".to_owned())),
        },
    );
    let mut vectors = HashMap::new();
    if let Some(values) = vector {
        vectors.insert("embedding".to_owned(), pb::Vector { values });
    }
    pb::Document {
        id: id.to_owned(),
        fields,
        vectors,
    }
}

#[test]
fn vector_document_encodes_fields() {
    let valid = validate(
        &schema(),
        0,
        document("1", Some(vec![1.0, 0.0, 0.0])),
        1 << 20,
    )
    .unwrap();
    assert!(valid.pending_embeddings.is_empty());
    let names: Vec<&str> = valid.fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["title", "embedding"]);
}

#[test]
fn missing_vector_plans_embedding() {
    let valid = validate(&schema(), 0, document("1", None), 1 << 20).unwrap();
    assert_eq!(valid.pending_embeddings.len(), 1);
    assert_eq!(valid.pending_embeddings[0].text, "Attention");
    assert_eq!(valid.pending_embeddings[0].model, "all-MiniLM-L6-v2");
}

#[test]
fn empty_id_rejected() {
    let error = validate(
        &schema(),
        4,
        document("", Some(vec![1.0, 0.0, 0.0])),
        1 << 20,
    )
    .unwrap_err();
    assert_eq!(error.position, 4);
    assert_eq!(error.code, pb::DocumentErrorCode::InvalidId as i32);
}

#[test]
fn wrong_dimension_rejected() {
    let error = validate(&schema(), 0, document("1", Some(vec![1.0, 0.0])), 1 << 20).unwrap_err();
    assert_eq!(error.code, pb::DocumentErrorCode::InvalidVector as i32);
    assert_eq!(error.field, "embedding");
    assert!(
        error.message.contains("2 values") && error.message.contains("dimension is 3"),
        "{}",
        error.message
    );
}

#[test]
fn nan_rejected() {
    let error = validate(
        &schema(),
        0,
        document("1", Some(vec![1.0, f32::NAN, 0.0])),
        1 << 20,
    )
    .unwrap_err();
    assert_eq!(error.code, pb::DocumentErrorCode::InvalidVector as i32);
    assert!(error.message.contains("NaN"), "{}", error.message);
}

#[test]
fn unknown_field_rejected() {
    let mut doc = document("1", Some(vec![1.0, 0.0, 0.0]));
    doc.fields.insert(
        "venue".to_owned(),
        pb::FieldValue {
            kind: Some(Kind::Text("NeurIPS".to_owned())),
        },
    );
    let error = validate(&schema(), 0, doc, 1 << 20).unwrap_err();
    assert_eq!(error.field, "venue");
    assert!(
        error.message.contains("not in the index schema"),
        "{}",
        error.message
    );
}

#[test]
fn nothing_to_embed_rejected() {
    let mut doc = document("1", None);
    doc.fields.clear();
    let error = validate(&schema(), 0, doc, 1 << 20).unwrap_err();
    assert!(
        error.message.contains("title or abstract"),
        "{}",
        error.message
    );
}

#[test]
fn oversized_document_rejected() {
    let error = validate(&schema(), 0, document("1", Some(vec![1.0, 0.0, 0.0])), 8).unwrap_err();
    assert!(
        error.message.contains("at most 8 bytes"),
        "{}",
        error.message
    );
}
