//! TEXT: the words of `text` in the searched TEXT fields, ranked by BM25.
//!
//! The ranking comes from FT.AGGREGATE, because it can break ties: `FT.AGGREGATE idx <text query>
//! ADDSCORES SCORER BM25STD LOAD ... SORTBY 4 @__score DESC @__key ASC LIMIT offset k`. FT.SEARCH orders
//! documents with equal scores as its heap happens to leave them, which differed between calls under
//! load in RediSearch 2.10 and so broke paging. With `sort_by`, the order is the field, then the score,
//! then the key.
//!
//! The scorer is BM25STD, RediSearch's standard BM25. In RediSearch 2.10.5 the scorer named BM25
//! divides the score of a document by the distance between the query words it contains (EXPLAINSCORE
//! reports it as "slop"), so a document with one rare query word outranks a document that contains
//! every query word in a row. BM25STD applies no such division.
//!
//! Before the query runs, [`crate::spelling`] looks up corrections of misspelled words, which join the
//! query (see [`crate::fuzzy::term`]), and the caller passes the corrected text. Two more commands
//! complete a page: `FT.SEARCH ... LIMIT 0 0` for the total, pipelined with the ranking, and, when
//! highlights are requested, `FT.SEARCH ... INKEYS <page keys> HIGHLIGHT ...`, because FT.AGGREGATE
//! cannot highlight. The total counts the same query as the ranking, corrections included, because a
//! correction can widen the matches: RediSearch expands it to the other forms of its stem. The first
//! element of an FT.AGGREGATE reply is no match count, so the total never comes from the ranking.
//!
//! NOTE: RediSearch 2.10's BM25STD counts the TAG clauses of a filter in the score, so the same document
//! can score differently under different filters.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use docsearch_proto::v1 as pb;
use redis::Value;

use super::{append_timeout_and_dialect, count_command, document_id};
use crate::error::SearchError;
use crate::facets::MatchSet;
use crate::highlight::{CLOSE_TAG, OPEN_TAG, snippet};
use crate::hits::decode_fields;
use crate::reply::{ReplyDocument, parse_aggregate_reply, parse_count_reply, parse_search_reply};
use crate::request::{Query, SortKey, TextQuery};
use crate::searcher::Searcher;

/// The property under which FT.AGGREGATE yields the BM25 score with ADDSCORES.
const SCORE: &str = "__score";
/// The property of the document key.
const KEY: &str = "__key";

/// Builds the query of the documents that match the text and pass the filter.
pub fn match_set(query: &Query, text: &TextQuery) -> MatchSet {
    MatchSet {
        query: text.query_string(query.filter.as_deref()),
        params: Vec::new(),
        excluded_key: None,
    }
}

/// Builds the command that ranks the matches and returns `count` of them after `offset`, each with its
/// key, its BM25 score and the fields in `loaded`.
pub fn ranking_command(
    search_index: &str,
    matches: &MatchSet,
    loaded: &[&str],
    sort_by: Option<&SortKey>,
    offset: usize,
    count: usize,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.AGGREGATE");
    command
        .arg(search_index)
        .arg(&matches.query)
        .arg("ADDSCORES")
        .arg("SCORER")
        .arg("BM25STD")
        .arg("LOAD")
        .arg(loaded.len() + 1)
        .arg(format!("@{KEY}"));
    for name in loaded {
        command.arg(format!("@{name}"));
    }
    let mut sort_keys: Vec<String> = Vec::new();
    if let Some(sort_key) = sort_by {
        sort_keys.push(format!("@{}", sort_key.field.name));
        sort_keys.push(if sort_key.descending { "DESC" } else { "ASC" }.to_owned());
    }
    sort_keys.extend([
        format!("@{SCORE}"),
        "DESC".to_owned(),
        format!("@{KEY}"),
        "ASC".to_owned(),
    ]);
    command
        .arg("SORTBY")
        .arg(sort_keys.len())
        .arg(sort_keys)
        .arg("LIMIT")
        .arg(offset)
        .arg(count);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

/// A document of a ranking, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub score: f64,
    /// The loaded fields that the document has.
    pub values: HashMap<String, String>,
}

/// Reads the rows of a ranking command.
pub fn parse_ranking(reply: Value, key_prefix: &str) -> anyhow::Result<Vec<Ranked>> {
    let mut ranked = Vec::new();
    for row in parse_aggregate_reply(reply)? {
        let mut key = None;
        let mut score = None;
        let mut values = HashMap::new();
        for (name, value) in row {
            match (name.as_str(), value) {
                (KEY, Some(value)) => key = Some(value),
                (SCORE, Some(value)) => {
                    let parsed: f64 = value
                        .trim()
                        .parse()
                        .with_context(|| format!("the BM25 score {value:?} is not a number"))?;
                    score = Some(parsed);
                }
                (_, Some(value)) => {
                    values.insert(name, value);
                }
                (_, None) => {}
            }
        }
        let key = key.ok_or_else(|| anyhow!("a ranked document has no {KEY}"))?;
        ranked.push(Ranked {
            id: document_id(key.as_bytes(), key_prefix)?,
            score: score.ok_or_else(|| anyhow!("a ranked document has no {SCORE}"))?,
            values,
        });
    }
    Ok(ranked)
}

