//! Configuration shared by the services: sections that both use, and the loader that layers defaults,
//! an optional TOML file and `DOCSEARCH__SECTION__KEY` environment variables, in that order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::connection::RedactedUrl;

/// Prefix of the environment variables that override the file, with `__` between nested keys:
/// `DOCSEARCH__REDIS__URL` sets `redis.url`.
pub const ENV_PREFIX: &str = "DOCSEARCH__";

/// An invalid configuration value, with the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or the environment could not be read into the configuration: a TOML syntax error, an
    /// unknown key or a value of the wrong type. The message names the file or the variable.
    #[error("{0}")]
    Parse(String),
    #[error("invalid configuration key {key}: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Loads a configuration: `defaults`, then the TOML file if given, then the environment.
/// Unknown keys in the file are rejected when `T` denies them.
pub fn load<T>(defaults: &T, file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned,
{
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::invalid(
                "--config",
                format!(
                    "{} is not a readable file; pass the path of a TOML configuration file",
                    path.display()
                ),
            ));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").lowercase(true));
    figment
        .extract()
        .map_err(|error| ConfigError::Parse(describe_figment_error(&error, file)))
}

/// Describes each error on its own line: the key, where its value came from (the file as given, or the
/// environment variable with its value), what is wrong and what to do.
fn describe_figment_error(error: &figment::Error, file: Option<&Path>) -> String {
    let descriptions: Vec<String> = error
        .clone()
        .into_iter()
        .map(|error| describe_one_error(&error, file))
        .collect();
    descriptions.join("\n")
}

fn describe_one_error(error: &figment::Error, file: Option<&Path>) -> String {
    let from_env = error
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.name.contains("environment"));
    let source_file = error
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.source.as_ref())
        .map(|source| match (source, file) {
            // figment shows file paths relative to the working directory; the path as given is clearer.
            (figment::Source::File(_), Some(file)) => file.display().to_string(),
            (source, _) => source.to_string(),
        });

    if error.path.is_empty() {
        // Errors of the whole source, such as a TOML syntax error, have no key.
        let problem = single_line(&error.kind.to_string());
        return match source_file {
            Some(file) if !from_env => {
                format!("invalid configuration file {file}: {problem}; fix the file and restart")
            }
            _ => format!("invalid configuration: {problem}; fix it and restart"),
        };
    }

    let key = error.path.join(".");
    let origin = if from_env {
        environment_origin(&error.path)
    } else {
        source_file
            .map(|file| format!(" (in {file})"))
            .unwrap_or_default()
    };
    let (problem, fix) = match &error.kind {
        figment::error::Kind::UnknownField(_, expected) => (
            format!("unknown key; expected one of {}", expected.join(", ")),
            "rename or remove it and restart",
        ),
        kind => (single_line(&kind.to_string()), "fix the value and restart"),
    };
    format!("invalid configuration key {key}{origin}: {problem}; {fix}")
}

/// Names the environment variables behind the key at `path`. A variable set for a key that the
/// configuration lacks, such as `DOCSEARCH__NOSECTION__X` for the unknown section `nosection`, is
/// found by its prefix. Its value is left out, because it may be a secret meant for another key.
fn environment_origin(path: &[String]) -> String {
    let name = format!("{ENV_PREFIX}{}", path.join("__")).to_uppercase();
    if let Ok(value) = std::env::var(&name) {
        return format!(" (environment variable {name}={value:?})");
    }
    let nested_prefix = format!("{name}__");
    let mut nested: Vec<String> = std::env::vars_os()
        .filter_map(|(variable, _)| variable.into_string().ok())
        .filter(|variable| variable.to_uppercase().starts_with(&nested_prefix))
        .collect();
    nested.sort();
    match nested.as_slice() {
        [] => format!(" (environment variable {name})"),
        [variable] => format!(" (environment variable {variable})"),
        variables => format!(" (environment variables {})", variables.join(", ")),
    }
}

/// Joins a multi-line message, such as a TOML parse error with its source excerpt, into one line:
/// the excerpt lines (`  |`, `1 | [server`) are dropped and the others joined with ": " and ", ".
fn single_line(message: &str) -> String {
    let mut lines = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_excerpt_line(line));
    let Some(first) = lines.next() else {
        return message.trim().to_owned();
    };
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        first.to_owned()
    } else {
        format!("{first}: {}", rest.join(", "))
    }
}

