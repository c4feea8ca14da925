use super::*;

fn text(name: &str) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Text(pb::TextField {
            weight: 2.0,
            no_stem: false,
            sortable: false,
            suggest: true,
        })),
    }
}

fn vector(name: &str, dimension: u32, algorithm: pb::VectorAlgorithm) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Vector(pb::VectorField {
            algorithm: algorithm as i32,
            dimension,
            metric: pb::DistanceMetric::Cosine as i32,
            data_type: 0,
            m: 0,
            ef_construction: 0,
            ef_runtime: 0,
            model: String::new(),
            embedding_source_fields: vec!["title".to_owned()],
        })),
    }
}

fn schema(fields: Vec<pb::FieldSchema>) -> pb::IndexSchema {
    pb::IndexSchema { fields }
}

#[test]
fn schema_round_trips_through_proto() {
    let wire = schema(vec![
        text("title"),
        vector("embedding", 384, pb::VectorAlgorithm::Hnsw),
    ]);
    let parsed = Schema::from_proto(&wire).unwrap();
    assert_eq!(Schema::from_proto(&parsed.to_proto()).unwrap(), parsed);
    assert_eq!(parsed.suggest_field().unwrap().name, "title");
}

#[test]
fn schema_rejects_empty() {
    let error = Schema::from_proto(&schema(vec![])).unwrap_err();
    assert_eq!(error.field, "fields");
}

#[test]
fn schema_rejects_duplicate_names() {
    let error = Schema::from_proto(&schema(vec![text("title"), text("title")])).unwrap_err();
    assert_eq!(error.field, "fields[1].name");
    assert!(error.message.contains("defined twice"), "{error}");
}

#[test]
fn schema_rejects_zero_dimension() {
    let error = Schema::from_proto(&schema(vec![
        text("title"),
        vector("v", 0, pb::VectorAlgorithm::Flat),
    ]))
    .unwrap_err();
    assert_eq!(error.field, "fields[1].vector.dimension");
    assert!(error.message.contains("out of range"), "{error}");
}

#[test]
fn schema_rejects_hnsw_option_on_flat() {
    let mut field = vector("v", 8, pb::VectorAlgorithm::Flat);
    if let Some(pb::field_schema::Kind::Vector(options)) = &mut field.kind {
        options.m = 16;
    }
    let error = Schema::from_proto(&schema(vec![text("title"), field])).unwrap_err();
    assert_eq!(error.field, "fields[1].vector.m");
}

#[test]
fn schema_rejects_unknown_embedding_source() {
    let error =
        Schema::from_proto(&schema(vec![vector("v", 8, pb::VectorAlgorithm::Flat)])).unwrap_err();
    assert_eq!(error.field, "fields[0].vector.embedding_source_fields[0]");
    assert!(error.message.contains("\"title\""), "{error}");
}

#[test]
fn schema_rejects_reserved_and_malformed_names() {
    for name in ["__id", "", "1st", "with space", "dash-name"] {
        let error = Schema::from_proto(&schema(vec![text(name)])).unwrap_err();
        assert_eq!(error.field, "fields[0].name", "{name}");
    }
}

#[test]
fn create_command_lists_every_option() {
    let wire = schema(vec![
        text("title"),
        pb::FieldSchema {
            name: "categories".to_owned(),
            index_missing: true,
            kind: Some(pb::field_schema::Kind::Tag(pb::TagField {
                separator: "|".to_owned(),
                case_sensitive: true,
                sortable: true,
            })),
        },
        vector("embedding", 384, pb::VectorAlgorithm::Hnsw),
    ]);
    let command = Schema::from_proto(&wire)
        .unwrap()
        .create_command("ns:idx:papers", "ns:doc:papers:");
    let words: Vec<String> = command
        .args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "<other>".to_owned(),
        })
        .collect();
    let expected = "FT.CREATE ns:idx:papers ON HASH PREFIX 1 ns:doc:papers: SCHEMA \
        title TEXT WEIGHT 2.0 \
        categories TAG SEPARATOR | CASESENSITIVE INDEXMISSING SORTABLE \
        embedding VECTOR HNSW 6 TYPE FLOAT32 DIM 384 DISTANCE_METRIC COSINE";
    assert_eq!(words.join(" "), expected);
}

#[test]
fn similarity_follows_metric() {
    assert_eq!(DistanceMetric::Cosine.similarity(0.25), 0.75);
    assert_eq!(DistanceMetric::L2.similarity(1.0), 0.5);
    assert_eq!(DistanceMetric::InnerProduct.similarity(-0.5), 1.5);
    assert_eq!(DistanceMetric::Cosine.normalized_similarity(2.0), 0.0);
    assert_eq!(DistanceMetric::InnerProduct.normalized_similarity(5.0), 0.0);
}

#[test]
fn record_embedding_model_fills_only_empty() {
    let mut parsed = Schema::from_proto(&schema(vec![
        text("title"),
        vector("v", 8, pb::VectorAlgorithm::Flat),
    ]))
    .unwrap();
    parsed.record_embedding_model("all-MiniLM-L6-v2");
    let (_, options) = parsed.resolve_vector_field("").unwrap();
    assert_eq!(options.model, "all-MiniLM-L6-v2");
}
