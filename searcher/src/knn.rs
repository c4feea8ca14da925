//! The FT.SEARCH commands of a KNN query and the hits built from their replies.
//!
//! A KNN query runs two commands in one pipeline: the KNN search itself, and a count of the documents
//! that pass the filter (`LIMIT 0 0`), because the KNN reply's total counts only the neighbours found.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use docsearch_proto::v1 as pb;
use docsearch_runtime::fields::decode_value;
use docsearch_runtime::vector;

use crate::reply::{ReplyDocument, SearchReply};
use crate::request::{HybridPolicy, KnnQuery};

/// Name under which FT.SEARCH yields each neighbour's distance. Schema field names cannot start with
/// `__`, so it never collides with a document field.
pub const DISTANCE_FIELD: &str = "__distance";

/// Query dialect of every command. RediSearch 2.10 rejects KNN clauses and `ismissing` under DIALECT 1.
const DIALECT: u32 = 2;

/// The neighbours a KNN command fetches, and the slice of them that forms the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The K of the KNN clause.
    pub num_neighbours: usize,
    /// The LIMIT of the command.
    pub limit_offset: usize,
    pub limit_count: usize,
    /// Hits to skip after the excluded document is removed.
    pub skip: usize,
    /// Hits in the page.
    pub take: usize,
}

impl Window {
    /// Computes the window of a page of `k` hits after `offset`. Leaving a document out needs one more
    /// neighbour, and the page is cut after the document is removed, because its rank is not known in
    /// advance. With IP distances or duplicate vectors, the document need not rank first.
    pub fn new(k: usize, offset: usize, excluding_document: bool) -> Self {
        if excluding_document {
            let num_neighbours = offset + k + 1;
            Window {
                num_neighbours,
                limit_offset: 0,
                limit_count: num_neighbours,
                skip: offset,
                take: k,
            }
        } else {
            Window {
                num_neighbours: offset + k,
                limit_offset: offset,
                limit_count: k,
                skip: 0,
                take: k,
            }
        }
    }
}

/// Writes the query string: `<filter>=>[KNN $K @field $BLOB [options] AS __distance]`, with `*` as the
/// filter when there is none.
pub fn query_string(query: &KnnQuery) -> String {
    let filter = match &query.filter {
        Some(filter) => format!("({filter})"),
        None => "*".to_owned(),
    };
    let mut options = String::new();
    if query.ef_runtime.is_some() {
        options.push_str(" EF_RUNTIME $EF_RUNTIME");
    }
    match query.hybrid_policy {
        None => {}
        Some(HybridPolicy::AdhocBruteForce) => options.push_str(" HYBRID_POLICY ADHOC_BF"),
        Some(HybridPolicy::Batches { batch_size }) => {
            options.push_str(" HYBRID_POLICY BATCHES");
            if batch_size.is_some() {
                options.push_str(" BATCH_SIZE $BATCH_SIZE");
            }
        }
    }
    format!(
        "{filter}=>[KNN $K @{} $BLOB{options} AS {DISTANCE_FIELD}]",
        query.target.name
    )
}

