//! HYBRID: a text leg and a vector leg over the same filter, run concurrently and fused in the
//! searcher (see [`crate::fusion`]).
//!
//! - Text leg: the TEXT ranking of [`super::text`], `LIMIT 0 <window>`, pipelined with the count of the
//!   documents that pass the filter, which is the `total`.
//! - Vector leg: the text is embedded with the spelling corrections of [`crate::spelling`] (unless the
//!   request has a vector), then
//!   `FT.SEARCH idx "(<filter>)=>[KNN <window> @field $BLOB AS __distance]" ... LIMIT 0 <window>`.
//!
//! After fusion, `sort_by` reorders the fused candidates by the field's stored values, the page is cut,
//! and its fields come from one HMGET per hit. Highlights come from one more FT.SEARCH of the text with
//! `INKEYS` set to the page's hits that the text leg found.
//!
//! Redis 8.4 and later have FT.HYBRID, which fuses on the server. Redis Stack 7.4 has not, and this
//! searcher fuses on its own on every server: [`native_hybrid_available`] only reports at start which
//! server it runs against.

use docsearch_proto::v1 as pb;
use redis::Value;
use redis::aio::ConnectionManager;

use super::knn::{Window, knn_command, query_string};
use super::text::{match_set, parse_ranking, ranking_command};
use super::{DISTANCE_FIELD, count_command, document_id, parse_distance};
use crate::error::SearchError;
use crate::fusion::{self, Fused, TextCandidate, VectorCandidate};
use crate::hits::{SortValue, sort_by_value};
use crate::reply::{parse_count_reply, parse_search_reply};
use crate::request::{Fusion, FusionMethod, Query, QuerySource, TextQuery, VectorQuery};
use crate::searcher::Searcher;
use crate::spelling::corrected_text;

/// Returns true when the server has the FT.HYBRID command. `COMMAND INFO` replies nil for an unknown
/// command.
pub async fn native_hybrid_available(
    connection: &mut ConnectionManager,
) -> redis::RedisResult<bool> {
    let reply: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("FT.HYBRID")
        .query_async(connection)
        .await?;
    Ok(match reply {
        Value::Array(items) => items.iter().any(|item| !matches!(item, Value::Nil)),
        _ => false,
    })
}

impl Searcher {
    /// Runs a HYBRID query. Returns the page and the number of documents that pass the filter.
    pub(crate) async fn run_hybrid(
        &self,
        query: &Query,
        vector_query: &VectorQuery,
        text: &TextQuery,
        fusion: Fusion,
    ) -> Result<(Vec<pb::SearchHit>, u64), SearchError> {
        let search_index = self.layout().search_index(&query.index);
        let filter_query = query.filter.as_deref().unwrap_or("*");
        let count = count_command(&search_index, filter_query, &[], self.server_timeout());
        if query.count_only {
            let reply: Value = self.query_redis(&query.index, filter_query, &count).await?;
            let total = parse_count_reply(reply).map_err(|error| {
                SearchError::internal("counting documents", &query.index, error)
            })?;
            return Ok((Vec::new(), total));
        }

        let corrections = self.spelling_corrections(&query.index, text).await?;
        let embedded = match &vector_query.source {
            Some(QuerySource::Text(typed)) => VectorQuery {
                source: Some(QuerySource::Text(corrected_text(typed, &corrections))),
                ..vector_query.clone()
            },
            _ => vector_query.clone(),
        };
        let text = &TextQuery {
            corrections,
            ..text.clone()
        };
        let text_matches = match_set(query, text);
        let text_leg = async {
            let mut pipeline = redis::pipe();
            pipeline
                .add_command(ranking_command(
                    &search_index,
                    &text_matches,
                    &[],
                    None,
                    0,
                    fusion.window,
                    self.server_timeout(),
                ))
                .add_command(count);
            let (leg_reply, count_reply): (Value, Value) = self
                .query_redis(&query.index, &text_matches.query, &pipeline)
                .await?;
            let candidates = self.text_candidates(&query.index, leg_reply)?;
            let total = parse_count_reply(count_reply).map_err(|error| {
                SearchError::internal("counting documents", &query.index, error)
            })?;
            Ok::<_, SearchError>((candidates, total))
        };
        let vector_leg = async {
            let vector = self.query_vector(&query.index, &embedded).await?;
            let window = Window {
                num_neighbours: fusion.window,
                limit_offset: 0,
                limit_count: fusion.window,
                skip: 0,
                take: fusion.window,
            };
            let command = knn_command(
                &search_index,
                vector_query,
                query.filter.as_deref(),
                &[],
                &vector,
                window,
                self.server_timeout(),
            );
            let logged = query_string(vector_query, query.filter.as_deref());
            let reply: Value = self.query_redis(&query.index, &logged, &command).await?;
            self.vector_candidates(&query.index, reply)
        };
        let ((text_candidates, total), vector_candidates) = tokio::try_join!(text_leg, vector_leg)?;

        let fused = match fusion.method {
            FusionMethod::Rrf { constant } => {
                fusion::reciprocal_rank(&vector_candidates, &text_candidates, constant)
            }
            FusionMethod::Linear { vector_weight } => fusion::linear(
                &vector_candidates,
                &text_candidates,
                vector_query.metric(),
                vector_weight,
            ),
        };
        let ordered = self.sort_fused(query, fused).await?;
        let page: Vec<Fused> = ordered
            .into_iter()
            .skip(query.offset)
            .take(query.k)
            .collect();
        let hits = self.hybrid_hits(query, text, &text_matches, page).await?;
        Ok((hits, total))
    }