/// Builds the command that highlights `fields` of the documents under `keys`.
pub fn highlight_command(
    search_index: &str,
    matches: &MatchSet,
    fields: &[String],
    keys: &[String],
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command
        .arg(search_index)
        .arg(&matches.query)
        .arg("INKEYS")
        .arg(keys.len())
        .arg(keys)
        .arg("RETURN")
        .arg(fields.len())
        .arg(fields)
        .arg("HIGHLIGHT")
        .arg("FIELDS")
        .arg(fields.len())
        .arg(fields)
        .arg("TAGS")
        .arg(OPEN_TAG)
        .arg(CLOSE_TAG)
        .arg("LIMIT")
        .arg(0)
        .arg(keys.len());
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

/// Returns the snippets of the highlighted fields of one document that contain a match.
pub fn highlights(document: &ReplyDocument, fields: &[String]) -> HashMap<String, String> {
    fields
        .iter()
        .filter_map(|name| {
            let value = String::from_utf8_lossy(document.field(name)?).into_owned();
            Some((name.clone(), snippet(&value)?))
        })
        .collect()
}

impl Searcher {
    /// Runs a TEXT query whose `text` carries its spelling corrections already. Returns the page and
    /// the number of matching documents.
    pub(crate) async fn run_text(
        &self,
        query: &Query,
        text: &TextQuery,
    ) -> Result<(Vec<pb::SearchHit>, u64), SearchError> {
        let search_index = self.layout().search_index(&query.index);
        let matches = match_set(query, text);
        let count = count_command(&search_index, &matches.query, &[], self.server_timeout());
        if query.count_only {
            let reply: Value = self
                .query_redis(&query.index, &matches.query, &count)
                .await?;
            let total = parse_count_reply(reply).map_err(|error| {
                SearchError::internal("counting documents", &query.index, error)
            })?;
            return Ok((Vec::new(), total));
        }

        let loaded: Vec<&str> = query
            .return_fields
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        let mut pipeline = redis::pipe();
        pipeline
            .add_command(ranking_command(
                &search_index,
                &matches,
                &loaded,
                query.sort_by.as_ref(),
                query.offset,
                query.k,
                self.server_timeout(),
            ))
            .add_command(count);
        let (ranking_reply, count_reply): (Value, Value) = self
            .query_redis(&query.index, &matches.query, &pipeline)
            .await?;
        let key_prefix = self.layout().document_prefix(&query.index);
        let ranked = parse_ranking(ranking_reply, &key_prefix)
            .map_err(|error| SearchError::internal("reading TEXT results", &query.index, error))?;
        let total = parse_count_reply(count_reply)
            .map_err(|error| SearchError::internal("counting documents", &query.index, error))?;

        let ids: Vec<String> = ranked.iter().map(|document| document.id.clone()).collect();
        let mut highlights = self
            .highlight_hits(&query.index, text, &matches, &ids)
            .await?;
        let hits = ranked
            .into_iter()
            .map(|document| {
                let fields =
                    decode_fields(&query.index, &document.id, &query.return_fields, |field| {
                        document.values.get(&field.name).map(String::as_bytes)
                    });
                pb::SearchHit {
                    highlights: highlights.remove(&document.id).unwrap_or_default(),
                    id: document.id,
                    score: document.score,
                    distance: None,
                    similarity: None,
                    text_score: Some(document.score),
                    vector_rank: None,
                    text_rank: None,
                    fields,
                }
            })
            .collect();
        Ok((hits, total))
    }

    /// Highlights the requested fields of the documents `ids` that match `matches`, keyed by id.
    pub(crate) async fn highlight_hits(
        &self,
        index: &str,
        text: &TextQuery,
        matches: &MatchSet,
        ids: &[String],
    ) -> Result<HashMap<String, HashMap<String, String>>, SearchError> {
        if text.highlight_fields.is_empty() || ids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.layout().document_key(index, id))
            .collect();
        let command = highlight_command(
            &self.layout().search_index(index),
            matches,
            &text.highlight_fields,
            &keys,
            self.server_timeout(),
        );
        let reply: Value = self.query_redis(index, &matches.query, &command).await?;
        let key_prefix = self.layout().document_prefix(index);
        let read = || -> anyhow::Result<HashMap<String, HashMap<String, String>>> {
            let reply = parse_search_reply(reply)?;
            let mut by_id = HashMap::with_capacity(reply.documents.len());
            for document in &reply.documents {
                let id = document_id(&document.key, &key_prefix)?;
                by_id.insert(id, highlights(document, &text.highlight_fields));
            }
            Ok(by_id)
        };
        read().map_err(|error| SearchError::internal("reading highlights", index, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{bulk, words};

    #[test]
    fn ranking_breaks_ties_by_key() {
        let matches = MatchSet::filtered(Some("graph"));
        let command = ranking_command(
            "i",
            &matches,
            &["title"],
            None,
            20,
            10,
            Duration::from_secs(1),
        );
        assert_eq!(
            words(&command).join(" "),
            "FT.AGGREGATE i graph ADDSCORES SCORER BM25STD LOAD 2 @__key @title SORTBY 4 @__score DESC @__key ASC LIMIT 20 10 TIMEOUT 1000 DIALECT 2"
        );
    }

    #[test]
    fn ranking_reads_keys_scores_and_values() {
        let reply = Value::Array(vec![
            Value::Int(2),
            Value::Array(vec![
                bulk("__score"),
                bulk("1.5"),
                bulk("__key"),
                bulk("p:a"),
                bulk("title"),
                bulk("Graphs"),
            ]),
            Value::Array(vec![
                bulk("__score"),
                bulk("0.5"),
                bulk("__key"),
                bulk("p:b"),
                bulk("title"),
                Value::Nil,
            ]),
        ]);
        let ranked = parse_ranking(reply, "p:").unwrap();
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].id, "a");
        assert_eq!(ranked[0].score, 1.5);
        assert_eq!(ranked[0].values["title"], "Graphs");
        assert!(ranked[1].values.is_empty());
    }

    #[test]
    fn ranking_without_key_rejected() {
        let reply = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![bulk("__score"), bulk("1")]),
        ]);
        let error = parse_ranking(reply, "p:").unwrap_err();
        assert!(error.to_string().contains("no __key"), "{error}");
    }
}
