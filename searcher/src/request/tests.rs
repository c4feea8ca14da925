use crate::fuzzy::Fuzziness;
use crate::text_query::FieldGroup;
use docsearch_runtime::InvalidValue;

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
                kind: Some(pb::field_schema::Kind::Numeric(pb::NumericField {
                    sortable: true,
                })),
            },
            pb::FieldSchema {
                name: "abstract".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
            },
            pb::FieldSchema {
                name: "category".to_owned(),
                index_missing: false,
                kind: Some(pb::field_schema::Kind::Tag(pb::TagField::default())),
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

fn parsed(request: pb::SearchRequest) -> Result<Query, SearchError> {
    CheckedRequest::parse(request, &SearchConfig::default())?.bind(&schema())
}

/// The vector part of a query that must have one.
fn vector_part(query: &Query) -> &VectorQuery {
    query.vector.as_ref().expect("the query has a vector part")
}

/// The text part of a query that must have one.
fn text_part(query: &Query) -> &TextQuery {
    query.text.as_ref().expect("the query has a text part")
}

/// A TEXT request for `text`.
fn text_request(text: &str) -> pb::SearchRequest {
    pb::SearchRequest {
        index: "papers".to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: text.to_owned(),
        k: 10,
        ..pb::SearchRequest::default()
    }
}

/// A HYBRID request for `text` over the FLAT field.
fn hybrid_request(text: &str) -> pb::SearchRequest {
    pb::SearchRequest {
        mode: pb::SearchMode::Hybrid as i32,
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            ..pb::VectorOptions::default()
        }),
        ..text_request(text)
    }
}

fn text_options(options: pb::TextOptions) -> pb::SearchRequest {
    pb::SearchRequest {
        text_options: Some(options),
        ..text_request("graph networks")
    }
}

fn facet(field: &str) -> pb::FacetRequest {
    pb::FacetRequest {
        field: field.to_owned(),
        ..pb::FacetRequest::default()
    }
}

/// Returns the field path and message of an INVALID_ARGUMENT error.
fn invalid(request: pb::SearchRequest) -> InvalidValue {
    match parsed(request) {
        Err(SearchError::InvalidArgument(invalid)) => invalid,
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn valid_request_binds() {
    let query = parsed(request()).unwrap();
    assert_eq!(query.mode, Mode::Knn);
    assert_eq!(vector_part(&query).target.name, "flat");
    assert_eq!(query.k, 10);
    assert_eq!(query.filter, None);
    let names: Vec<&str> = query
        .return_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, vec!["title", "year", "abstract", "category"]);
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
    assert_eq!(vector_part(&query).source, None);
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
fn lucky_without_mode_runs_hybrid() {
    let query = parsed(pb::SearchRequest {
        lucky: true,
        k: 0,
        vector: None,
        text: "graph networks".to_owned(),
        ..request()
    })
    .unwrap();
    assert_eq!(query.mode, Mode::Hybrid);
    assert_eq!(query.k, 1);
    assert_eq!(
        vector_part(&query).source,
        Some(QuerySource::Text("graph networks".to_owned()))
    );
}

#[test]
fn lucky_by_vector_runs_knn() {
    let query = parsed(pb::SearchRequest {
        lucky: true,
        k: 1,
        ..request()
    })
    .unwrap();
    assert_eq!(query.mode, Mode::Knn);
    assert_eq!(query.k, 1);
}

#[test]
fn lucky_hybrid_needs_text() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Hybrid as i32,
        lucky: true,
        k: 1,
        ..request()
    });
    assert_eq!(error.field, "text");
}

#[test]
fn text_mode_binds_words() {
    let query = parsed(text_request("The graph networks")).unwrap();
    assert_eq!(query.mode, Mode::Text);
    assert!(query.vector.is_none());
    let text = text_part(&query);
    assert_eq!(text.words, ["graph", "networks"]);
    assert_eq!(
        text.groups,
        [FieldGroup {
            fields: vec!["title".to_owned(), "abstract".to_owned()],
            weight: 1.0
        }]
    );
    assert_eq!(text.fuzziness, Fuzziness::Default);
    assert!(!text.match_all);
    assert!(text.highlight_fields.is_empty());
}

#[test]
fn text_mode_rejects_vector() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector {
            values: vec![1.0, 0.0, 0.0],
        }),
        ..text_request("graph")
    });
    assert_eq!(error.field, "vector");
}

