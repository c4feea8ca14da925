//! The error type of every command and the process exit codes.

use crate::connect::Service;
use crate::output::status_text;

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
    #[error("{operation} failed: {status_line}{hint}", status_line = status_text(.status), hint = unavailable_hint(.service, .status))]
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

fn unavailable_hint(service: &Service, status: &tonic::Status) -> String {
    if status.code() == tonic::Code::Unavailable {
        format!("\n{}", service.start_hint())
    } else {
        String::new()
    }
}
