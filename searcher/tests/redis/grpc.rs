//! The searcher served over gRPC on a loopback port, called with a generated client.

use std::time::Duration;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::search_service_client::SearchServiceClient;
use docsearch_runtime::vector;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use crate::common::{Fixture, searcher_config, text_field, vector_field};

const INDEX: &str = "papers";

#[tokio::test]
async fn grpc_serves_search_and_get() {
    let schema = pb::IndexSchema {
        fields: vec![
            text_field("title"),
            vector_field(
                "embedding",
                2,
                pb::VectorAlgorithm::Flat,
                pb::DistanceMetric::Cosine,
            ),
        ],
    };
    let fixture = Fixture::start(INDEX, schema).await;
    for (id, vector) in [("a", [1.0, 0.0]), ("b", [0.0, 1.0])] {
        fixture
            .put(
                INDEX,
                id,
                &[
                    ("title", format!("paper {id}").into_bytes()),
                    ("embedding", vector::encode(&vector)),
                ],
            )
            .await;
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(docsearch_searcher::serve(
        searcher_config(&fixture.server),
        listener,
        shutdown.clone(),
    ));
    let mut client = SearchServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap();

    let search = pb::SearchRequest {
        index: INDEX.to_owned(),
        vector: Some(pb::Vector {
            values: vec![0.9, 0.1],
        }),
        k: 2,
        ..pb::SearchRequest::default()
    };
    let response = client.search(search.clone()).await.unwrap().into_inner();
    let ids: Vec<&str> = response.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b"]);

    let status = client
        .search(pb::SearchRequest {
            index: "missing".to_owned(),
            ..search.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let batch = client
        .search_batch(pb::SearchBatchRequest {
            requests: vec![
                search.clone(),
                pb::SearchRequest {
                    k: 0,
                    ..search.clone()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        batch.results[0].outcome,
        Some(pb::search_batch_result::Outcome::Response(_))
    ));
    match &batch.results[1].outcome {
        Some(pb::search_batch_result::Outcome::Error(error)) => {
            assert_eq!(error.code, Code::InvalidArgument as i32);
        }
        other => panic!("expected an error, got {other:?}"),
    }

    let documents = client
        .get(pb::GetRequest {
            index: INDEX.to_owned(),
            ids: vec!["b".to_owned()],
            return_fields: Vec::new(),
            include_vectors: false,
        })
        .await
        .unwrap()
        .into_inner()
        .documents;
    assert_eq!(documents[0].id, "b");

    let status = client
        .suggest(pb::SuggestRequest {
            index: INDEX.to_owned(),
            prefix: "pa".to_owned(),
            limit: 0,
            fuzzy: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("set on one TEXT field"),
        "{}",
        status.message()
    );

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}
