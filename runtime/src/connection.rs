//! The Redis connection: one multiplexed connection per service that reconnects on its own, and the
//! readiness probe behind the gRPC health status.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind, Value};

use crate::catalog::{value_number, value_text};
use crate::config::RedisConfig;

/// Oldest RediSearch the services work with, as MODULE LIST reports it (2.10.0).
pub const MIN_SEARCH_MODULE_VERSION: i64 = 21_000;

/// Reasons that Redis cannot serve the services yet.
#[derive(Debug, thiserror::Error)]
pub enum ReadinessError {
    #[error("Redis at {url} does not answer: {source}")]
    Unreachable { url: String, source: RedisError },
    #[error(
        "Redis at {url} has no search module (RediSearch {min}.0 or newer); run Redis Stack 7.4 or newer, or load redisearch.so"
    )]
    SearchModuleMissing { url: String, min: &'static str },
    #[error("Redis at {url} runs RediSearch {found}; version 2.10 or newer is required")]
    SearchModuleTooOld { url: String, found: i64 },
}

/// Creates the connection without waiting for Redis: the first command connects, and a lost
/// connection is re-established on the next command. A service can thus start while Redis is down
/// and report NOT_SERVING until Redis replies.
pub fn connect(config: &RedisConfig) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(config.url.as_str())?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
        .set_number_of_retries(config.reconnect_retries)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_lazy_with_config(client, manager_config)
}

/// Checks that Redis replies and has a recent enough search module.
pub async fn check_ready(
    connection: &mut ConnectionManager,
    url: &RedactedUrl,
) -> Result<(), ReadinessError> {
    let modules: Value = redis::cmd("MODULE")
        .arg("LIST")
        .query_async(connection)
        .await
        .map_err(|source| ReadinessError::Unreachable {
            url: url.to_string(),
            source,
        })?;
    match search_module_version(&modules) {
        None => Err(ReadinessError::SearchModuleMissing {
            url: url.to_string(),
            min: "2.10",
        }),
        Some(found) if found < MIN_SEARCH_MODULE_VERSION => {
            Err(ReadinessError::SearchModuleTooOld {
                url: url.to_string(),
                found,
            })
        }
        Some(_) => Ok(()),
    }
}

/// True when an error means Redis cannot be reached or cannot serve now, so the caller may retry:
/// I/O errors, timeouts, a server still loading its data set, or a read-only replica.
pub fn is_unavailable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::TryAgain)
                | ErrorKind::Server(ServerErrorKind::MasterDown)
                | ErrorKind::Server(ServerErrorKind::ReadOnly)
                | ErrorKind::ClusterConnectionNotFound
        )
}

/// Finds the search module's version in a MODULE LIST reply.
fn search_module_version(reply: &Value) -> Option<i64> {
    let Value::Array(modules) = reply else {
        return None;
    };
    modules.iter().find_map(|module| {
        let attributes: Vec<(String, &Value)> = match module {
            Value::Array(items) => items
                .chunks_exact(2)
                .filter_map(|pair| Some((value_text(&pair[0])?, &pair[1])))
                .collect(),
            Value::Map(pairs) => pairs
                .iter()
                .filter_map(|(key, value)| Some((value_text(key)?, value)))
                .collect(),
            _ => return None,
        };
        let name = attributes
            .iter()
            .find(|(key, _)| key == "name")
            .and_then(|(_, value)| value_text(value))?;
        if !name.eq_ignore_ascii_case("search") {
            return None;
        }
        attributes
            .iter()
            .find(|(key, _)| key == "ver")
            .and_then(|(_, value)| value_number(value))
            .map(|version| version as i64)
    })
}

/// A Redis URL that hides its password when displayed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    pub fn new(url: &str) -> Self {
        Self(url.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // redis://user:password@host:port/db → redis://user:***@host:port/db
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return formatter.write_str(&self.0);
        };
        match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split_once(':').map_or("", |(user, _)| user);
                write!(formatter, "{scheme}://{user}:***@{host}")
            }
            None => formatter.write_str(&self.0),
        }
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_url_hides_password() {
        let url = RedactedUrl::new("redis://app:s3cret@redis.internal:6379/0");
        assert_eq!(url.to_string(), "redis://app:***@redis.internal:6379/0");
        assert_eq!(
            format!("{url:?}"),
            "\"redis://app:***@redis.internal:6379/0\""
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = RedactedUrl::new("redis://:s3cret@localhost");
        assert_eq!(url.to_string(), "redis://:***@localhost");
        assert_eq!(
            RedactedUrl::new("redis://127.0.0.1:6379").to_string(),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn module_version_from_module_list() {
        let module = |name: &str, version: i64| {
            Value::Array(vec![
                Value::BulkString(b"name".to_vec()),
                Value::BulkString(name.as_bytes().to_vec()),
                Value::BulkString(b"ver".to_vec()),
                Value::Int(version),
            ])
        };
        let reply = Value::Array(vec![module("ReJSON", 20803), module("search", 21005)]);
        assert_eq!(search_module_version(&reply), Some(21005));
        assert_eq!(
            search_module_version(&Value::Array(vec![module("ReJSON", 1)])),
            None
        );
    }
}
