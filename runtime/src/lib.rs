//! Building blocks shared by the docsearch indexer and searcher.
//!
//! - [`schema`], [`fields`], [`vector`]: the index schema and how documents are stored in Redis hashes.
//! - [`keys`]: the Redis key layout under a namespace.
//! - [`catalog`]: the indexes that exist, with their schemas and RediSearch statistics.
//! - [`connection`]: the Redis connection and its readiness probe.
//! - [`config`], [`telemetry`], [`server`]: configuration loading, logs and traces, and gRPC serving
//!   with health, reflection and graceful shutdown.
//! - [`validate`]: the error type of every input check.
//! - `testing` (feature `test-server`): a real Redis Stack server for tests.

pub mod catalog;
pub mod config;
pub mod connection;
pub mod fields;
pub mod keys;
pub mod schema;
pub mod server;
pub mod telemetry;
#[cfg(feature = "test-server")]
pub mod testing;
pub mod validate;
pub mod vector;

pub use validate::InvalidValue;