/// Builds the KNN command. `server_timeout` becomes RediSearch's TIMEOUT for this query.
pub fn knn_command(
    search_index: &str,
    query: &KnnQuery,
    vector: &[f32],
    window: Window,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command.arg(search_index).arg(query_string(query));

    command
        .arg("RETURN")
        .arg(query.return_fields.len() + 1)
        .arg(DISTANCE_FIELD);
    for field in &query.return_fields {
        command.arg(&field.name);
    }
    command
        .arg("SORTBY")
        .arg(DISTANCE_FIELD)
        .arg("ASC")
        .arg("LIMIT")
        .arg(window.limit_offset)
        .arg(window.limit_count);

    let mut params: Vec<(&str, Vec<u8>)> = vec![
        ("BLOB", vector::encode(vector)),
        ("K", window.num_neighbours.to_string().into_bytes()),
    ];
    if let Some(ef_runtime) = query.ef_runtime {
        params.push(("EF_RUNTIME", ef_runtime.to_string().into_bytes()));
    }
    if let Some(HybridPolicy::Batches {
        batch_size: Some(batch_size),
    }) = query.hybrid_policy
    {
        params.push(("BATCH_SIZE", batch_size.to_string().into_bytes()));
    }
    command.arg("PARAMS").arg(params.len() * 2);
    for (name, value) in params {
        command.arg(name).arg(value);
    }

    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

/// Builds the command that counts the documents passing `filter`, or every document without one.
pub fn count_command(
    search_index: &str,
    filter: Option<&str>,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command
        .arg(search_index)
        .arg(filter.unwrap_or("*"))
        .arg("LIMIT")
        .arg(0)
        .arg(0);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

fn append_timeout_and_dialect(command: &mut redis::Cmd, server_timeout: Duration) {
    let timeout_ms = server_timeout.as_millis().max(1);
    command
        .arg("TIMEOUT")
        .arg(timeout_ms.to_string())
        .arg("DIALECT")
        .arg(DIALECT);
}

/// The hits of a KNN reply, in distance order, with the excluded document left out.
#[derive(Debug)]
pub struct Neighbours {
    pub hits: Vec<pb::SearchHit>,
    /// The excluded document was among the neighbours, so it passes the filter.
    pub excluded_seen: bool,
}

/// Builds hits from a KNN reply. Keys are `key_prefix` + document id.
pub fn neighbours(
    reply: SearchReply,
    query: &KnnQuery,
    key_prefix: &str,
    excluded_id: Option<&str>,
) -> anyhow::Result<Neighbours> {
    let mut hits = Vec::with_capacity(reply.documents.len());
    let mut excluded_seen = false;
    for document in &reply.documents {
        let id = document_id(&document.key, key_prefix)?;
        if excluded_id == Some(id.as_str()) {
            excluded_seen = true;
            continue;
        }
        hits.push(hit(document, id, query)?);
    }
    Ok(Neighbours {
        hits,
        excluded_seen,
    })
}

fn hit(document: &ReplyDocument, id: String, query: &KnnQuery) -> anyhow::Result<pb::SearchHit> {
    let distance = parse_distance(document.field(DISTANCE_FIELD))
        .with_context(|| format!("reading the distance of document {id:?}"))?;
    let similarity = query.metric().similarity(distance);

    let mut fields = HashMap::with_capacity(query.return_fields.len());
    for field in &query.return_fields {
        let Some(bytes) = document.field(&field.name) else {
            continue;
        };
        match decode_value(field, bytes) {
            Some(value) => {
                fields.insert(field.name.clone(), value);
            }
            None => tracing::warn!(
                index = query.index,
                document_id = id,
                field = field.name,
                field_type = field.type_name(),
                "stored value does not parse as the field's type; leaving it out of the hit"
            ),
        }
    }

    Ok(pb::SearchHit {
        id,
        score: f64::from(similarity),
        distance: Some(distance),
        similarity: Some(similarity),
        text_score: None,
        vector_rank: None,
        text_rank: None,
        fields,
        highlights: HashMap::new(),
    })
}

/// Strips the key prefix of an index from a document key.
pub fn document_id(key: &[u8], key_prefix: &str) -> anyhow::Result<String> {
    let id = key.strip_prefix(key_prefix.as_bytes()).ok_or_else(|| {
        anyhow!(
            "key {:?} lies outside the index's prefix {key_prefix:?}",
            String::from_utf8_lossy(key)
        )
    })?;
    String::from_utf8(id.to_vec()).context("the document id in a key is not UTF-8")
}

fn parse_distance(bytes: Option<&[u8]>) -> anyhow::Result<f32> {
    let bytes = bytes.ok_or_else(|| anyhow!("the reply has no {DISTANCE_FIELD} field"))?;
    let text = std::str::from_utf8(bytes).context("the distance is not UTF-8")?;
    text.trim()
        .parse::<f32>()
        .with_context(|| format!("the distance {text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{QuerySource, VectorTarget};
    use docsearch_runtime::schema::{
        DistanceMetric, Field, FieldKind, NumericOptions, VectorAlgorithm, VectorOptions,
    };
    use redis::Value;

    fn query() -> KnnQuery {
        KnnQuery {
            index: "papers".to_owned(),
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
            filter: None,
            k: 2,
            offset: 0,
            return_fields: vec![Field {
                name: "year".to_owned(),
                index_missing: false,
                kind: FieldKind::Numeric(NumericOptions { sortable: false }),
            }],
            count_only: false,
        }
    }

    fn words(command: &redis::Cmd) -> Vec<String> {
        command
            .args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => "<other>".to_owned(),
            })
            .collect()
    }

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn query_without_filter_uses_wildcard() {
        assert_eq!(
            query_string(&query()),
            "*=>[KNN $K @embedding $BLOB AS __distance]"
        );
    }

    #[test]
    fn query_with_options_names_parameters() {
        let mut query = query();
        query.filter = Some("@year:[2019 +inf]".to_owned());
        query.ef_runtime = Some(64);
        query.hybrid_policy = Some(HybridPolicy::Batches {
            batch_size: Some(50),
        });
        assert_eq!(
            query_string(&query),
            "(@year:[2019 +inf])=>[KNN $K @embedding $BLOB EF_RUNTIME $EF_RUNTIME HYBRID_POLICY BATCHES BATCH_SIZE $BATCH_SIZE AS __distance]"
        );
    }

    #[test]
    fn query_with_adhoc_policy() {
        let mut query = query();
        query.filter = Some("ismissing(@doi)".to_owned());
        query.hybrid_policy = Some(HybridPolicy::AdhocBruteForce);
        assert_eq!(
            query_string(&query),
            "(ismissing(@doi))=>[KNN $K @embedding $BLOB HYBRID_POLICY ADHOC_BF AS __distance]"
        );
    }

    #[test]
    fn knn_command_lists_every_argument() {
        let mut query = query();
        query.ef_runtime = Some(64);
        let command = knn_command(
            "ns:idx:papers",
            &query,
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
            Some("@year:[1 2]"),
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
                    fields: vec![
                        (b"__distance".to_vec(), b"0.25".to_vec()),
                        (b"year".to_vec(), b"2019".to_vec()),
                    ],
                },
                ReplyDocument {
                    key: b"ns:doc:papers:b".to_vec(),
                    fields: vec![(b"__distance".to_vec(), b"0.5".to_vec())],
                },
            ],
        };
        let neighbours = neighbours(reply, &query(), "ns:doc:papers:", None).unwrap();
        assert!(!neighbours.excluded_seen);
        let first = &neighbours.hits[0];
        assert_eq!(first.id, "a");
        assert_eq!(first.distance, Some(0.25));
        assert_eq!(first.similarity, Some(0.75));
        assert_eq!(first.score, 0.75);
        assert_eq!(
            first.fields["year"].kind,
            Some(pb::field_value::Kind::Number(2019.0))
        );
        assert!(neighbours.hits[1].fields.is_empty());
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
        let neighbours = neighbours(reply, &query(), "p:", Some("a")).unwrap();
        assert!(neighbours.excluded_seen);
        assert_eq!(neighbours.hits.len(), 1);
        assert_eq!(neighbours.hits[0].id, "b");
    }

    #[test]
    fn foreign_key_rejected() {
        let error = document_id(b"other:x", "ns:doc:papers:")
            .unwrap_err()
            .to_string();
        assert!(error.contains("outside the index's prefix"), "{error}");
    }

    #[test]
    fn missing_distance_rejected() {
        let reply = SearchReply {
            total: 1,
            documents: vec![ReplyDocument {
                key: b"p:a".to_vec(),
                fields: Vec::new(),
            }],
        };
        let error = neighbours(reply, &query(), "p:", None).unwrap_err();
        assert!(
            format!("{error:#}").contains("no __distance field"),
            "{error:#}"
        );
    }
}
