//! Searcher configuration: defaults that work against a local Redis, overridden by a TOML file and by
//! `DOCSEARCH__SECTION__KEY` environment variables.

use std::time::Duration;

use docsearch_runtime::config::{
    ConfigError, EmbeddingConfig, RedisConfig, ServerConfig, TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// Port the searcher listens on by default.
pub const DEFAULT_PORT: u16 = 50052;

/// Largest result window the searcher accepts in its configuration; RediSearch 2.10 refuses larger
/// LIMIT windows unless its MAXSEARCHRESULTS setting is raised above the default of 1,000,000.
pub const MAX_CONFIGURABLE_WINDOW: u32 = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearcherConfig {
    pub server: ServerConfig,
    pub redis: RedisConfig,
    pub telemetry: TelemetryConfig,
    pub embedding: EmbeddingConfig,
    pub search: SearchConfig,
}

/// Limits on queries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Largest `k` of one query.
    pub max_k: u32,
    /// Largest `offset + k` of one query, which bounds how deep a client can page.
    pub max_window: u32,
    /// Time one query may run in Redis before it fails with DEADLINE_EXCEEDED.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
    /// Queries in one SearchBatch request.
    pub max_batch_queries: u32,
}

impl Default for SearcherConfig {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            redis: RedisConfig::default(),
            telemetry: TelemetryConfig::default(),
            embedding: EmbeddingConfig::default(),
            search: SearchConfig::default(),
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_k: 1000,
            max_window: 10_000,
            query_timeout: Duration::from_secs(10),
            max_batch_queries: 100,
        }
    }
}

impl SearcherConfig {
    /// Checks every section; the error names the key and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.redis.validate()?;
        self.telemetry.validate()?;
        self.embedding.validate()?;
        self.search.validate()?;

        // A query outliving the Redis response timeout would fail as UNAVAILABLE, not DEADLINE_EXCEEDED.
        if self.search.query_timeout > self.redis.response_timeout {
            return Err(ConfigError::invalid(
                "search.query_timeout",
                format!(
                    "{} exceeds redis.response_timeout ({}), so the Redis connection would time out first; lower search.query_timeout or raise redis.response_timeout",
                    humantime::format_duration(self.search.query_timeout),
                    humantime::format_duration(self.redis.response_timeout)
                ),
            ));
        }
        Ok(())
    }
}

impl SearchConfig {
    /// Checks the ranges of the query limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_CONFIGURABLE_WINDOW).contains(&self.max_window) {
            return Err(ConfigError::invalid(
                "search.max_window",
                format!(
                    "{} is out of range; use 1 to {MAX_CONFIGURABLE_WINDOW}",
                    self.max_window
                ),
            ));
        }
        if !(1..=self.max_window).contains(&self.max_k) {
            return Err(ConfigError::invalid(
                "search.max_k",
                format!(
                    "{} is out of range; use 1 up to search.max_window ({})",
                    self.max_k, self.max_window
                ),
            ));
        }
        if self.query_timeout < Duration::from_millis(1) {
            return Err(ConfigError::invalid(
                "search.query_timeout",
                "the timeout is under 1ms; use a duration such as \"10s\"",
            ));
        }
        if !(1..=10_000).contains(&self.max_batch_queries) {
            return Err(ConfigError::invalid(
                "search.max_batch_queries",
                format!("{} is out of range; use 1 to 10000", self.max_batch_queries),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = SearcherConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.server.listen_addr.port(), DEFAULT_PORT);
        assert_eq!(config.server.listen_addr.ip().to_string(), "127.0.0.1");
    }

    #[test]
    fn max_k_above_window_rejected() {
        let search = SearchConfig {
            max_k: 20,
            max_window: 10,
            ..SearchConfig::default()
        };
        let error = search.validate().unwrap_err().to_string();
        assert!(error.contains("search.max_k"), "{error}");
        assert!(error.contains("search.max_window (10)"), "{error}");
    }

    #[test]
    fn zero_timeout_rejected() {
        let search = SearchConfig {
            query_timeout: Duration::ZERO,
            ..SearchConfig::default()
        };
        let error = search.validate().unwrap_err().to_string();
        assert!(error.contains("search.query_timeout"), "{error}");
    }

    #[test]
    fn timeout_above_redis_timeout_rejected() {
        let mut config = SearcherConfig::default();
        config.search.query_timeout = Duration::from_secs(30);
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("redis.response_timeout (10s)"), "{error}");
    }

    #[test]
    fn unknown_search_key_rejected() {
        let parsed: Result<SearchConfig, _> = serde_json::from_str(
            r#"{"max_k": 10, "max_window": 100, "query_timeout": "1s", "max_batch_queries": 5, "maxk": 1}"#,
        );
        let error = parsed.unwrap_err().to_string();
        assert!(error.contains("maxk"), "{error}");
    }

    #[test]
    fn timeout_reads_humantime() {
        let parsed: SearchConfig = serde_json::from_str(
            r#"{"max_k": 10, "max_window": 100, "query_timeout": "1500ms", "max_batch_queries": 5}"#,
        )
        .unwrap();
        assert_eq!(parsed.query_timeout, Duration::from_millis(1500));
    }
}
