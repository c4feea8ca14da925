//! The RediSearch commands of each query kind, and how their replies become hits.
//!
//! - [`knn`]: k nearest neighbours, pre-filtered.
//! - [`range`]: every document within a distance of the query vector.
//! - [`text`]: full text ranked by BM25, with highlighted snippets.
//! - [`hybrid`]: a text leg and a vector leg, run concurrently and fused.
//!
//! Every command ends with `TIMEOUT <ms> DIALECT 2`. A filter and a query clause combine as
//! `(<filter>) <clause>`, so the filter applies before ranking.

pub mod hybrid;
pub mod knn;
pub mod range;
pub mod text;

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use redis::Value;

use crate::error::SearchError;
use crate::reply::parse_count_reply;

/// Name under which FT.SEARCH yields each document's vector distance. Schema field names cannot start
/// with `__`, so it never collides with a document field.
pub const DISTANCE_FIELD: &str = "__distance";

/// Query dialect of every command. RediSearch 2.10 rejects KNN clauses and `ismissing` under DIALECT 1.
pub const DIALECT: u32 = 2;

/// Adds the server-side timeout and the dialect, which end every command.
pub fn append_timeout_and_dialect(command: &mut redis::Cmd, server_timeout: Duration) {
    let timeout_ms = server_timeout.as_millis().max(1);
    command
        .arg("TIMEOUT")
        .arg(timeout_ms.to_string())
        .arg("DIALECT")
        .arg(DIALECT);
}

/// Adds `PARAMS n name value ...`; nothing when there are no parameters.
pub fn append_params(command: &mut redis::Cmd, params: &[(&str, Vec<u8>)]) {
    if params.is_empty() {
        return;
    }
    command.arg("PARAMS").arg(params.len() * 2);
    for (name, value) in params {
        command.arg(*name).arg(value.as_slice());
    }
}

/// Combines a filter with a query clause: `(<filter>) <clause>`, or the clause alone.
pub fn filtered(filter: Option<&str>, clause: &str) -> String {
    match filter {
        Some(filter) => format!("({filter}) {clause}"),
        None => clause.to_owned(),
    }
}

/// Reads the reply of a [`count_command`] and, when a document is excluded, the reply of the
/// [`contains_command`] after it, and returns the number of matches without that document.
pub fn total_without_excluded(replies: Vec<Value>, index: &str) -> Result<u64, SearchError> {
    let mut counts = Vec::with_capacity(replies.len());
    for reply in replies {
        let count = parse_count_reply(reply)
            .map_err(|error| SearchError::internal("counting documents", index, error))?;
        counts.push(count);
    }
    let total = counts.first().copied().unwrap_or(0);
    let excluded = counts.get(1).copied().unwrap_or(0);
    Ok(total.saturating_sub(excluded))
}

/// Builds the command that counts the documents matching `query` (`LIMIT 0 0`).
pub fn count_command(
    search_index: &str,
    query: &str,
    params: &[(&str, Vec<u8>)],
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command
        .arg(search_index)
        .arg(query)
        .arg("LIMIT")
        .arg(0)
        .arg(0);
    append_params(&mut command, params);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

/// Builds the command that counts, 0 or 1, whether the document under `key` matches `query`.
pub fn contains_command(
    search_index: &str,
    query: &str,
    params: &[(&str, Vec<u8>)],
    key: &str,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command
        .arg(search_index)
        .arg(query)
        .arg("INKEYS")
        .arg(1)
        .arg(key)
        .arg("LIMIT")
        .arg(0)
        .arg(0);
    append_params(&mut command, params);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
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

/// Reads the distance that a vector clause yielded.
pub fn parse_distance(bytes: Option<&[u8]>) -> anyhow::Result<f32> {
    let bytes = bytes.ok_or_else(|| anyhow!("the reply has no {DISTANCE_FIELD} field"))?;
    let text = std::str::from_utf8(bytes).context("the distance is not UTF-8")?;
    text.trim()
        .parse::<f32>()
        .with_context(|| format!("the distance {text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_precedes_clause() {
        assert_eq!(filtered(Some("@a:{x}"), "graph"), "(@a:{x}) graph");
    }

    #[test]
    fn clause_alone_without_filter() {
        assert_eq!(filtered(None, "graph"), "graph");
    }

    #[test]
    fn foreign_key_rejected() {
        let error = document_id(b"other:x", "ns:doc:papers:")
            .unwrap_err()
            .to_string();
        assert!(error.contains("outside the index's prefix"), "{error}");
    }

    #[test]
    fn distance_parses_from_text() {
        assert_eq!(parse_distance(Some(b" 0.25")).unwrap(), 0.25);
    }

    #[test]
    fn missing_distance_rejected() {
        let error = parse_distance(None).unwrap_err().to_string();
        assert!(error.contains("no __distance field"), "{error}");
    }
}
