//! The searcher's error type and its one mapping to gRPC status codes.

use std::time::Duration;

use docsearch_runtime::InvalidValue;
use docsearch_runtime::catalog::{CatalogError, is_unknown_index};
use docsearch_runtime::connection::is_unavailable;
use docsearch_runtime::validate::quote;
use tonic::Status;

/// Number of missing document ids that a NOT_FOUND message lists before it counts the rest.
const MAX_LISTED_IDS: usize = 10;

/// Every way a searcher request can fail.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Bad input: the field path, the value and the fix are in the message.
    #[error("{0}")]
    InvalidArgument(InvalidValue),
    #[error("index {index:?} not found")]
    IndexNotFound { index: String },
    /// Documents named by the request that the index does not hold, in request order.
    #[error("{} not found in index {index:?}", count_of(ids.len(), "document", "documents"))]
    DocumentsNotFound { index: String, ids: Vec<String> },
    /// The request is valid but the searcher cannot serve it as configured, such as text without a model.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("Redis is unavailable while {operation}: {source}")]
    Unavailable {
        operation: &'static str,
        source: redis::RedisError,
    },
    #[error("{operation} timed out after {}", humantime::format_duration(*timeout))]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    /// A bug or an unexpected reply; the client sees a generic message and the log has the detail.
    #[error("internal error while {operation} on index {index:?}: {source:#}")]
    Internal {
        operation: &'static str,
        index: String,
        /// Documents involved, when the failure concerns particular ones.
        ids: Vec<String>,
        source: anyhow::Error,
    },
}

impl SearchError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        SearchError::InvalidArgument(InvalidValue::new(field, message))
    }

    pub fn index_not_found(index: &str) -> Self {
        SearchError::IndexNotFound {
            index: index.to_owned(),
        }
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        SearchError::FailedPrecondition(message.into())
    }

    /// Wraps a bug or unexpected state met while doing `operation` on `index`.
    pub fn internal(
        operation: &'static str,
        index: &str,
        source: impl Into<anyhow::Error>,
    ) -> Self {
        SearchError::Internal {
            operation,
            index: index.to_owned(),
            ids: Vec::new(),
            source: source.into(),
        }
    }

    /// Records the documents involved in an internal error, for the log.
    pub fn with_ids(mut self, document_ids: &[String]) -> Self {
        if let SearchError::Internal { ids, .. } = &mut self {
            ids.extend(document_ids.iter().cloned());
        }
        self
    }

    /// Classifies a Redis error met while doing `operation` on `index`.
    pub fn redis(operation: &'static str, index: &str, source: redis::RedisError) -> Self {
        if is_unavailable(&source) {
            SearchError::Unavailable { operation, source }
        } else if is_unknown_index(&source) {
            // The catalog entry exists but RediSearch has no index, as while an index is being dropped.
            SearchError::index_not_found(index)
        } else {
            SearchError::internal(operation, index, source)
        }
    }

    /// Classifies a catalog error met while doing `operation` on `index`.
    pub fn catalog(operation: &'static str, index: &str, source: CatalogError) -> Self {
        match source {
            CatalogError::IndexNotFound(index) => SearchError::IndexNotFound { index },
            CatalogError::Redis(error) => SearchError::redis(operation, index, error),
            // The searcher never creates indexes, so only a corrupt entry can reach here.
            other @ (CatalogError::CorruptEntry { .. }
            | CatalogError::IndexExists(_)
            | CatalogError::SchemaRejected(_)) => SearchError::internal(operation, index, other),
        }
    }
}

impl From<InvalidValue> for SearchError {
    fn from(invalid: InvalidValue) -> Self {
        SearchError::InvalidArgument(invalid)
    }
}

impl From<SearchError> for Status {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::InvalidArgument(invalid) => Status::invalid_argument(invalid.to_string()),
            SearchError::IndexNotFound { index } => Status::not_found(format!(
                "index {} not found; list the indexes with docsearch.v1.IndexService/ListIndexes",
                quote(&index)
            )),
            SearchError::DocumentsNotFound { index, ids } => {
                Status::not_found(documents_not_found_message(&index, &ids))
            }
            SearchError::FailedPrecondition(message) => Status::failed_precondition(message),
            SearchError::Unavailable { operation, source } => {
                tracing::warn!(operation, error = %source, "Redis is unavailable");
                Status::unavailable(format!(
                    "Redis is unavailable while {operation} ({source}); retry later"
                ))
            }
            SearchError::Timeout { operation, timeout } => Status::deadline_exceeded(format!(
                "{operation} timed out after {}; narrow the filter, lower k or retry later",
                humantime::format_duration(timeout)
            )),
            SearchError::Internal {
                operation,
                index,
                ids,
                source,
            } => {
                tracing::error!(
                    operation,
                    index,
                    ids = ?ids,
                    error = format!("{source:#}"),
                    "internal error"
                );
                Status::internal(format!(
                    "internal error while {operation}; the searcher logged the details"
                ))
            }
        }
    }
}

/// Maximum length in characters of the plain form of a number in a message. Longer numbers take the
/// exponent form.
const MAX_PLAIN_NUMBER_CHARS: usize = 20;

