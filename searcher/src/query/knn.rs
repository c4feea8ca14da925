//! KNN: the k nearest neighbours of the query vector among the documents that pass the filter.
//!
//! A KNN query runs its commands in one pipeline: a count of the documents that pass the filter
//! (`LIMIT 0 0`), because the KNN reply's total counts only the neighbours found; with
//! `exclude_similar_document`, an `INKEYS` count of whether the excluded document passes the filter;
//! then the KNN search itself.
//! `sort_by` orders each page of neighbours by the field, so pages still follow distance order from one
//! page to the next.
//!
//! NOTE: RediSearch 2.10.5 matches the words of a filter's text conditions inside a KNN query without
//! expanding them to their stems, while the count of the filter, a plain FT.SEARCH, expands them. So
//! with a text condition, `total` can count documents, such as plurals of a filter word, that KNN
//! never returns.

use std::time::Duration;

use anyhow::Context as _;
use docsearch_proto::v1 as pb;
use docsearch_runtime::vector;
use redis::Value;

use super::{
    DISTANCE_FIELD, append_params, append_timeout_and_dialect, contains_command, count_command,
    document_id, parse_distance, total_without_excluded,
};
use crate::error::SearchError;
use crate::hits::{SortValue, decode_fields, sort_by_value, vector_hit};
use crate::reply::{ReplyDocument, SearchReply, parse_search_reply};
use crate::request::{HybridPolicy, Query, VectorQuery};
use crate::searcher::Searcher;

/// The neighbours a KNN command fetches, and the slice of them that forms the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The K of the KNN clause.
    pub num_neighbours: usize,
    /// The LIMIT of the command.
    pub limit_offset: usize,
    pub limit_count: usize,
    /// Hits to skip after the excluded document is removed.
    pub skip: usize,
    /// Hits in the page.
    pub take: usize,
}

impl Window {
    /// Computes the window of a page of `k` hits after `offset`. Leaving a document out needs one more
    /// neighbour, and the page is cut after the document is removed, because its rank is not known in
    /// advance. With IP distances or duplicate vectors, the document need not rank first.
    ///
    /// NOTE: Documents at equal distances can repeat or go missing from one page to the next. FT.SEARCH
    /// sorts by one key only, so ties keep the order of RediSearch's KNN heap, and a KNN clause with a
    /// larger K can pick other members of a group of equal distances at its boundary. Sorting ties by
    /// key (FT.AGGREGATE takes `SORTBY 4 @__distance ASC @__key ASC` with a KNN clause) fixes the order
    /// within one K but not that choice: in RediSearch 2.10.5, K = 3 over four documents at distance 0
    /// returned three that were not the three smallest keys. A fix needs every document at the
    /// boundary distance, such as by repeating the search with a larger K.
    pub fn new(k: usize, offset: usize, excluding_document: bool) -> Self {
        if excluding_document {
            let num_neighbours = offset + k + 1;
            Window {
                num_neighbours,
                limit_offset: 0,
                limit_count: num_neighbours,
                skip: offset,
                take: k,
            }
        } else {
            Window {
                num_neighbours: offset + k,
                limit_offset: offset,
                limit_count: k,
                skip: 0,
                take: k,
            }
        }
    }
}

/// Writes the query string: `<filter>=>[KNN $K @field $BLOB [options] AS __distance]`, with `*` as the
/// filter when there is none.
pub fn query_string(vector: &VectorQuery, filter: Option<&str>) -> String {
    let filter = match filter {
        Some(filter) => format!("({filter})"),
        None => "*".to_owned(),
    };
    let mut options = String::new();
    if vector.ef_runtime.is_some() {
        options.push_str(" EF_RUNTIME $EF_RUNTIME");
    }
    match vector.hybrid_policy {
        None => {}
        Some(HybridPolicy::AdhocBruteForce) => options.push_str(" HYBRID_POLICY ADHOC_BF"),
        Some(HybridPolicy::Batches { batch_size }) => {
            options.push_str(" HYBRID_POLICY BATCHES");
            if batch_size.is_some() {
                options.push_str(" BATCH_SIZE $BATCH_SIZE");
            }
        }
    }
    format!(
        "{filter}=>[KNN $K @{} $BLOB{options} AS {DISTANCE_FIELD}]",
        vector.target.name
    )
}

/// Builds the KNN command, returning `__distance` and the fields named in `returned`.
/// `server_timeout` becomes RediSearch's TIMEOUT for this query.
pub fn knn_command(
    search_index: &str,
    vector_query: &VectorQuery,
    filter: Option<&str>,
    returned: &[&str],
    vector: &[f32],
    window: Window,
    server_timeout: Duration,
) -> redis::Cmd {
    let mut command = redis::cmd("FT.SEARCH");
    command
        .arg(search_index)
        .arg(query_string(vector_query, filter));

    command
        .arg("RETURN")
        .arg(returned.len() + 1)
        .arg(DISTANCE_FIELD);
    for name in returned {
        command.arg(*name);
    }
    command
        .arg("SORTBY")
        .arg(DISTANCE_FIELD)
        .arg("ASC")
        .arg("LIMIT")
        .arg(window.limit_offset)
        .arg(window.limit_count);

    let mut params: Vec<(&str, Vec<u8>)> = vec![
        ("BLOB", vector::encode(vector)),
        ("K", window.num_neighbours.to_string().into_bytes()),
    ];
    if let Some(ef_runtime) = vector_query.ef_runtime {
        params.push(("EF_RUNTIME", ef_runtime.to_string().into_bytes()));
    }
    if let Some(HybridPolicy::Batches {
        batch_size: Some(batch_size),
    }) = vector_query.hybrid_policy
    {
        params.push(("BATCH_SIZE", batch_size.to_string().into_bytes()));
    }
    append_params(&mut command, &params);
    append_timeout_and_dialect(&mut command, server_timeout);
    command
}

