//! The error type of every command and the process exit codes.

use crate::connect::Service;
use crate::output::{code_name, status_text};

/// Exit code of a command that failed: a gRPC error, an unreachable service, an unreadable file.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a usage error; clap exits with the same code for the errors it detects.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a load that finished but rejected documents or skipped malformed records.
pub const EXIT_INCOMPLETE: u8 = 3;

/// Result of a command that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A load finished, but some records were malformed or some documents were rejected.
    Incomplete,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Incomplete => EXIT_INCOMPLETE,
        }
    }
}

/// Error of a failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An invalid combination of options that clap cannot express; exits with [`EXIT_USAGE`].
    #[error("{0}")]
    Usage(String),
    #[error("failed to connect to the {service} at {address}: {reason}\n{hint}", hint = .service.start_hint())]
    Connect {
        service: Service,
        address: String,
        reason: String,
    },
    /// A gRPC call returned an error status.
    #[error("{operation} failed: {}", rpc_failure_text(.service, .status))]
    Rpc {
        service: Service,
        operation: String,
        status: tonic::Status,
    },
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn rpc(service: Service, operation: impl Into<String>, status: tonic::Status) -> Self {
        CliError::Rpc {
            service,
            operation: operation.into(),
            status,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }
}

/// Formats the status of a failed call, with advice for users of this client: how to start an
/// unreachable service, and which `docsearch` command lists the indexes when an index is not found.
fn rpc_failure_text(service: &Service, status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unavailable => format!("{}\n{}", status_text(status), service.start_hint()),
        tonic::Code::NotFound if status.message().starts_with("index ") => {
            // Both services word it "index NAME not found; <advice for gRPC clients>". Index names
            // cannot contain ';', so the first "; " ends the fact.
            let fact = status
                .message()
                .split_once("; ")
                .map_or(status.message(), |(fact, _advice)| fact);
            format!(
                "{}: {fact}\nList the indexes with `docsearch index list`, or create one with \
                 `docsearch index create NAME --schema FILE`.",
                code_name(status.code())
            )
        }
        _ => status_text(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_not_found_points_to_cli_commands() {
        let error = CliError::rpc(
            Service::Searcher,
            "searching index \"missing\"",
            tonic::Status::not_found(
                "index \"missing\" not found; list the indexes with docsearch.v1.IndexService/ListIndexes",
            ),
        );
        assert_eq!(
            error.to_string(),
            "searching index \"missing\" failed: NOT_FOUND: index \"missing\" not found\n\
             List the indexes with `docsearch index list`, or create one with \
             `docsearch index create NAME --schema FILE`."
        );
    }

    #[test]
    fn missing_documents_keep_the_service_message() {
        let message = "document \"x\" not found in index \"papers\"; check the ids, or ingest the documents first";
        let error = CliError::rpc(
            Service::Searcher,
            "getting documents",
            tonic::Status::not_found(message),
        );
        assert_eq!(
            error.to_string(),
            format!("getting documents failed: NOT_FOUND: {message}")
        );
    }

    #[test]
    fn unavailable_adds_start_hint() {
        let error = CliError::rpc(
            Service::Indexer,
            "listing indexes",
            tonic::Status::unavailable("connection refused"),
        );
        let text = error.to_string();
        assert!(
            text.starts_with("listing indexes failed: UNAVAILABLE: connection refused\n"),
            "{text}"
        );
        assert!(text.contains("--indexer"), "{text}");
    }
}
