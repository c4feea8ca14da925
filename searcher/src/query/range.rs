//! RANGE: every document within `distance_threshold` of the query vector that passes the filter,
//! nearest first unless `sort_by` names a field, which RediSearch then sorts by.
//!
//! The clause is `@field:[VECTOR_RANGE $RADIUS $BLOB]=>{$YIELD_DISTANCE_AS: __distance}`, and the reply's
//! total counts every document within the threshold. A document left out with
//! `exclude_similar_document` is removed from the page in the searcher, and a second command with
//! `INKEYS` counts whether that document is among the matches, so that the total leaves it out.

use std::time::Duration;

use anyhow::Context as _;
use docsearch_proto::v1 as pb;
use docsearch_runtime::vector;
use redis::Value;

use super::{
    DISTANCE_FIELD, append_params, append_timeout_and_dialect, contains_command, count_command,
    document_id, filtered, parse_distance, total_without_excluded,
};
use crate::error::SearchError;
use crate::facets::MatchSet;
use crate::filter::format_number;
use crate::hits::{decode_fields, vector_hit};
use crate::reply::{parse_count_reply, parse_search_reply};
use crate::request::{Query, VectorQuery};
use crate::searcher::Searcher;

/// Builds the query of the documents within the threshold that pass the filter, with its parameters.
/// `excluded_key` is the key of the document that `exclude_similar_document` leaves out.
pub fn match_set(
    query: &Query,
    vector_query: &VectorQuery,
    vector: &[f32],
    excluded_key: Option<String>,
) -> MatchSet {
    let clause = format!(
        "@{}:[VECTOR_RANGE $RADIUS $BLOB]=>{{$YIELD_DISTANCE_AS: {DISTANCE_FIELD}}}",
        vector_query.target.name
    );
    let radius = format_number(vector_query.distance_threshold.unwrap_or(0.0));
    MatchSet {
        query: filtered(query.filter.as_deref(), &clause),
        params: vec![
            ("RADIUS", radius.into_bytes()),
            ("BLOB", vector::encode(vector)),
        ],
        excluded_key,
    }
}

/// Builds the command that returns `limit_count` documents after `limit_offset`, in distance order or
/// in `sort_by` order.
pub fn range_command(
    search_index: &str,
    query: &Query,
    matches: &MatchSet,
    limit_offset: usize,
    limit_count: usize,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command.arg(search_index).arg(&matches.query);
    command
        .arg("RETURN")
        .arg(query.return_fields.len() + 1)
        .arg(DISTANCE_FIELD);
    for field in &query.return_fields {
        command.arg(&field.name);
    }
    match &query.sort_by {
        Some(sort_key) => command
            .arg("SORTBY")
            .arg(&sort_key.field.name)
            .arg(if sort_key.descending { "DESC" } else { "ASC" }),
        None => command.arg("SORTBY").arg(DISTANCE_FIELD).arg("ASC"),
    };
    command.arg("LIMIT").arg(limit_offset).arg(limit_count);
    append_params(&mut command, &matches.params);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

impl Searcher {
    /// Runs a RANGE query. Returns the page and the number of documents within the threshold that
    /// pass the filter.
    pub(crate) async fn run_range(
        &self,
        query: &Query,
        vector_query: &VectorQuery,
        vector: &[f32],
    ) -> Result<(Vec<pb::SearchHit>, u64), SearchError> {
        let search_index = self.layout().search_index(&query.index);
        let excluded_id = vector_query.excluded_id();
        let excluded_key = excluded_id.map(|id| self.layout().document_key(&query.index, id));
        let matches = match_set(query, vector_query, vector, excluded_key.clone());
        if query.count_only {
            let mut pipeline = redis::pipe();
            pipeline.add_command(count_command(
                &search_index,
                &matches.query,
                &matches.params,
                self.server_timeout(),
            ));
            if let Some(key) = &excluded_key {
                pipeline.add_command(contains_command(
                    &search_index,
                    &matches.query,
                    &matches.params,
                    key,
                    self.server_timeout(),
                ));
            }
            let replies: Vec<Value> = self
                .query_redis(&query.index, &matches.query, &pipeline)
                .await?;
            let total = total_without_excluded(replies, &query.index)?;
            return Ok((Vec::new(), total));
        }

        let mut pipeline = redis::pipe();
        let skip = match &excluded_key {
            Some(key) => {
                // The page is cut after the excluded document is removed from the first
                // offset + k + 1 matches.
                pipeline.add_command(range_command(
                    &search_index,
                    query,
                    &matches,
                    0,
                    query.offset + query.k + 1,
                    self.server_timeout(),
                ));
                pipeline.add_command(contains_command(
                    &search_index,
                    &matches.query,
                    &matches.params,
                    key,
                    self.server_timeout(),
                ));
                query.offset
            }
            None => {
                pipeline.add_command(range_command(
                    &search_index,
                    query,
                    &matches,
                    query.offset,
                    query.k,
                    self.server_timeout(),
                ));
                0
            }
        };
        let replies: Vec<Value> = self
            .query_redis(&query.index, &matches.query, &pipeline)
            .await?;
        let mut replies = replies.into_iter();
        let reply = parse_search_reply(replies.next().unwrap_or(Value::Nil))
            .map_err(|error| SearchError::internal("reading RANGE results", &query.index, error))?;
        let mut total = reply.total;
        if excluded_key.is_some() {
            let excluded_count =
                parse_count_reply(replies.next().unwrap_or(Value::Nil)).map_err(|error| {
                    SearchError::internal("counting the excluded document", &query.index, error)
                })?;
            total = total.saturating_sub(excluded_count);
        }

        let key_prefix = self.layout().document_prefix(&query.index);
        let mut hits = Vec::with_capacity(reply.documents.len());
        for document in &reply.documents {
            let hit = document_id(&document.key, &key_prefix)
                .and_then(|id| {
                    let distance = parse_distance(document.field(DISTANCE_FIELD))
                        .with_context(|| format!("reading the distance of document {id:?}"))?;
                    Ok((id, distance))
                })
                .map(|(id, distance)| {
                    let fields = decode_fields(&query.index, &id, &query.return_fields, |field| {
                        document.field(&field.name)
                    });
                    vector_hit(id, distance, vector_query.metric(), fields)
                })
                .map_err(|error| {
                    SearchError::internal("reading RANGE results", &query.index, error)
                })?;
            if excluded_id == Some(hit.id.as_str()) {
                continue;
            }
            hits.push(hit);
        }
        let page = hits.into_iter().skip(skip).take(query.k).collect();
        Ok((page, total))
    }
}
