//! Search: validates a request, finds its query vector and runs the KNN query with the filter count.

use docsearch_proto::v1 as pb;
use docsearch_runtime::vector;
use redis::Value;
use tracing::instrument;

use crate::embedder::NO_MODEL_MESSAGE;
use crate::error::SearchError;
use crate::knn::{self, Window};
use crate::reply::{parse_count_reply, parse_search_reply};
use crate::request::{KnnQuery, KnnRequest, QuerySource, VectorTarget};
use crate::searcher::{Searcher, is_query_timeout};

impl Searcher {
    /// Runs one Search request.
    #[instrument(name = "searcher.search", skip_all, fields(index = %request.index, k = request.k))]
    pub async fn search(
        &self,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchResponse, SearchError> {
        let request = KnnRequest::parse(request, self.limits())?;
        self.within_timeout("searching", async {
            let schema = self.load_schema(&request.index).await?;
            let query = request.bind(&schema)?;
            self.run_knn(query).await
        })
        .await
    }

    async fn run_knn(&self, query: KnnQuery) -> Result<pb::SearchResponse, SearchError> {
        let search_index = self.layout().search_index(&query.index);
        if query.count_only {
            // The count alone needs no query vector, so the source is not resolved.
            let command = knn::count_command(
                &search_index,
                query.filter.as_deref(),
                self.server_timeout(),
            );
            let reply: Value = command
                .query_async(&mut self.connection())
                .await
                .map_err(|error| self.search_error(&query, error))?;
            let total = parse_count_reply(reply).map_err(|error| {
                SearchError::internal("counting documents", &query.index, error)
            })?;
            return Ok(response(Vec::new(), total));
        }

        let query_vector = self.query_vector(&query).await?;
        let excluded_id = match &query.source {
            Some(QuerySource::SimilarTo { id, exclude: true }) => Some(id.as_str()),
            _ => None,
        };
        let window = Window::new(query.k, query.offset, excluded_id.is_some());

        let mut pipeline = redis::pipe();
        pipeline
            .add_command(knn::knn_command(
                &search_index,
                &query,
                &query_vector,
                window,
                self.server_timeout(),
            ))
            .add_command(knn::count_command(
                &search_index,
                query.filter.as_deref(),
                self.server_timeout(),
            ));
        let (knn_reply, count_reply): (Value, Value) = pipeline
            .query_async(&mut self.connection())
            .await
            .map_err(|error| self.search_error(&query, error))?;

        let key_prefix = self.layout().document_prefix(&query.index);
        let neighbours = parse_search_reply(knn_reply)
            .and_then(|reply| knn::neighbours(reply, &query, &key_prefix, excluded_id))
            .map_err(|error| SearchError::internal("reading KNN results", &query.index, error))?;
        let mut total = parse_count_reply(count_reply)
            .map_err(|error| SearchError::internal("counting documents", &query.index, error))?;
        if neighbours.excluded_seen {
            // The excluded document passes the filter, so the count includes it.
            total = total.saturating_sub(1);
        }

        let hits = neighbours
            .hits
            .into_iter()
            .skip(window.skip)
            .take(window.take)
            .collect();
        Ok(response(hits, total))
    }

    /// Resolves the query vector of a query that has a source.
    async fn query_vector(&self, query: &KnnQuery) -> Result<Vec<f32>, SearchError> {
        match &query.source {
            Some(QuerySource::Vector(values)) => Ok(values.clone()),
            Some(QuerySource::Text(text)) => {
                self.embed_query(text, &query.index, &query.target).await
            }
            Some(QuerySource::SimilarTo { id, .. }) => {
                self.stored_vector(&query.index, id, &query.target).await
            }
            None => Err(SearchError::internal(
                "resolving the query vector",
                &query.index,
                anyhow::anyhow!("a query that is not count_only has no source"),
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
        if !target.options.model.is_empty() && target.options.model != model {
            return Err(SearchError::failed_precondition(format!(
                "field {:?} of index {index:?} contains vectors from model {:?}, but the searcher runs {model:?}; send a vector from {:?}, or run the searcher with that model",
                target.name, target.options.model, target.options.model
            )));
        }
        if embedder.dimension() != target.options.dimension {
            return Err(SearchError::failed_precondition(format!(
                "the searcher's model {model:?} makes vectors of {} values, but field {:?} of index {index:?} has dimension {}; send a vector of that dimension",
                embedder.dimension(),
                target.name,
                target.options.dimension
            )));
        }
        let values = embedder
            .embed(text)
            .await
            .map_err(|error| SearchError::internal("embedding the query text", index, error))?;
        vector::check(&values, target.options.dimension).map_err(|error| {
            SearchError::internal(
                "embedding the query text",
                index,
                anyhow::anyhow!(
                    "model {model:?} returned an invalid vector: {}",
                    error.message
                ),
            )
        })?;
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
        match vector::decode(&bytes) {
            Some(values) if values.len() == target.options.dimension => Ok(values),
            _ => Err(SearchError::failed_precondition(format!(
                "the stored {:?} vector of document {document_id:?} is {} bytes long, not {} values of 4 bytes; ingest the document again",
                target.name,
                bytes.len(),
                target.options.dimension
            ))),
        }
    }

    fn search_error(&self, query: &KnnQuery, error: redis::RedisError) -> SearchError {
        if is_query_timeout(&error) {
            return SearchError::Timeout {
                operation: "searching",
                timeout: self.limits().query_timeout,
            };
        }
        let error = SearchError::redis("searching", &query.index, error);
        if let SearchError::Internal { .. } = &error {
            // The query was compiled here, so a rejection by RediSearch is a bug; the log shows the query.
            tracing::error!(
                index = query.index,
                query = knn::query_string(query),
                "RediSearch rejected a KNN query"
            );
        }
        error
    }
}

fn response(hits: Vec<pb::SearchHit>, total: u64) -> pb::SearchResponse {
    pb::SearchResponse {
        hits,
        total,
        facets: Vec::new(),
        mode: pb::SearchMode::Knn as i32,
    }
}
