use super::*;
use crate::request::{Mode, QuerySource, SortKey, VectorTarget};
use crate::test_support::{bulk, words};
use docsearch_runtime::schema::{
    DistanceMetric, Field, FieldKind, NumericOptions, VectorAlgorithm, VectorOptions,
};

fn year() -> Field {
    Field {
        name: "year".to_owned(),
        index_missing: false,
        kind: FieldKind::Numeric(NumericOptions { sortable: true }),
    }
}

fn vector_query() -> VectorQuery {
    VectorQuery {
        source: Some(QuerySource::Vector(vec![1.0, 0.0])),
        target: VectorTarget {
            name: "embedding".to_owned(),
            options: VectorOptions {
                algorithm: VectorAlgorithm::Hnsw,
                dimension: 2,
                metric: DistanceMetric::Cosine,
                m: 0,
                ef_construction: 0,
                ef_runtime: 0,
                model: String::new(),
                embedding_source_fields: Vec::new(),
            },
        },
        ef_runtime: None,
        hybrid_policy: None,
        distance_threshold: None,
    }
}

fn query() -> Query {
    Query {
        index: "papers".to_owned(),
        mode: Mode::Knn,
        vector: Some(vector_query()),
        text: None,
        fusion: None,
        filter: None,
        k: 2,
        offset: 0,
        return_fields: vec![year()],
        sort_by: None,
        count_only: false,
        facets: Vec::new(),
    }
}

#[test]
fn query_without_filter_uses_wildcard() {
    assert_eq!(
        query_string(&vector_query(), None),
        "*=>[KNN $K @embedding $BLOB AS __distance]"
    );
}

#[test]
fn query_with_options_names_parameters() {
    let mut vector_query = vector_query();
    vector_query.ef_runtime = Some(64);
    vector_query.hybrid_policy = Some(HybridPolicy::Batches {
        batch_size: Some(50),
    });
    assert_eq!(
        query_string(&vector_query, Some("@year:[2019 +inf]")),
        "(@year:[2019 +inf])=>[KNN $K @embedding $BLOB EF_RUNTIME $EF_RUNTIME HYBRID_POLICY BATCHES BATCH_SIZE $BATCH_SIZE AS __distance]"
    );
}

#[test]
fn query_with_adhoc_policy() {
    let mut vector_query = vector_query();
    vector_query.hybrid_policy = Some(HybridPolicy::AdhocBruteForce);
    assert_eq!(
        query_string(&vector_query, Some("ismissing(@doi)")),
        "(ismissing(@doi))=>[KNN $K @embedding $BLOB HYBRID_POLICY ADHOC_BF AS __distance]"
    );
}

#[test]
fn knn_command_lists_every_argument() {
    let mut vector_query = vector_query();
    vector_query.ef_runtime = Some(64);
    let command = knn_command(
        "ns:idx:papers",
        &vector_query,
        None,
        &["year"],
        &[1.0, 0.0],
        Window::new(2, 3, false),
        Duration::from_secs(11),
    );
    let blob = String::from_utf8_lossy(&vector::encode(&[1.0, 0.0])).into_owned();
    let expected = [
        "FT.SEARCH",
        "ns:idx:papers",
        "*=>[KNN $K @embedding $BLOB EF_RUNTIME $EF_RUNTIME AS __distance]",
        "RETURN",
        "2",
        "__distance",
        "year",
        "SORTBY",
        "__distance",
        "ASC",
        "LIMIT",
        "3",
        "2",
        "PARAMS",
        "6",
        "BLOB",
        &blob,
        "K",
        "5",
        "EF_RUNTIME",
        "64",
        "TIMEOUT",
        "11000",
        "DIALECT",
        "2",
    ];
    assert_eq!(words(&command), expected);
}

#[test]
fn count_command_limits_to_zero() {
    let command = count_command(
        "ns:idx:papers",
        "@year:[1 2]",
        &[],
        Duration::from_millis(1500),
    );
    assert_eq!(
        words(&command),
        [
            "FT.SEARCH",
            "ns:idx:papers",
            "@year:[1 2]",
            "LIMIT",
            "0",
            "0",
            "TIMEOUT",
            "1500",
            "DIALECT",
            "2"
        ]
    );
}