/// Writes a number for a message: in plain form, such as 0.001, unless that takes more than
/// `MAX_PLAIN_NUMBER_CHARS` characters, as 1e308 would take 309, and then in exponent form. Both
/// forms print the shortest digits that parse back to `value`.
pub fn display_number(value: f64) -> String {
    let plain = format!("{value}");
    if plain.len() > MAX_PLAIN_NUMBER_CHARS {
        format!("{value:e}")
    } else {
        plain
    }
}

/// Writes a count with its noun for a message, singular only for 1: `1 character`, `0 characters`.
pub fn count_of(count: usize, singular: &str, plural: &str) -> String {
    let noun = if count == 1 { singular } else { plural };
    format!("{count} {noun}")
}

/// Names the missing ids, up to `MAX_LISTED_IDS` of them, and counts the rest.
fn documents_not_found_message(index: &str, ids: &[String]) -> String {
    let listed: Vec<String> = ids
        .iter()
        .take(MAX_LISTED_IDS)
        .map(|id| quote(id))
        .collect();
    let mut names = listed.join(", ");
    if ids.len() > MAX_LISTED_IDS {
        names.push_str(&format!(" and {} more", ids.len() - MAX_LISTED_IDS));
    }
    let subject = if ids.len() == 1 {
        "document"
    } else {
        "documents"
    };
    format!(
        "{subject} {names} not found in index {}; check the ids, or ingest the documents first",
        quote(index)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn status(error: SearchError) -> Status {
        Status::from(error)
    }

    #[test]
    fn numbers_displayed_compactly() {
        assert_eq!(display_number(1e308), "1e308");
        assert_eq!(display_number(-2.5e-300), "-2.5e-300");
        assert_eq!(display_number(2010.5), "2010.5");
        assert_eq!(display_number(0.001), "0.001");
        assert_eq!(display_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(display_number(1e21), "1e21");
        assert_eq!(display_number(f64::INFINITY), "inf");
        assert_eq!(display_number(f64::NAN), "NaN");
    }

    #[test]
    fn counts_take_singular_for_one() {
        assert_eq!(count_of(0, "character", "characters"), "0 characters");
        assert_eq!(count_of(1, "character", "characters"), "1 character");
        assert_eq!(count_of(2, "value", "values"), "2 values");
    }

    #[test]
    fn invalid_argument_names_field_and_fix() {
        let status = status(SearchError::invalid(
            "k",
            "0 is out of range; use 1 to 1000",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid k: 0 is out of range; use 1 to 1000"
        );
    }

    #[test]
    fn index_not_found_names_index() {
        let status = status(SearchError::index_not_found("papers"));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(
            status.message(),
            "index \"papers\" not found; list the indexes with docsearch.v1.IndexService/ListIndexes"
        );
    }

    #[test]
    fn document_not_found_names_id() {
        let status = status(SearchError::DocumentsNotFound {
            index: "papers".to_owned(),
            ids: vec!["hep-th/9901001".to_owned()],
        });
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(
            status.message(),
            "document \"hep-th/9901001\" not found in index \"papers\"; check the ids, or ingest the documents first"
        );
    }

    #[test]
    fn documents_not_found_counts_rest() {
        let ids: Vec<String> = (0..13).map(|n| format!("d{n}")).collect();
        let status = status(SearchError::DocumentsNotFound {
            index: "papers".to_owned(),
            ids,
        });
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(
            status.message(),
            "documents \"d0\", \"d1\", \"d2\", \"d3\", \"d4\", \"d5\", \"d6\", \"d7\", \"d8\", \"d9\" and 3 more not found in index \"papers\"; check the ids, or ingest the documents first"
        );
    }

    #[test]
    fn failed_precondition_keeps_message() {
        let status = status(SearchError::failed_precondition("no model"));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "no model");
    }

    #[test]
    fn io_error_is_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let status = status(SearchError::redis(
            "searching",
            "papers",
            redis::RedisError::from(io),
        ));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            status
                .message()
                .starts_with("Redis is unavailable while searching ("),
            "{}",
            status.message()
        );
        assert!(
            status.message().ends_with("); retry later"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn timeout_is_deadline_exceeded() {
        let status = status(SearchError::Timeout {
            operation: "searching",
            timeout: Duration::from_millis(1500),
        });
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert_eq!(
            status.message(),
            "searching timed out after 1s 500ms; narrow the filter, lower k or retry later"
        );
    }

    #[test]
    fn internal_hides_detail() {
        let error = SearchError::internal("searching", "papers", anyhow::anyhow!("secret detail"))
            .with_ids(&["a".to_owned()]);
        let status = status(error);
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(
            status.message(),
            "internal error while searching; the searcher logged the details"
        );
    }

    #[test]
    fn unknown_index_reply_is_not_found() {
        let reply = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "An error was signalled by the server",
            "Unknown index name".to_owned(),
        ));
        let status = status(SearchError::redis("searching", "papers", reply));
        assert_eq!(status.code(), Code::NotFound);
        assert!(
            status.message().contains("\"papers\""),
            "{}",
            status.message()
        );
    }

    #[test]
    fn catalog_not_found_is_not_found() {
        let error = SearchError::catalog(
            "loading the index schema",
            "papers",
            CatalogError::IndexNotFound("papers".to_owned()),
        );
        assert_eq!(status(error).code(), Code::NotFound);
    }
}
