use super::*;

fn vector_field(name: &str, algorithm: pb::VectorAlgorithm, model: &str) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Vector(pb::VectorField {
            algorithm: algorithm as i32,
            dimension: 3,
            metric: pb::DistanceMetric::Cosine as i32,
            data_type: 0,
            m: 0,
            ef_construction: 0,
            ef_runtime: 0,
            model: model.to_owned(),
            embedding_source_fields: Vec::new(),
        })),
    }
}

fn schema() -> Schema {
    Schema::from_proto(&pb::IndexSchema {
        fields: vec![
            pb::FieldSchema {
                name: "title".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
            },
            pb::FieldSchema {
                name: "year".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Numeric(pb::NumericField::default())),
            },
            vector_field("flat", pb::VectorAlgorithm::Flat, "mini"),
            vector_field("graph", pb::VectorAlgorithm::Hnsw, ""),
        ],
    })
    .unwrap()
}

fn request() -> pb::SearchRequest {
    pb::SearchRequest {
        index: "papers".to_owned(),
        vector: Some(pb::Vector {
            values: vec![1.0, 0.0, 0.0],
        }),
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            ..pb::VectorOptions::default()
        }),
        k: 10,
        ..pb::SearchRequest::default()
    }
}

fn year_filter() -> Option<pb::Filter> {
    Some(pb::Filter {
        condition: Some(pb::filter::Condition::NumericRange(pb::NumericRange {
            field: "year".to_owned(),
            min: None,
            max: None,
        })),
    })
}

fn parsed(request: pb::SearchRequest) -> Result<KnnQuery, SearchError> {
    KnnRequest::parse(request, &SearchConfig::default())?.bind(&schema())
}

/// Returns the field path and message of an INVALID_ARGUMENT error.
fn invalid(request: pb::SearchRequest) -> InvalidValue {
    match parsed(request) {
        Err(SearchError::InvalidArgument(invalid)) => invalid,
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

fn unimplemented(request: pb::SearchRequest) -> String {
    match parsed(request) {
        Err(SearchError::Unimplemented(message)) => message,
        other => panic!("expected UNIMPLEMENTED, got {other:?}"),
    }
}

#[test]
fn valid_request_binds() {
    let query = parsed(request()).unwrap();
    assert_eq!(query.target.name, "flat");
    assert_eq!(query.k, 10);
    assert_eq!(query.filter, None);
    let names: Vec<&str> = query
        .return_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, vec!["title", "year"]);
}

#[test]
fn k_zero_rejected() {
    let error = invalid(pb::SearchRequest { k: 0, ..request() });
    assert_eq!(error.field, "k");
    assert_eq!(
        error.message,
        "0 is out of range; use 1 to 1000 (k may be 0 only with count_only)"
    );
}

#[test]
fn k_zero_accepted_with_count_only() {
    let query = parsed(pb::SearchRequest {
        k: 0,
        count_only: true,
        vector: None,
        ..request()
    })
    .unwrap();
    assert!(query.count_only);
    assert_eq!(query.source, None);
}

#[test]
fn k_above_max_rejected() {
    let error = invalid(pb::SearchRequest {
        k: 1001,
        ..request()
    });
    assert_eq!(error.field, "k");
}

#[test]
fn deep_window_rejected() {
    let error = invalid(pb::SearchRequest {
        k: 1000,
        offset: 9001,
        ..request()
    });
    assert_eq!(error.field, "offset");
    assert!(
        error.message.contains("offset + k = 10001 exceeds 10000"),
        "{error}"
    );
}

#[test]
fn lucky_knn_returns_one() {
    let query = parsed(pb::SearchRequest {
        mode: pb::SearchMode::Knn as i32,
        lucky: true,
        k: 0,
        ..request()
    })
    .unwrap();
    assert_eq!(query.k, 1);
}

#[test]
fn lucky_with_k_rejected() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Knn as i32,
        lucky: true,
        k: 5,
        ..request()
    });
    assert_eq!(error.field, "k");
}

#[test]
fn lucky_without_mode_unimplemented() {
    let message = unimplemented(pb::SearchRequest {
        lucky: true,
        k: 1,
        ..request()
    });
    assert!(message.contains("SEARCH_MODE_HYBRID"), "{message}");
}