/// The names a KNN page returns: the requested fields, and the sort field when it is not among them.
fn returned_names(query: &Query) -> Vec<&str> {
    let mut names: Vec<&str> = query
        .return_fields
        .iter()
        .map(|field| field.name.as_str())
        .collect();
    if let Some(sort_key) = &query.sort_by
        && !names.contains(&sort_key.field.name.as_str())
    {
        names.push(&sort_key.field.name);
    }
    names
}

/// Builds the hits of a KNN reply, in distance order, with the excluded document left out, each with
/// its sort key (`Missing` when the query does not sort by a field). Keys are `key_prefix` + document
/// id.
pub fn neighbours(
    reply: SearchReply,
    query: &Query,
    vector_query: &VectorQuery,
    key_prefix: &str,
) -> anyhow::Result<Vec<(pb::SearchHit, SortValue)>> {
    let excluded_id = vector_query.excluded_id();
    let mut hits = Vec::with_capacity(reply.documents.len());
    for document in &reply.documents {
        let id = document_id(&document.key, key_prefix)?;
        if excluded_id == Some(id.as_str()) {
            continue;
        }
        let sort_value = match &query.sort_by {
            Some(sort_key) => {
                SortValue::from_stored(&sort_key.field, document.field(&sort_key.field.name))
            }
            None => SortValue::Missing,
        };
        hits.push((hit(document, id, query, vector_query)?, sort_value));
    }
    Ok(hits)
}

fn hit(
    document: &ReplyDocument,
    id: String,
    query: &Query,
    vector_query: &VectorQuery,
) -> anyhow::Result<pb::SearchHit> {
    let distance = parse_distance(document.field(DISTANCE_FIELD))
        .with_context(|| format!("reading the distance of document {id:?}"))?;
    let fields = decode_fields(&query.index, &id, &query.return_fields, |field| {
        document.field(&field.name)
    });
    Ok(vector_hit(id, distance, vector_query.metric(), fields))
}

impl Searcher {
    /// Runs a KNN query; `vector` is `None` only for `count_only` queries. Returns the page and the
    /// number of documents that pass the filter, less the excluded document.
    pub(crate) async fn run_knn(
        &self,
        query: &Query,
        vector_query: &VectorQuery,
        vector: Option<&[f32]>,
    ) -> Result<(Vec<pb::SearchHit>, u64), SearchError> {
        let search_index = self.layout().search_index(&query.index);
        let filter = query.filter.as_deref();
        let filter_query = filter.unwrap_or("*");
        let excluded_id = vector_query.excluded_id();

        // The counts come first in the pipeline: every document that passes the filter, then whether
        // the excluded document is one of them.
        let mut pipeline = redis::pipe();
        pipeline.add_command(count_command(
            &search_index,
            filter_query,
            &[],
            self.server_timeout(),
        ));
        if let Some(id) = excluded_id {
            pipeline.add_command(contains_command(
                &search_index,
                filter_query,
                &[],
                &self.layout().document_key(&query.index, id),
                self.server_timeout(),
            ));
        }
        let window = Window::new(query.k, query.offset, excluded_id.is_some());
        let searching = vector.filter(|_| !query.count_only);
        if let Some(vector) = searching {
            pipeline.add_command(knn_command(
                &search_index,
                vector_query,
                filter,
                &returned_names(query),
                vector,
                window,
                self.server_timeout(),
            ));
        }
        let mut replies: Vec<Value> = self
            .query_redis(&query.index, &query_string(vector_query, filter), &pipeline)
            .await?;

        let knn_reply = searching.and_then(|_| replies.pop());
        let total = total_without_excluded(replies, &query.index)?;
        let Some(knn_reply) = knn_reply else {
            return Ok((Vec::new(), total));
        };

        let key_prefix = self.layout().document_prefix(&query.index);
        let neighbours = parse_search_reply(knn_reply)
            .and_then(|reply| neighbours(reply, query, vector_query, &key_prefix))
            .map_err(|error| SearchError::internal("reading KNN results", &query.index, error))?;
        let mut page: Vec<(pb::SearchHit, SortValue)> = neighbours
            .into_iter()
            .skip(window.skip)
            .take(window.take)
            .collect();
        if let Some(sort_key) = &query.sort_by {
            sort_by_value(&mut page, sort_key.descending);
        }
        Ok((page.into_iter().map(|(hit, _)| hit).collect(), total))
    }
}

#[cfg(test)]
mod tests;