/// True for a line of a source excerpt in a TOML error: a line number or nothing, then "|".
fn is_excerpt_line(line: &str) -> bool {
    line.split_once('|')
        .is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()))
}

/// gRPC serving settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port, logged at start.
    pub listen_addr: SocketAddr,
    /// Time that in-flight requests get to finish after SIGTERM or SIGINT.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace_period: Duration,
    /// Largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Time between Redis readiness checks behind the gRPC health status.
    #[serde(with = "humantime_serde")]
    pub health_check_interval: Duration,
}

impl ServerConfig {
    pub fn with_port(port: u16) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            shutdown_grace_period: Duration::from_secs(20),
            max_message_bytes: 64 * 1024 * 1024,
            health_check_interval: Duration::from_secs(5),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_message_bytes < 1024 {
            return Err(ConfigError::invalid(
                "server.max_message_bytes",
                format!("{} is too small; use at least 1024", self.max_message_bytes),
            ));
        }
        if self.health_check_interval.is_zero() {
            return Err(ConfigError::invalid(
                "server.health_check_interval",
                "0s would check Redis continuously; use a duration such as \"5s\"",
            ));
        }
        Ok(())
    }
}

/// Redis connection settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`; the password is never logged.
    pub url: String,
    /// Prefix of every key the services write, so that deployments can share one Redis.
    pub namespace: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Time a command may take before it fails with UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
    /// Reconnection attempts per command while Redis is unreachable.
    pub reconnect_retries: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            namespace: "docsearch".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(10),
            reconnect_retries: 2,
        }
    }
}

impl RedisConfig {
    pub fn redacted_url(&self) -> RedactedUrl {
        RedactedUrl::new(&self.url)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(error) = redis::Client::open(self.url.as_str()) {
            return Err(ConfigError::invalid(
                "redis.url",
                format!(
                    "{} is not a Redis URL ({error}); use redis://host:port",
                    self.redacted_url()
                ),
            ));
        }
        if let Err(error) = crate::keys::KeyLayout::new(&self.namespace) {
            return Err(ConfigError::invalid("redis.namespace", error.message));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "redis.connect_timeout",
                "the timeout is 0s; use a duration greater than 0s, such as \"2s\"",
            ));
        }
        if self.response_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "redis.response_timeout",
                "the timeout is 0s; use a duration greater than 0s, such as \"10s\"",
            ));
        }
        Ok(())
    }
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logs and traces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// A tracing-subscriber filter such as `info` or `info,docsearch_indexer=debug`; `RUST_LOG` overrides it.
    pub log_filter: String,
    /// OTLP/gRPC endpoint that receives traces, such as `http://otel-collector:4317`; unset disables export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
        }
    }
}

impl TelemetryConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&self.log_filter) {
            return Err(ConfigError::invalid(
                "telemetry.log_filter",
                format!(
                    "{:?} is not a valid filter ({error}); use a level such as \"info\"",
                    self.log_filter
                ),
            ));
        }
        if let Some(endpoint) = &self.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "telemetry.otlp_endpoint",
                format!(
                    "{endpoint:?} is not an http:// or https:// URL; use e.g. http://127.0.0.1:4317"
                ),
            ));
        }
        Ok(())
    }
}

/// The sentence-embedding model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Directory holding model.safetensors, config.json and tokenizer.json. Unset: the service accepts
    /// vectors only and rejects text that needs embedding with FAILED_PRECONDITION.
    pub model_dir: Option<PathBuf>,
    /// Texts per model call.
    pub batch_size: usize,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        Self {
            model_dir: None,
            batch_size: 32,
        }
    }
}