#[test]
fn text_mode_rejects_similar_id() {
    let error = invalid(pb::SearchRequest {
        similar_to_id: "a".to_owned(),
        ..text_request("graph")
    });
    assert_eq!(error.field, "similar_to_id");
}

#[test]
fn text_mode_rejects_vector_options() {
    let error = invalid(pb::SearchRequest {
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            ..pb::VectorOptions::default()
        }),
        ..text_request("graph")
    });
    assert_eq!(error.field, "vector_options");
}

#[test]
fn text_mode_needs_text() {
    let error = invalid(text_request(""));
    assert_eq!(error.field, "text");
    assert!(error.message.contains("empty"), "{error}");
}

#[test]
fn stopword_text_rejected() {
    let error = invalid(text_request("the of"));
    assert_eq!(error.field, "text");
    assert!(error.message.contains("stop words"), "{error}");
}

#[test]
fn fuzzy_distance_above_three_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        fuzzy_distance: Some(4),
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.fuzzy_distance");
}

#[test]
fn fuzzy_distance_zero_turns_fuzzy_off() {
    let query = parsed(text_options(pb::TextOptions {
        fuzzy_distance: Some(0),
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert_eq!(text_part(&query).fuzziness, Fuzziness::Fixed(0));
}

#[test]
fn restricted_fields_group_by_weight() {
    let query = parsed(text_options(pb::TextOptions {
        fields: vec!["abstract".to_owned(), "title".to_owned()],
        field_weights: [("title".to_owned(), 3.0)].into_iter().collect(),
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert_eq!(
        text_part(&query).groups,
        [
            FieldGroup {
                fields: vec!["abstract".to_owned()],
                weight: 1.0
            },
            FieldGroup {
                fields: vec!["title".to_owned()],
                weight: 3.0
            },
        ]
    );
}

#[test]
fn weights_alone_keep_every_field() {
    let query = parsed(text_options(pb::TextOptions {
        field_weights: [("abstract".to_owned(), 0.5)].into_iter().collect(),
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert_eq!(
        text_part(&query).groups,
        [
            FieldGroup {
                fields: vec!["title".to_owned()],
                weight: 1.0
            },
            FieldGroup {
                fields: vec!["abstract".to_owned()],
                weight: 0.5
            },
        ]
    );
}

#[test]
fn unknown_text_field_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        fields: vec!["body".to_owned()],
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.fields[0]");
    assert!(error.message.contains("title, abstract"), "{error}");
}

#[test]
fn non_text_field_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        fields: vec!["category".to_owned()],
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.fields[0]");
    assert!(error.message.contains("TAG field"), "{error}");
}

#[test]
fn duplicate_text_field_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        fields: vec!["title".to_owned(), "title".to_owned()],
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.fields[1]");
}

#[test]
fn weight_of_unsearched_field_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        fields: vec!["title".to_owned()],
        field_weights: [("abstract".to_owned(), 2.0)].into_iter().collect(),
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.field_weights[\"abstract\"]");
}

#[test]
fn zero_weight_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        field_weights: [("title".to_owned(), 0.0)].into_iter().collect(),
        ..pb::TextOptions::default()
    }));
    assert_eq!(error.field, "text_options.field_weights[\"title\"]");
    assert!(error.message.contains("out of range"), "{error}");
}

#[test]
fn nan_weight_rejected() {
    let error = invalid(text_options(pb::TextOptions {
        field_weights: [("title".to_owned(), f64::NAN)].into_iter().collect(),
        ..pb::TextOptions::default()
    }));
    assert!(error.message.contains("out of range"), "{error}");
}

#[test]
fn highlight_covers_searched_fields() {
    let query = parsed(text_options(pb::TextOptions {
        fields: vec!["abstract".to_owned()],
        highlight: true,
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert_eq!(text_part(&query).highlight_fields, ["abstract"]);
}

#[test]
fn highlight_all_fields_by_default() {
    let query = parsed(text_options(pb::TextOptions {
        highlight: true,
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert_eq!(text_part(&query).highlight_fields, ["title", "abstract"]);
}

#[test]
fn match_all_terms_kept() {
    let query = parsed(text_options(pb::TextOptions {
        match_all_terms: true,
        ..pb::TextOptions::default()
    }))
    .unwrap();
    assert!(text_part(&query).match_all);
}

#[test]
fn text_options_rejected_for_range() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        text_options: Some(pb::TextOptions::default()),
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: 0.5,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "text_options");
    assert_eq!(
        error.message,
        "text options apply only to modes TEXT and HYBRID; remove them for a RANGE query"
    );
}

#[test]
fn index_without_text_fields_rejects_text() {
    let schema = Schema::from_proto(&pb::IndexSchema {
        fields: vec![vector_field("flat", pb::VectorAlgorithm::Flat, "")],
    })
    .unwrap();
    let result = CheckedRequest::parse(text_request("graph"), &SearchConfig::default())
        .unwrap()
        .bind(&schema);
    match result {
        Err(SearchError::InvalidArgument(error)) => {
            assert_eq!(error.field, "text");
            assert!(error.message.contains("no TEXT field"), "{error}");
        }
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn hybrid_embeds_text_by_default() {
    let query = parsed(hybrid_request("graph networks")).unwrap();
    assert_eq!(query.mode, Mode::Hybrid);
    assert_eq!(
        vector_part(&query).source,
        Some(QuerySource::Text("graph networks".to_owned()))
    );
    assert_eq!(text_part(&query).words, ["graph", "networks"]);
}

#[test]
fn hybrid_uses_given_vector() {
    let query = parsed(pb::SearchRequest {
        vector: Some(pb::Vector {
            values: vec![0.0, 1.0, 0.0],
        }),
        ..hybrid_request("graph")
    })
    .unwrap();
    assert_eq!(
        vector_part(&query).source,
        Some(QuerySource::Vector(vec![0.0, 1.0, 0.0]))
    );
}

#[test]
fn hybrid_rejects_similar_id() {
    let error = invalid(pb::SearchRequest {
        similar_to_id: "a".to_owned(),
        ..hybrid_request("graph")
    });
    assert_eq!(error.field, "similar_to_id");
}

#[test]
fn hybrid_defaults_to_rrf() {
    let query = parsed(hybrid_request("graph")).unwrap();
    assert_eq!(
        query.fusion,
        Some(Fusion {
            method: FusionMethod::Rrf {
                constant: DEFAULT_RRF_CONSTANT
            },
            window: DEFAULT_HYBRID_WINDOW
        })
    );
}

#[test]
fn hybrid_window_follows_deep_page() {
    let query = parsed(pb::SearchRequest {
        k: 100,
        offset: 50,
        ..hybrid_request("graph")
    })
    .unwrap();
    assert_eq!(query.fusion.unwrap().window, 150);
}

#[test]
fn rrf_constant_and_window_kept() {
    let query = parsed(pb::SearchRequest {
        fusion: Some(pb::Fusion {
            method: Some(pb::fusion::Method::Rrf(pb::ReciprocalRankFusion {
                constant: 10,
                window: 30,
            })),
        }),
        ..hybrid_request("graph")
    })
    .unwrap();
    assert_eq!(
        query.fusion,
        Some(Fusion {
            method: FusionMethod::Rrf { constant: 10 },
            window: 30
        })
    );
}

#[test]
fn small_window_rejected() {
    let error = invalid(pb::SearchRequest {
        offset: 5,
        fusion: Some(pb::Fusion {
            method: Some(pb::fusion::Method::Rrf(pb::ReciprocalRankFusion {
                constant: 0,
                window: 12,
            })),
        }),
        ..hybrid_request("graph")
    });
    assert_eq!(error.field, "fusion.rrf.window");
    assert!(error.message.contains("offset + k = 15"), "{error}");
}

#[test]
fn window_above_max_rejected() {
    let error = invalid(pb::SearchRequest {
        fusion: Some(pb::Fusion {
            method: Some(pb::fusion::Method::Linear(pb::LinearFusion {
                vector_weight: None,
                window: 10_001,
            })),
        }),
        ..hybrid_request("graph")
    });
    assert_eq!(error.field, "fusion.linear.window");
}

#[test]
fn linear_weight_defaults_to_half() {
    let query = parsed(pb::SearchRequest {
        fusion: Some(pb::Fusion {
            method: Some(pb::fusion::Method::Linear(pb::LinearFusion::default())),
        }),
        ..hybrid_request("graph")
    })
    .unwrap();
    assert_eq!(
        query.fusion.unwrap().method,
        FusionMethod::Linear { vector_weight: 0.5 }
    );
}

#[test]
fn linear_weight_out_of_range_rejected() {
    for weight in [-0.1, 1.5, f64::NAN] {
        let error = invalid(pb::SearchRequest {
            fusion: Some(pb::Fusion {
                method: Some(pb::fusion::Method::Linear(pb::LinearFusion {
                    vector_weight: Some(weight),
                    window: 0,
                })),
            }),
            ..hybrid_request("graph")
        });
        assert_eq!(
            error.field, "fusion.linear.vector_weight",
            "weight {weight}"
        );
    }
}

#[test]
fn fusion_rejected_for_text() {
    let error = invalid(pb::SearchRequest {
        fusion: Some(pb::Fusion::default()),
        ..text_request("graph")
    });
    assert_eq!(error.field, "fusion");
    assert_eq!(
        error.message,
        "fusion applies only to mode HYBRID; remove it for a TEXT query"
    );
}

#[test]
fn range_binds_threshold() {
    let query = parsed(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: 0.25,
            ..pb::VectorOptions::default()
        }),
        ..request()
    })
    .unwrap();
    assert_eq!(query.mode, Mode::Range);
    assert_eq!(vector_part(&query).distance_threshold, Some(0.25));
}

#[test]
fn range_needs_threshold() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        ..request()
    });
    assert_eq!(error.field, "vector_options.distance_threshold");
}

#[test]
fn range_rejects_negative_threshold() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: -1.0,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.distance_threshold");
}

