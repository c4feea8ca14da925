//! The gRPC adapter of `docsearch.v1.SearchService`: each handler validates, calls the [`Searcher`] and
//! maps its error to a status.

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::search_service_server::SearchService;
use futures::StreamExt as _;
use tonic::{Request, Response, Status};

use crate::error::SearchError;
use crate::searcher::Searcher;

/// Queries of one SearchBatch request that run at the same time.
const MAX_CONCURRENT_BATCH_QUERIES: usize = 8;

/// Serves `docsearch.v1.SearchService`.
#[derive(Clone)]
pub struct SearchHandler {
    searcher: Searcher,
}

impl SearchHandler {
    pub fn new(searcher: Searcher) -> Self {
        Self { searcher }
    }
}

#[tonic::async_trait]
impl SearchService for SearchHandler {
    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let response = self.searcher.search(request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn search_batch(
        &self,
        request: Request<pb::SearchBatchRequest>,
    ) -> Result<Response<pb::SearchBatchResponse>, Status> {
        let pb::SearchBatchRequest { requests } = request.into_inner();
        let max_queries = self.searcher.limits().max_batch_queries as usize;
        if requests.is_empty() || requests.len() > max_queries {
            let error = SearchError::invalid(
                "requests",
                format!(
                    "the batch has {} queries; send 1 to {max_queries}",
                    requests.len()
                ),
            );
            return Err(error.into());
        }

        // `buffered` keeps request order while running several queries at once.
        let results = futures::stream::iter(requests)
            .map(|request| self.searcher.search(request))
            .buffered(MAX_CONCURRENT_BATCH_QUERIES)
            .map(batch_result)
            .collect()
            .await;
        Ok(Response::new(pb::SearchBatchResponse { results }))
    }

    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::GetResponse>, Status> {
        let response = self.searcher.get(request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn suggest(
        &self,
        request: Request<pb::SuggestRequest>,
    ) -> Result<Response<pb::SuggestResponse>, Status> {
        let response = self.searcher.suggest(request.into_inner()).await?;
        Ok(Response::new(response))
    }
}

/// Converts one query's outcome to its place in a SearchBatch response, with the status that Search
/// would have returned.
fn batch_result(outcome: Result<pb::SearchResponse, SearchError>) -> pb::SearchBatchResult {
    let outcome = match outcome {
        Ok(response) => pb::search_batch_result::Outcome::Response(response),
        Err(error) => {
            let status = Status::from(error);
            pb::search_batch_result::Outcome::Error(pb::SearchError {
                code: status.code() as i32,
                message: status.message().to_owned(),
            })
        }
    };
    pb::SearchBatchResult {
        outcome: Some(outcome),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use docsearch_runtime::catalog::Catalog;
    use docsearch_runtime::config::RedisConfig;
    use docsearch_runtime::connection;
    use docsearch_runtime::keys::KeyLayout;
    use tonic::Code;

    use super::*;
    use crate::config::SearchConfig;

    /// Builds a handler whose Redis is at `url`; the connection opens on the first command.
    fn handler(url: &str, query_timeout: Duration) -> SearchHandler {
        let redis = RedisConfig {
            url: url.to_owned(),
            connect_timeout: Duration::from_secs(5),
            reconnect_retries: 0,
            ..RedisConfig::default()
        };
        let connection = connection::connect(&redis).unwrap();
        let catalog = Catalog::new(connection.clone(), KeyLayout::new("unit").unwrap());
        let limits = SearchConfig {
            query_timeout,
            max_batch_queries: 2,
            ..SearchConfig::default()
        };
        SearchHandler::new(Searcher::new(catalog, connection, limits, None))
    }

    fn search_request() -> pb::SearchRequest {
        pb::SearchRequest {
            index: "papers".to_owned(),
            vector: Some(pb::Vector {
                values: vec![1.0, 0.0],
            }),
            k: 3,
            ..pb::SearchRequest::default()
        }
    }

    #[tokio::test]
    async fn search_times_out_on_silent_redis() {
        // A server that accepts connections and never replies.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let handler = handler(&url, Duration::from_millis(200));
        let status = handler
            .search(Request::new(search_request()))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::DeadlineExceeded,
            "{}",
            status.message()
        );
        assert_eq!(
            status.message(),
            "searching timed out after 200ms; narrow the filter, lower k or retry later"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn search_unavailable_without_redis() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        drop(listener);
        let handler = handler(&url, Duration::from_secs(5));
        let status = handler
            .search(Request::new(search_request()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
        assert!(
            status
                .message()
                .starts_with("Redis is unavailable while loading the index schema"),
            "{}",
            status.message()
        );
    }

    #[tokio::test]
    async fn empty_batch_rejected() {
        let handler = handler("redis://127.0.0.1:1", Duration::from_secs(1));
        let status = handler
            .search_batch(Request::new(pb::SearchBatchRequest {
                requests: Vec::new(),
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid requests: the batch has 0 queries; send 1 to 2"
        );
    }

    #[tokio::test]
    async fn oversized_batch_rejected() {
        let handler = handler("redis://127.0.0.1:1", Duration::from_secs(1));
        let status = handler
            .search_batch(Request::new(pb::SearchBatchRequest {
                requests: vec![search_request(); 3],
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn batch_reports_each_status() {
        let handler = handler("redis://127.0.0.1:1", Duration::from_secs(1));
        let invalid = pb::SearchRequest {
            k: 0,
            ..search_request()
        };
        let response = handler
            .search_batch(Request::new(pb::SearchBatchRequest {
                requests: vec![invalid.clone(), invalid],
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.results.len(), 2);
        for result in response.results {
            match result.outcome {
                Some(pb::search_batch_result::Outcome::Error(error)) => {
                    assert_eq!(error.code, Code::InvalidArgument as i32);
                    assert!(
                        error.message.starts_with("invalid k: "),
                        "{}",
                        error.message
                    );
                }
                other => panic!("expected an error, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn short_suggest_prefix_rejected() {
        let handler = handler("redis://127.0.0.1:1", Duration::from_secs(1));
        let status = handler
            .suggest(Request::new(pb::SuggestRequest {
                index: "papers".to_owned(),
                prefix: "a".to_owned(),
                limit: 0,
                fuzzy: false,
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}