    fn text_candidates(
        &self,
        index: &str,
        reply: Value,
    ) -> Result<Vec<TextCandidate>, SearchError> {
        let key_prefix = self.layout().document_prefix(index);
        let ranked = parse_ranking(reply, &key_prefix)
            .map_err(|error| SearchError::internal("reading the text leg", index, error))?;
        Ok(ranked
            .into_iter()
            .map(|document| TextCandidate {
                id: document.id,
                score: document.score,
            })
            .collect())
    }

    fn vector_candidates(
        &self,
        index: &str,
        reply: Value,
    ) -> Result<Vec<VectorCandidate>, SearchError> {
        let key_prefix = self.layout().document_prefix(index);
        let read = || -> anyhow::Result<Vec<VectorCandidate>> {
            let reply = parse_search_reply(reply)?;
            reply
                .documents
                .iter()
                .map(|document| {
                    Ok(VectorCandidate {
                        id: document_id(&document.key, &key_prefix)?,
                        distance: parse_distance(document.field(DISTANCE_FIELD))?,
                    })
                })
                .collect()
        };
        read().map_err(|error| SearchError::internal("reading the vector leg", index, error))
    }

    /// Orders the fused candidates by the `sort_by` field, keeping the fused order among equal values.
    async fn sort_fused(
        &self,
        query: &Query,
        fused: Vec<Fused>,
    ) -> Result<Vec<Fused>, SearchError> {
        let Some(sort_key) = &query.sort_by else {
            return Ok(fused);
        };
        let ids: Vec<String> = fused.iter().map(|document| document.id.clone()).collect();
        let fields = std::slice::from_ref(&sort_key.field);
        let values = self.fetch_values(&query.index, &ids, fields).await?;
        let mut keyed: Vec<(Fused, SortValue)> = fused
            .into_iter()
            .zip(values)
            .map(|(document, values)| {
                let stored = values.into_iter().next().flatten();
                let key = SortValue::from_stored(&sort_key.field, stored.as_deref());
                (document, key)
            })
            .collect();
        sort_by_value(&mut keyed, sort_key.descending);
        Ok(keyed.into_iter().map(|(document, _)| document).collect())
    }

    /// Builds the hits of a page: fields from the document hashes and, when requested, highlights of the
    /// hits that the text leg found.
    async fn hybrid_hits(
        &self,
        query: &Query,
        text: &TextQuery,
        text_matches: &crate::facets::MatchSet,
        page: Vec<Fused>,
    ) -> Result<Vec<pb::SearchHit>, SearchError> {
        let ids: Vec<String> = page.iter().map(|document| document.id.clone()).collect();
        let text_ids: Vec<String> = page
            .iter()
            .filter(|document| document.text_rank.is_some())
            .map(|document| document.id.clone())
            .collect();
        let (fields, mut highlights) = tokio::try_join!(
            self.fetch_fields(&query.index, &ids, &query.return_fields),
            self.highlight_hits(&query.index, text, text_matches, &text_ids),
        )?;

        let metric = query
            .vector
            .as_ref()
            .map(VectorQuery::metric)
            .unwrap_or(docsearch_runtime::schema::DistanceMetric::Cosine);
        let hits = page
            .into_iter()
            .zip(fields)
            .map(|(document, fields)| {
                let similarity = document
                    .distance
                    .map(|distance| metric.similarity(distance));
                pb::SearchHit {
                    highlights: highlights.remove(&document.id).unwrap_or_default(),
                    id: document.id,
                    score: document.score,
                    distance: document.distance,
                    similarity,
                    text_score: document.text_score,
                    vector_rank: document.vector_rank,
                    text_rank: document.text_rank,
                    fields,
                }
            })
            .collect();
        Ok(hits)
    }
}