#[test]
fn range_rejects_ef_runtime() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            field: "graph".to_owned(),
            distance_threshold: 0.5,
            ef_runtime: 10,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector_options.ef_runtime");
}

#[test]
fn range_rejects_hybrid_policy() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: 0.5,
            hybrid_policy: pb::HybridPolicy::AdhocBf as i32,
            ..pb::VectorOptions::default()
        }),
        filter: year_filter(),
        ..request()
    });
    assert_eq!(error.field, "vector_options.hybrid_policy");
}

#[test]
fn range_count_only_needs_source() {
    let error = invalid(pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector: None,
        k: 0,
        count_only: true,
        vector_options: Some(pb::VectorOptions {
            field: "flat".to_owned(),
            distance_threshold: 0.5,
            ..pb::VectorOptions::default()
        }),
        ..request()
    });
    assert_eq!(error.field, "vector");
}

#[test]
fn sort_by_sortable_field_binds() {
    let query = parsed(pb::SearchRequest {
        sort_by: Some(pb::SortBy {
            field: "year".to_owned(),
            descending: true,
        }),
        ..text_request("graph")
    })
    .unwrap();
    let sort_key = query.sort_by.unwrap();
    assert_eq!(sort_key.field.name, "year");
    assert!(sort_key.descending);
}

