//! A Redis outage: both services report NOT_SERVING and answer UNAVAILABLE while Redis is down, then
//! reconnect on their own and serve again once it is back.

use std::time::{Duration, Instant};

use docsearch_e2e::data::{document, schema};
use docsearch_e2e::{ServiceProcess, Stack, StackOptions};
use docsearch_proto::v1 as pb;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Time the health status gets to follow Redis.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);

async fn wait_for_status(service: &ServiceProcess, expected: ServingStatus) {
    let mut health = HealthClient::new(service.channel().await);
    let deadline = Instant::now() + HEALTH_TIMEOUT;
    let mut last = None;
    while Instant::now() < deadline {
        let request = HealthCheckRequest {
            service: String::new(),
        };
        if let Ok(response) = health.check(request).await {
            last = Some(response.into_inner().status);
            if last == Some(expected as i32) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{:?} did not report {expected:?} within {HEALTH_TIMEOUT:?} (last status {last:?}):\n{}",
        service.kind,
        service.log()
    );
}

async fn create_and_fill(stack: &Stack) {
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: "outage".to_owned(),
            schema: Some(pb::IndexSchema {
                fields: vec![schema::vector("embedding", pb::VectorAlgorithm::Flat, 2)],
            }),
        })
        .await
        .expect("CreateIndex");
    let mut ingest = stack.ingest_client().await;
    let response = ingest
        .upsert(pb::UpsertRequest {
            index: "outage".to_owned(),
            documents: vec![document("a", vec![], "embedding", vec![1.0, 0.0])],
        })
        .await
        .expect("Upsert")
        .into_inner();
    assert_eq!(response.num_written, 1);
}

fn query() -> pb::SearchRequest {
    pb::SearchRequest {
        index: "outage".to_owned(),
        vector: Some(pb::Vector {
            values: vec![1.0, 0.0],
        }),
        k: 1,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_survive_redis_outage() {
    let mut stack = Stack::start(StackOptions::default()).await;
    create_and_fill(&stack).await;

    stack.redis.kill();
    wait_for_status(&stack.indexer, ServingStatus::NotServing).await;
    wait_for_status(&stack.searcher, ServingStatus::NotServing).await;

    let mut search = stack.search_client().await;
    let status = search
        .search(query())
        .await
        .expect_err("no Redis, no search");
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("Redis"), "{}", status.message());
    let mut ingest = stack.ingest_client().await;
    let status = ingest
        .upsert(pb::UpsertRequest {
            index: "outage".to_owned(),
            documents: vec![document("b", vec![], "embedding", vec![0.0, 1.0])],
        })
        .await
        .expect_err("no Redis, no write");
    assert_eq!(status.code(), Code::Unavailable, "{status}");

    // Redis comes back empty, as after a crash without persistence; the same connections recover.
    let redis = &mut stack.redis;
    tokio::task::block_in_place(|| redis.restart());
    wait_for_status(&stack.indexer, ServingStatus::Serving).await;
    wait_for_status(&stack.searcher, ServingStatus::Serving).await;
    create_and_fill(&stack).await;
    let response = search
        .search(query())
        .await
        .expect("search after recovery")
        .into_inner();
    assert_eq!(response.hits[0].id, "a");
}
