//! Search: validates a request, runs the query of its mode and its facets concurrently, and builds the
//! response. The query vector is resolved here: embedded from text, taken from the request, or loaded
//! from the `similar_to_id` document.

use docsearch_proto::v1 as pb;
use docsearch_runtime::vector;
use redis::Value;
use tracing::instrument;

use crate::embedder::NO_MODEL_MESSAGE;
use crate::error::SearchError;
use crate::facets::{self, FacetError, MatchSet};
use crate::query::{range, text};
use crate::request::{
    CheckedRequest, Mode, Query, QuerySource, VectorQuery, VectorTarget, describe_field,
};
use crate::searcher::Searcher;

impl Searcher {
    /// Runs one Search request.
    #[instrument(name = "searcher.search", skip_all, fields(index = %request.index, mode = request.mode, k = request.k))]
    pub async fn search(
        &self,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchResponse, SearchError> {
        let request = CheckedRequest::parse(request, self.limits())?;
        self.within_timeout("searching", async {
            let schema = self.load_schema(&request.index).await?;
            let query = request.bind(&schema)?;
            self.run(&query).await
        })
        .await
    }

    async fn run(&self, query: &Query) -> Result<pb::SearchResponse, SearchError> {
        let ((hits, total), facets) = match (query.mode, &query.vector, &query.text) {
            (Mode::Knn, Some(vector_query), _) => {
                let matches = MatchSet {
                    excluded_key: self.excluded_key(query, vector_query),
                    ..MatchSet::filtered(query.filter.as_deref())
                };
                let knn = async {
                    let vector = match &vector_query.source {
                        Some(_) if !query.count_only => {
                            Some(self.query_vector(&query.index, vector_query).await?)
                        }
                        _ => None,
                    };
                    self.run_knn(query, vector_query, vector.as_deref()).await
                };
                tokio::try_join!(knn, self.run_facets(query, &matches))?
            }
            (Mode::Range, Some(vector_query), _) => {
                let vector = self.query_vector(&query.index, vector_query).await?;
                let excluded_key = self.excluded_key(query, vector_query);
                let matches = range::match_set(query, vector_query, &vector, excluded_key);
                tokio::try_join!(
                    self.run_range(query, vector_query, &vector),
                    self.run_facets(query, &matches)
                )?
            }
            (Mode::Text, _, Some(text_query)) => {
                // The page, the total, count_only and the facets all count the corrected query.
                let text_query = &self.correct_spelling(&query.index, text_query).await?;
                let matches = text::match_set(query, text_query);
                tokio::try_join!(
                    self.run_text(query, text_query),
                    self.run_facets(query, &matches)
                )?
            }
            (Mode::Hybrid, Some(vector_query), Some(text_query)) => {
                let fusion = query.fusion.ok_or_else(|| {
                    SearchError::internal(
                        "running a HYBRID query",
                        &query.index,
                        anyhow::anyhow!("a bound HYBRID query has no fusion"),
                    )
                })?;
                let matches = MatchSet::filtered(query.filter.as_deref());
                tokio::try_join!(
                    self.run_hybrid(query, vector_query, text_query, fusion),
                    self.run_facets(query, &matches)
                )?
            }
            (mode, _, _) => {
                return Err(SearchError::internal(
                    "running a query",
                    &query.index,
                    anyhow::anyhow!("a bound {mode:?} query lacks its vector or text part"),
                ));
            }
        };
        Ok(pb::SearchResponse {
            hits,
            total,
            facets,
            mode: query.mode.to_proto() as i32,
        })
    }

    /// Returns the key of the document that `exclude_similar_document` leaves out, if any.
    fn excluded_key(&self, query: &Query, vector_query: &VectorQuery) -> Option<String> {
        vector_query
            .excluded_id()
            .map(|id| self.layout().document_key(&query.index, id))
    }

    /// Counts the facets of a query over `matches`, the documents that `total` counts.
    async fn run_facets(
        &self,
        query: &Query,
        matches: &MatchSet,
    ) -> Result<Vec<pb::FacetResult>, SearchError> {
        if query.facets.is_empty() {
            return Ok(Vec::new());
        }
        let search_index = self.layout().search_index(&query.index);
        let mut pipeline = redis::pipe();
        for facet in &query.facets {
            pipeline.add_command(facets::command(
                &search_index,
                matches,
                facet,
                self.server_timeout(),
            ));
        }
        let replies: Vec<Value> = self
            .query_redis(&query.index, &matches.query, &pipeline)
            .await?;
        query
            .facets
            .iter()
            .zip(replies)
            .enumerate()
            .map(|(position, (facet, reply))| {
                facets::parse(reply, facet).map_err(|error| match error {
                    FacetError::Interval(invalid) => {
                        SearchError::InvalidArgument(invalid.within(&format!("facets[{position}]")))
                    }
                    FacetError::Reply(error) => {
                        SearchError::internal("counting facets", &query.index, error)
                    }
                })
            })
            .collect()
    }

    /// Resolves the query vector of a query that has a source.
    pub(crate) async fn query_vector(
        &self,
        index: &str,
        vector_query: &VectorQuery,
    ) -> Result<Vec<f32>, SearchError> {
        match &vector_query.source {
            Some(QuerySource::Vector(values)) => Ok(values.clone()),
            Some(QuerySource::Text(text)) => {
                self.embed_query(text, index, &vector_query.target).await
            }
            Some(QuerySource::SimilarTo { id, .. }) => {
                self.stored_vector(index, id, &vector_query.target).await
            }
            None => Err(SearchError::internal(
                "resolving the query vector",
                index,
                anyhow::anyhow!("a query that needs a vector has no source"),
            )),
        }
    }

    async fn embed_query(
        &self,
        text: &str,
        index: &str,
        target: &VectorTarget,
    ) -> Result<Vec<f32>, SearchError> {
        let Some(embedder) = self.embedder() else {
            return Err(SearchError::failed_precondition(NO_MODEL_MESSAGE));
        };
        let model = embedder.model_name();
        let model_differs = !target.options.model.is_empty() && target.options.model != model;
        if model_differs || embedder.dimension() != target.options.dimension {
            let fix = if target.options.model.is_empty() {
                "send a vector of that dimension".to_owned()
            } else {
                format!(
                    "send a vector from {:?}, or run the searcher with that model",
                    target.options.model
                )
            };
            return Err(SearchError::failed_precondition(format!(
                "the searcher embeds text with model {model:?} into vectors of dimension {}, but in index {index:?} {}; {fix}",
                embedder.dimension(),
                describe_field(target),
            )));
        }
        let values = embedder
            .embed(text)
            .await
            .map_err(|error| SearchError::internal("embedding the query text", index, error))?;
        vector::check(&values, target.options.dimension, target.options.metric).map_err(
            |error| {
                SearchError::internal(
                    "embedding the query text",
                    index,
                    anyhow::anyhow!(
                        "model {model:?} returned an invalid vector: {}",
                        error.message
                    ),
                )
            },
        )?;
        Ok(values)
    }

    /// Loads the stored vector of a document with HGET. EXISTS distinguishes a missing document from
    /// one without the vector.
    async fn stored_vector(
        &self,
        index: &str,
        document_id: &str,
        target: &VectorTarget,
    ) -> Result<Vec<f32>, SearchError> {
        let key = self.layout().document_key(index, document_id);
        let (bytes, exists): (Option<Vec<u8>>, bool) = redis::pipe()
            .hget(&key, &target.name)
            .exists(&key)
            .query_async(&mut self.connection())
            .await
            .map_err(|error| {
                SearchError::redis("loading the vector of the similar document", index, error)
                    .with_ids(&[document_id.to_owned()])
            })?;

        let Some(bytes) = bytes else {
            if !exists {
                return Err(SearchError::DocumentsNotFound {
                    index: index.to_owned(),
                    ids: vec![document_id.to_owned()],
                });
            }
            return Err(SearchError::failed_precondition(format!(
                "document {document_id:?} of index {index:?} has no {:?} vector, so it cannot be the similar_to_id document; send a vector instead",
                target.name
            )));
        };
        let values = match vector::decode(&bytes) {
            Some(values) if values.len() == target.options.dimension => values,
            _ => {
                return Err(SearchError::failed_precondition(format!(
                    "the stored {:?} vector of document {document_id:?} is {} bytes long, not {} values of 4 bytes; ingest the document again",
                    target.name,
                    bytes.len(),
                    target.options.dimension
                )));
            }
        };
        // Documents stored before the indexer checked norms can hold a zero vector, which has no
        // direction under COSINE and would make every distance NaN.
        vector::check(&values, target.options.dimension, target.options.metric).map_err(
            |error| {
                SearchError::failed_precondition(format!(
                    "the stored {:?} vector of document {document_id:?} cannot be the query vector: {}; ingest the document again with a valid vector, or send a vector instead",
                    target.name, error.message
                ))
            },
        )?;
        Ok(values)
    }
}