#[test]
fn text_mode_unimplemented() {
    let message = unimplemented(pb::SearchRequest {
        mode: pb::SearchMode::Text as i32,
        ..request()
    });
    assert_eq!(
        message,
        "mode SEARCH_MODE_TEXT is not served yet; use SEARCH_MODE_KNN"
    );
}

#[test]
fn hybrid_with_text_and_vector_unimplemented() {
    let message = unimplemented(pb::SearchRequest {
        mode: pb::SearchMode::Hybrid as i32,
        text: "graph networks".to_owned(),
        text_options: Some(pb::TextOptions::default()),
        ..request()
    });
    assert!(message.contains("SEARCH_MODE_HYBRID"), "{message}");
}

#[test]
fn text_mode_still_checks_k() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Text as i32,
        k: 0,
        ..request()
    });
    assert_eq!(error.field, "k");
}

#[test]
fn unknown_mode_rejected() {
    let error = invalid(pb::SearchRequest {
        mode: 9,
        ..request()
    });
    assert_eq!(error.field, "mode");
}

#[test]
fn facets_unimplemented() {
    let message = unimplemented(pb::SearchRequest {
        facets: vec![pb::FacetRequest::default()],
        ..request()
    });
    assert!(message.contains("facets"), "{message}");
}

#[test]
fn sort_by_unimplemented() {
    let message = unimplemented(pb::SearchRequest {
        sort_by: Some(pb::SortBy::default()),
        ..request()
    });
    assert!(message.contains("sort_by"), "{message}");
}

#[test]
fn text_options_rejected_for_knn() {
    let error = invalid(pb::SearchRequest {
        text_options: Some(pb::TextOptions::default()),
        ..request()
    });
    assert_eq!(error.field, "text_options");
}

#[test]
fn fusion_rejected_for_knn() {
    let error = invalid(pb::SearchRequest {
        fusion: Some(pb::Fusion::default()),
        ..request()
    });
    assert_eq!(error.field, "fusion");
}

#[test]
fn missing_query_rejected() {
    let error = invalid(pb::SearchRequest {
        vector: None,
        ..request()
    });
    assert_eq!(error.field, "vector");
    assert!(error.message.contains("no query"), "{error}");
}

#[test]
fn two_sources_rejected() {
    let error = invalid(pb::SearchRequest {
        text: "graph networks".to_owned(),
        ..request()
    });
    assert_eq!(error.field, "text");
    assert!(error.message.contains("sets vector and text"), "{error}");
}

#[test]
fn exclusion_without_similar_rejected() {
    let error = invalid(pb::SearchRequest {
        exclude_similar_document: true,
        ..request()
    });
    assert_eq!(error.field, "exclude_similar_document");
}

#[test]
fn long_similar_id_rejected() {
    let error = invalid(pb::SearchRequest {
        vector: None,
        similar_to_id: "x".repeat(MAX_ID_BYTES + 1),
        ..request()
    });
    assert_eq!(error.field, "similar_to_id");
}

#[test]
fn similar_source_keeps_exclusion() {
    let query = parsed(pb::SearchRequest {
        vector: None,
        similar_to_id: "a".to_owned(),
        exclude_similar_document: true,
        ..request()
    })
    .unwrap();
    assert_eq!(
        query.source,
        Some(QuerySource::SimilarTo {
            id: "a".to_owned(),
            exclude: true
        })
    );
}

#[test]
fn empty_vector_rejected() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector { values: Vec::new() }),
        ..request()
    });
    assert_eq!(error.field, "vector.values");
    assert!(error.message.contains("0 values"), "{error}");
    assert!(error.message.contains("dimension is 3"), "{error}");
}

#[test]
fn wrong_dimension_names_both() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector {
            values: vec![1.0, 2.0],
        }),
        ..request()
    });
    assert_eq!(error.field, "vector.values");
    assert_eq!(
        error.message,
        "the vector has 2 values but the field's dimension is 3; send exactly 3 values"
    );
}

#[test]
fn nan_value_rejected() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector {
            values: vec![1.0, f32::NAN, 0.0],
        }),
        ..request()
    });
    assert_eq!(error.field, "vector.values");
    assert!(error.message.contains("NaN"), "{error}");
}