impl EmbeddingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(dir) = &self.model_dir
            && !dir.is_dir()
        {
            return Err(ConfigError::invalid(
                "embedding.model_dir",
                format!(
                    "{} is not a directory; point it at the all-MiniLM-L6-v2 model files (scripts/provision.sh model fetches them), or unset it to accept vectors only",
                    dir.display()
                ),
            ));
        }
        if !(1..=512).contains(&self.batch_size) {
            return Err(ConfigError::invalid(
                "embedding.batch_size",
                format!("{} is out of range; use 1 to 512", self.batch_size),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return figment::Error, which is large; the tests only pass it through.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        server: ServerConfig,
        redis: RedisConfig,
    }

    fn defaults() -> Sample {
        Sample {
            server: ServerConfig::with_port(50051),
            redis: RedisConfig::default(),
        }
    }

    #[test]
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "service.toml",
                "[redis]\nurl = \"redis://file:1\"\nnamespace = \"fromfile\"\n",
            )?;
            jail.set_env("DOCSEARCH__REDIS__URL", "redis://env:2");
            jail.set_env("DOCSEARCH__SERVER__SHUTDOWN_GRACE_PERIOD", "3s");
            let loaded = load(&defaults(), Some(Path::new("service.toml"))).unwrap();
            assert_eq!(loaded.redis.url, "redis://env:2");
            assert_eq!(loaded.redis.namespace, "fromfile");
            assert_eq!(loaded.server.shutdown_grace_period, Duration::from_secs(3));
            Ok(())
        });
    }

    #[test]
    fn bad_value_names_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DOCSEARCH__SERVER__LISTEN_ADDR", "not-an-address");
            let error = load(&defaults(), None).unwrap_err().to_string();
            assert!(error.contains("listen_addr"), "{error}");
            assert!(error.contains("DOCSEARCH__SERVER__LISTEN_ADDR"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("service.toml", "[redis]\nurll = \"x\"\n")?;
            let error = load(&defaults(), Some(Path::new("service.toml")))
                .unwrap_err()
                .to_string();
            assert!(error.contains("urll"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn toml_syntax_error_names_file_as_given() {
        figment::Jail::expect_with(|jail| {
            jail.create_dir("conf")?;
            jail.create_file("conf/service.toml", "[server\nlisten_addr = \"x\"\n")?;
            let path = jail.directory().join("conf/service.toml");
            let error = load(&defaults(), Some(&path)).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("invalid configuration file {}: ", path.display())),
                "{error}"
            );
            assert!(error.contains("line 1, column 8"), "{error}");
            assert!(error.ends_with("; fix the file and restart"), "{error}");
            assert!(!error.contains('\n'), "one line: {error}");
            assert!(!error.contains("key  "), "no empty key: {error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_section_names_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DOCSEARCH__NOSECTION__X", "1");
            let error = load(&defaults(), None).unwrap_err().to_string();
            assert!(
                error.starts_with(
                    "invalid configuration key nosection (environment variable DOCSEARCH__NOSECTION__X): unknown key"
                ),
                "{error}"
            );
            assert!(error.contains("server, redis"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_file_key_names_file_and_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("service.toml", "[redis]\nurll = \"x\"\n")?;
            let error = load(&defaults(), Some(Path::new("service.toml")))
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                "invalid configuration key redis.urll (in service.toml): unknown key; expected one of \
                 url, namespace, connect_timeout, response_timeout, reconnect_retries; rename or remove it and restart"
            );
            Ok(())
        });
    }

    #[test]
    fn zero_timeouts_name_their_key() {
        let redis = RedisConfig {
            connect_timeout: Duration::ZERO,
            ..RedisConfig::default()
        };
        let error = redis.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("invalid configuration key redis.connect_timeout:"),
            "{error}"
        );
        let redis = RedisConfig {
            response_timeout: Duration::ZERO,
            ..RedisConfig::default()
        };
        let error = redis.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("invalid configuration key redis.response_timeout:"),
            "{error}"
        );
    }

    #[test]
    fn single_line_drops_excerpt() {
        let message = "TOML parse error at line 1, column 8\n  |\n1 | [server\n  |        ^\ninvalid table header\nexpected `.`, `]`\n";
        assert_eq!(
            single_line(message),
            "TOML parse error at line 1, column 8: invalid table header, expected `.`, `]`"
        );
        assert_eq!(single_line("one line"), "one line");
    }

    #[test]
    fn validation_names_key_and_fix() {
        let redis = RedisConfig {
            namespace: "a:b".to_owned(),
            ..RedisConfig::default()
        };
        let error = redis.validate().unwrap_err().to_string();
        assert!(error.contains("redis.namespace"), "{error}");
        let embedding = EmbeddingConfig {
            model_dir: Some(PathBuf::from("/nonexistent/model")),
            batch_size: 32,
        };
        let error = embedding.validate().unwrap_err().to_string();
        assert!(
            error.contains("embedding.model_dir") && error.contains("provision.sh"),
            "{error}"
        );
    }
}