#[test]
fn sort_by_unsortable_field_names_it() {
    let error = invalid(pb::SearchRequest {
        sort_by: Some(pb::SortBy {
            field: "title".to_owned(),
            descending: false,
        }),
        ..text_request("graph")
    });
    assert_eq!(error.field, "sort_by.field");
    assert!(
        error
            .message
            .starts_with("\"title\" is a TEXT field created without sortable"),
        "{error}"
    );
    assert!(error.message.contains("sort by one of year"), "{error}");
}

#[test]
fn sort_by_unknown_field_rejected() {
    let error = invalid(pb::SearchRequest {
        sort_by: Some(pb::SortBy {
            field: "nope".to_owned(),
            descending: false,
        }),
        ..request()
    });
    assert_eq!(error.field, "sort_by.field");
    assert!(error.message.contains("\"nope\""), "{error}");
}

#[test]
fn sort_by_empty_field_rejected() {
    let error = invalid(pb::SearchRequest {
        sort_by: Some(pb::SortBy::default()),
        ..request()
    });
    assert_eq!(error.field, "sort_by.field");
}

#[test]
fn tag_facet_defaults_limit() {
    let query = parsed(pb::SearchRequest {
        facets: vec![facet("category")],
        ..request()
    })
    .unwrap();
    assert_eq!(
        query.facets[0].kind,
        FacetKind::Tag {
            limit: DEFAULT_FACET_LIMIT,
            separator: ','
        }
    );
}

#[test]
fn numeric_facet_takes_boundaries() {
    let query = parsed(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            boundaries: vec![2000.0, 2010.0, 2020.0],
            ..facet("year")
        }],
        ..request()
    })
    .unwrap();
    assert_eq!(
        query.facets[0].kind,
        FacetKind::Boundaries(vec![2000.0, 2010.0, 2020.0])
    );
}

#[test]
fn numeric_facet_takes_interval() {
    let query = parsed(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            interval: 5.0,
            ..facet("year")
        }],
        ..request()
    })
    .unwrap();
    assert_eq!(query.facets[0].kind, FacetKind::Interval(5.0));
}

