//! The indexer's error type and its one mapping to gRPC status codes.

use docsearch_runtime::InvalidValue;
use docsearch_runtime::catalog::CatalogError;
use docsearch_runtime::connection::is_unavailable;
use tonic::Status;

/// Every way an indexer request can fail.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// Bad input: the field path, the value and the fix are in the message.
    #[error("{0}")]
    InvalidArgument(InvalidValue),
    #[error("index {0:?} not found")]
    IndexNotFound(String),
    #[error("index {0:?} already exists")]
    IndexExists(String),
    /// The request is valid but the indexer cannot serve it as configured, such as embedding without a model.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("Redis is unavailable while {operation}: {source}")]
    Unavailable {
        operation: &'static str,
        source: redis::RedisError,
    },
    /// A bug or an unexpected reply; the client sees a generic message and the log has the detail.
    #[error("internal error while {operation}: {source:#}")]
    Internal {
        operation: &'static str,
        source: anyhow::Error,
    },
}

impl IndexerError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        IndexerError::InvalidArgument(InvalidValue::new(field, message))
    }

    /// Classifies a Redis error met while doing `operation`.
    pub fn redis(operation: &'static str, source: redis::RedisError) -> Self {
        if is_unavailable(&source) {
            IndexerError::Unavailable { operation, source }
        } else {
            IndexerError::Internal {
                operation,
                source: source.into(),
            }
        }
    }

    /// Classifies a catalog error met while doing `operation`.
    pub fn catalog(operation: &'static str, source: CatalogError) -> Self {
        match source {
            CatalogError::IndexNotFound(name) => IndexerError::IndexNotFound(name),
            CatalogError::IndexExists(name) => IndexerError::IndexExists(name),
            CatalogError::SchemaRejected(invalid) => IndexerError::InvalidArgument(invalid),
            CatalogError::Redis(error) => IndexerError::redis(operation, error),
            corrupt @ CatalogError::CorruptEntry { .. } => IndexerError::Internal {
                operation,
                source: corrupt.into(),
            },
        }
    }
}

impl From<IndexerError> for Status {
    fn from(error: IndexerError) -> Self {
        match error {
            IndexerError::InvalidArgument(invalid) => Status::invalid_argument(invalid.to_string()),
            IndexerError::IndexNotFound(name) => Status::not_found(format!(
                "index {name:?} not found; list the indexes with ListIndexes or create it with CreateIndex"
            )),
            IndexerError::IndexExists(name) => Status::already_exists(format!(
                "index {name:?} already exists; drop it first with DropIndex or choose another name"
            )),
            IndexerError::FailedPrecondition(message) => Status::failed_precondition(message),
            IndexerError::Unavailable { operation, source } => {
                tracing::warn!(operation, error = %source, "Redis is unavailable");
                Status::unavailable(format!(
                    "Redis is unavailable while {operation} ({source}); nothing of this request was acknowledged, retry later"
                ))
            }
            IndexerError::Internal { operation, source } => {
                tracing::error!(operation, error = format!("{source:#}"), "internal error");
                Status::internal(format!(
                    "internal error while {operation}; the indexer logged the details"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn status(error: IndexerError) -> Status {
        Status::from(error)
    }

    #[test]
    fn invalid_argument_keeps_field_and_fix() {
        let status = status(IndexerError::invalid(
            "documents[3].id",
            "the id is empty; set it",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid documents[3].id: the id is empty; set it"
        );
    }

    #[test]
    fn not_found_names_index() {
        let status = status(IndexerError::IndexNotFound("papers".to_owned()));
        assert_eq!(status.code(), Code::NotFound);
        assert!(
            status.message().contains("\"papers\""),
            "{}",
            status.message()
        );
    }

    #[test]
    fn exists_maps_to_already_exists() {
        let status = status(IndexerError::IndexExists("papers".to_owned()));
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(
            status.message().contains("DropIndex"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn precondition_keeps_message() {
        let status = status(IndexerError::FailedPrecondition("no model".to_owned()));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "no model");
    }

    #[test]
    fn io_error_is_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let status = status(IndexerError::redis(
            "writing a batch",
            redis::RedisError::from(io),
        ));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            status.message().contains("writing a batch"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn internal_hides_detail() {
        let status = status(IndexerError::Internal {
            operation: "reading the catalog",
            source: anyhow::anyhow!("secret detail"),
        });
        assert_eq!(status.code(), Code::Internal);
        assert!(
            !status.message().contains("secret detail"),
            "{}",
            status.message()
        );
    }
}