#[test]
fn several_vector_fields_need_name() {
    let error = invalid(pb::SearchRequest {
        vector_options: None,
        ..request()
    });
    assert_eq!(error.field, "vector_options.field");
}

#[test]
fn model_mismatch_names_both() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            model: "other".to_owned(),
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.model");
    assert!(
        error.message.contains("\"other\" differs from \"mini\""),
        "{error}"
    );
}

#[test]
fn model_without_recorded_model_rejected() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "graph".to_owned(),
            model: "mini".to_owned(),
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.model");
    assert!(error.message.contains("records no model"), "{error}");
}

#[test]
fn matching_model_accepted() {
    let request = pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            model: "mini".to_owned(),
            ..pb::VectorOptions::default()
        }),
        ..request()
    };
    assert!(parsed(request).is_ok());
}

#[test]
fn ef_runtime_on_flat_rejected() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            ef_runtime: 100,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.ef_runtime");
    assert!(error.message.contains("HNSW fields only"), "{error}");
}

#[test]
fn ef_runtime_above_max_rejected() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "graph".to_owned(),
            ef_runtime: MAX_EF_RUNTIME + 1,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.ef_runtime");
}

#[test]
fn ef_runtime_on_hnsw_accepted() {
    let query = parsed(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "graph".to_owned(),
            ef_runtime: 64,
            ..pb::VectorOptions::default()
        }),
        ..request()
    })
    .unwrap();
    assert_eq!(query.ef_runtime, Some(64));
}

#[test]
fn hybrid_policy_without_filter_rejected() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            hybrid_policy: pb::HybridPolicy::AdhocBf as i32,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.hybrid_policy");
}

#[test]
fn batch_size_needs_batches() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            batch_size: 10,
            ..pb::VectorOptions::default()
        }),
        filter: year_filter(),
        ..request()
    });
    assert_eq!(error.field, "vector_options.batch_size");
}

#[test]
fn batches_policy_keeps_size() {
    let query = parsed(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            hybrid_policy: pb::HybridPolicy::Batches as i32,
            batch_size: 10,
            ..pb::VectorOptions::default()
        }),
        filter: year_filter(),
        ..request()
    })
    .unwrap();
    assert_eq!(
        query.hybrid_policy,
        Some(HybridPolicy::Batches {
            batch_size: Some(10)
        })
    );
    assert_eq!(query.filter.as_deref(), Some("@year:[-inf +inf]"));
}

#[test]
fn distance_threshold_rejected_for_knn() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: 0.5,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.distance_threshold");
}

#[test]
fn unknown_return_field_rejected() {
    let error = invalid(pb::SearchRequest {
        return_fields: vec!["title".to_owned(), "abstract".to_owned()],
        ..request()
    });
    assert_eq!(error.field, "return_fields[1]");
    assert!(
        error
            .message
            .contains("\"abstract\" is not a field of the index"),
        "{error}"
    );
}

#[test]
fn vector_return_field_rejected() {
    let error = invalid(pb::SearchRequest {
        return_fields: vec!["flat".to_owned()],
        ..request()
    });
    assert_eq!(error.field, "return_fields[0]");
    assert!(error.message.contains("VECTOR"), "{error}");
}

#[test]
fn duplicate_return_field_rejected() {
    let error = invalid(pb::SearchRequest {
        return_fields: vec!["title".to_owned(), "title".to_owned()],
        ..request()
    });
    assert_eq!(error.field, "return_fields[1]");
}

#[test]
fn bad_index_name_rejected() {
    let error = invalid(pb::SearchRequest {
        index: "a:b".to_owned(),
        ..request()
    });
    assert_eq!(error.field, "index");
}

#[test]
fn filter_error_keeps_path() {
    let error = invalid(pb::SearchRequest {
        filter: Some(pb::Filter {
            condition: Some(pb::filter::Condition::TagAnyOf(pb::TagValues {
                field: "year".to_owned(),
                values: vec!["x".to_owned()],
            })),
        }),
        ..request()
    });
    assert_eq!(error.field, "filter.tag_any_of.field");
}