#[test]
fn numeric_facet_needs_buckets() {
    let error = invalid(pb::SearchRequest {
        facets: vec![facet("year")],
        ..request()
    });
    assert_eq!(error.field, "facets[0].boundaries");
}

#[test]
fn facet_boundaries_must_ascend() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            boundaries: vec![2000.0, 2010.0, 2010.0],
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].boundaries[2]");
    assert!(error.message.contains("strictly ascending"), "{error}");
}

#[test]
fn facet_single_boundary_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            boundaries: vec![2000.0],
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].boundaries");
}

#[test]
fn facet_infinite_boundary_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            boundaries: vec![0.0, f64::INFINITY],
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].boundaries[1]");
}

#[test]
fn facet_negative_interval_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            interval: -1.0,
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].interval");
}

#[test]
fn facet_interval_with_boundaries_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            boundaries: vec![0.0, 1.0],
            interval: 1.0,
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].interval");
}

#[test]
fn facet_on_text_field_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![facet("title")],
        ..request()
    });
    assert_eq!(error.field, "facets[0].field");
    assert!(error.message.contains("TEXT field"), "{error}");
}

#[test]
fn facet_on_unknown_field_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![facet("nope")],
        ..request()
    });
    assert_eq!(error.field, "facets[0].field");
}

#[test]
fn tag_facet_with_interval_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            interval: 2.0,
            ..facet("category")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].field");
}

#[test]
fn numeric_facet_with_limit_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            limit: 3,
            interval: 2.0,
            ..facet("year")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].limit");
}

#[test]
fn facet_limit_above_max_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![pb::FacetRequest {
            limit: 1001,
            ..facet("category")
        }],
        ..request()
    });
    assert_eq!(error.field, "facets[0].limit");
}

#[test]
fn duplicate_facet_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![facet("category"), facet("category")],
        ..request()
    });
    assert_eq!(error.field, "facets[1].field");
}

#[test]
fn too_many_facets_rejected() {
    let error = invalid(pb::SearchRequest {
        facets: vec![facet("category"); MAX_FACETS + 1],
        ..request()
    });
    assert_eq!(error.field, "facets");
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
        similar_to_id: "x".repeat(docsearch_runtime::keys::MAX_DOCUMENT_ID_BYTES + 1),
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
        vector_part(&query).source,
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
    assert!(error.message.contains("dimension 3"), "{error}");
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
        "the vector has 2 values, but field \"flat\" holds vectors of dimension 3 from model \"mini\"; send exactly 3 values"
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
fn single_value_vector_named_in_singular() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector { values: vec![1.0] }),
        ..request()
    });
    assert!(error.message.contains("has 1 value, but"), "{error}");
}

#[test]
fn zero_vector_rejected_for_cosine() {
    for mode in [
        pb::SearchMode::Knn,
        pb::SearchMode::Range,
        pb::SearchMode::Hybrid,
    ] {
        let distance_threshold = if mode == pb::SearchMode::Range {
            0.5
        } else {
            0.0
        };
        let text = if mode == pb::SearchMode::Hybrid {
            "graph"
        } else {
            ""
        };
        let error = invalid(pb::SearchRequest {
            mode: mode as i32,
            vector: Some(pb::Vector {
                values: vec![0.0; 3],
            }),
            text: text.to_owned(),
            vector_options: Some(pb::VectorOptions {
                field: "flat".to_owned(),
                distance_threshold,
                ..pb::VectorOptions::default()
            }),
            ..request()
        });
        assert_eq!(error.field, "vector.values", "{mode:?}");
        assert!(error.message.contains("no direction"), "{mode:?}: {error}");
        assert!(error.message.contains("COSINE"), "{mode:?}: {error}");
    }
}

#[test]
fn overflowing_vector_rejected() {
    let error = invalid(pb::SearchRequest {
        vector: Some(pb::Vector {
            values: vec![3e38; 3],
        }),
        ..request()
    });
    assert_eq!(error.field, "vector.values");
    assert!(error.message.contains("scale the vector down"), "{error}");
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
    assert_eq!(
        error.message,
        "the request names model \"other\" with 3 values, but field \"flat\" holds vectors of dimension 3 from model \"mini\"; send a vector from \"mini\""
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
    assert_eq!(vector_part(&query).ef_runtime, Some(64));
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
        vector_part(&query).hybrid_policy,
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
        return_fields: vec!["title".to_owned(), "body".to_owned()],
        ..request()
    });
    assert_eq!(error.field, "return_fields[1]");
    assert!(
        error
            .message
            .contains("\"body\" is not a field of the index"),
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