#[test]
fn sort_field_returned_once() {
    let mut query = query();
    query.sort_by = Some(SortKey {
        field: year(),
        descending: false,
    });
    assert_eq!(returned_names(&query), ["year"]);
    query.return_fields.clear();
    assert_eq!(returned_names(&query), ["year"]);
}

#[test]
fn window_without_exclusion_pages_in_redis() {
    assert_eq!(
        Window::new(10, 20, false),
        Window {
            num_neighbours: 30,
            limit_offset: 20,
            limit_count: 10,
            skip: 0,
            take: 10
        }
    );
}

#[test]
fn window_with_exclusion_pages_after_removal() {
    assert_eq!(
        Window::new(10, 20, true),
        Window {
            num_neighbours: 31,
            limit_offset: 0,
            limit_count: 31,
            skip: 20,
            take: 10
        }
    );
}

#[test]
fn neighbours_decode_fields_and_distance() {
    let reply = SearchReply {
        total: 2,
        documents: vec![
            ReplyDocument {
                key: b"ns:doc:papers:a".to_vec(),
                score: None,
                fields: vec![
                    (b"__distance".to_vec(), b"0.25".to_vec()),
                    (b"year".to_vec(), b"2019".to_vec()),
                ],
            },
            ReplyDocument {
                key: b"ns:doc:papers:b".to_vec(),
                score: None,
                fields: vec![(b"__distance".to_vec(), b"0.5".to_vec())],
            },
        ],
    };
    let neighbours = neighbours(reply, &query(), &vector_query(), "ns:doc:papers:").unwrap();
    let first = &neighbours[0].0;
    assert_eq!(first.id, "a");
    assert_eq!(first.distance, Some(0.25));
    assert_eq!(first.similarity, Some(0.75));
    assert_eq!(first.score, 0.75);
    assert_eq!(
        first.fields["year"].kind,
        Some(pb::field_value::Kind::Number(2019.0))
    );
    assert!(neighbours[1].0.fields.is_empty());
}

#[test]
fn neighbours_read_sort_values() {
    let reply = SearchReply {
        total: 1,
        documents: vec![ReplyDocument {
            key: b"p:a".to_vec(),
            score: None,
            fields: vec![
                (b"__distance".to_vec(), b"0.1".to_vec()),
                (b"year".to_vec(), b"2001".to_vec()),
            ],
        }],
    };
    let mut query = query();
    query.sort_by = Some(SortKey {
        field: year(),
        descending: true,
    });
    let neighbours = neighbours(reply, &query, &vector_query(), "p:").unwrap();
    assert_eq!(neighbours[0].1, SortValue::Number(2001.0));
}

#[test]
fn neighbours_leave_out_excluded() {
    let reply = crate::reply::parse_search_reply(Value::Array(vec![
        Value::Int(2),
        bulk("p:a"),
        Value::Array(vec![bulk("__distance"), bulk("0")]),
        bulk("p:b"),
        Value::Array(vec![bulk("__distance"), bulk("0.1")]),
    ]))
    .unwrap();
    let mut vector_query = vector_query();
    vector_query.source = Some(QuerySource::SimilarTo {
        id: "a".to_owned(),
        exclude: true,
    });
    let neighbours = neighbours(reply, &query(), &vector_query, "p:").unwrap();
    assert_eq!(neighbours.len(), 1);
    assert_eq!(neighbours[0].0.id, "b");
}

#[test]
fn missing_distance_rejected() {
    let reply = SearchReply {
        total: 1,
        documents: vec![ReplyDocument {
            key: b"p:a".to_vec(),
            score: None,
            fields: Vec::new(),
        }],
    };
    let error = neighbours(reply, &query(), &vector_query(), "p:").unwrap_err();
    assert!(
        format!("{error:#}").contains("no __distance field"),
        "{error:#}"
    );
}
