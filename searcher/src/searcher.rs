//! The searcher's shared state and the steps every request takes: loading the index schema and
//! bounding the request's time in Redis.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::schema::Schema;
use futures::future::BoxFuture;
use redis::FromRedisValue;
use redis::aio::ConnectionManager;

use crate::config::SearchConfig;
use crate::embedder::QueryEmbedder;
use crate::error::SearchError;

/// Extra time RediSearch gets beyond the query timeout. When a query reaches its TIMEOUT, RediSearch
/// 2.10 returns the results found so far without an error, because its default ON_TIMEOUT policy is
/// RETURN. So its timeout must end after the searcher's, which then reports DEADLINE_EXCEEDED.
const SERVER_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

/// Serves Search, Get and Suggest over the indexes of one namespace. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Searcher {
    catalog: Catalog,
    connection: ConnectionManager,
    limits: SearchConfig,
    embedder: Option<Arc<dyn QueryEmbedder>>,
}

impl Searcher {
    /// Creates a searcher; without an embedder, text queries fail with FAILED_PRECONDITION.
    pub fn new(
        catalog: Catalog,
        connection: ConnectionManager,
        limits: SearchConfig,
        embedder: Option<Arc<dyn QueryEmbedder>>,
    ) -> Self {
        Self {
            catalog,
            connection,
            limits,
            embedder,
        }
    }

    pub fn limits(&self) -> &SearchConfig {
        &self.limits
    }

    pub(crate) fn layout(&self) -> &KeyLayout {
        self.catalog.layout()
    }

    pub(crate) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    pub(crate) fn embedder(&self) -> Option<&dyn QueryEmbedder> {
        self.embedder.as_deref()
    }

    /// Returns the TIMEOUT argument of FT.SEARCH commands.
    pub(crate) fn server_timeout(&self) -> Duration {
        self.limits.query_timeout + SERVER_TIMEOUT_MARGIN
    }

    /// Loads the schema of an index from the catalog.
    pub(crate) async fn load_schema(&self, index: &str) -> Result<Schema, SearchError> {
        let entry = self
            .catalog
            .get(index)
            .await
            .map_err(|error| SearchError::catalog("loading the index schema", index, error))?;
        Ok(entry.schema)
    }

    /// Runs `work`, failing with DEADLINE_EXCEEDED when it outlasts the query timeout.
    pub(crate) async fn within_timeout<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = Result<T, SearchError>>,
    ) -> Result<T, SearchError> {
        let timeout = self.limits.query_timeout;
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(SearchError::Timeout { operation, timeout }),
        }
    }
}

/// A Redis command or pipeline that a request sends.
pub(crate) trait RedisRequest: Sync {
    fn send<'a, T: FromRedisValue + Send + 'a>(
        &'a self,
        connection: &'a mut ConnectionManager,
    ) -> BoxFuture<'a, redis::RedisResult<T>>;
}

impl RedisRequest for redis::Cmd {
    fn send<'a, T: FromRedisValue + Send + 'a>(
        &'a self,
        connection: &'a mut ConnectionManager,
    ) -> BoxFuture<'a, redis::RedisResult<T>> {
        Box::pin(self.query_async(connection))
    }
}

impl RedisRequest for redis::Pipeline {
    fn send<'a, T: FromRedisValue + Send + 'a>(
        &'a self,
        connection: &'a mut ConnectionManager,
    ) -> BoxFuture<'a, redis::RedisResult<T>> {
        Box::pin(self.query_async(connection))
    }
}

impl Searcher {
    /// Sends the commands of a query on `index`. `query` is the query string, which the log shows when
    /// RediSearch rejects it.
    pub(crate) async fn query_redis<T: FromRedisValue + Send>(
        &self,
        index: &str,
        query: &str,
        request: &impl RedisRequest,
    ) -> Result<T, SearchError> {
        let mut connection = self.connection();
        request
            .send(&mut connection)
            .await
            .map_err(|error| self.query_error(index, query, error))
    }

    /// Classifies an error of a query's commands.
    fn query_error(&self, index: &str, query: &str, error: redis::RedisError) -> SearchError {
        if is_query_timeout(&error) {
            return SearchError::Timeout {
                operation: "searching",
                timeout: self.limits.query_timeout,
            };
        }
        let error = SearchError::redis("searching", index, error);
        if let SearchError::Internal { .. } = &error {
            // The query was compiled here, so a rejection by RediSearch is a bug; the log shows the query.
            tracing::error!(index, query, "RediSearch rejected a query");
        }
        error
    }
}

/// True for RediSearch's error about a query that reached its TIMEOUT, which it raises instead of
/// returning partial results when its ON_TIMEOUT policy is FAIL.
pub(crate) fn is_query_timeout(error: &redis::RedisError) -> bool {
    error.to_string().contains("Timeout limit was reached")
}
