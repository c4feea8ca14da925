//! Graceful shutdown: on SIGTERM the indexer acknowledges the batch in hand, ends open Ingest streams
//! with UNAVAILABLE and exits within its grace period.

use std::time::Duration;

use docsearch_e2e::data::{document, random_vectors, schema};
use docsearch_e2e::{Stack, StackOptions};
use docsearch_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_ingest_stream() {
    let mut stack = Stack::start(StackOptions {
        settings: vec![("DOCSEARCH__SERVER__SHUTDOWN_GRACE_PERIOD", "5s".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let mut admin = stack.index_client().await;
    admin
        .create_index(pb::CreateIndexRequest {
            name: "drain".to_owned(),
            schema: Some(pb::IndexSchema {
                fields: vec![schema::vector("embedding", pb::VectorAlgorithm::Flat, 8)],
            }),
        })
        .await
        .expect("CreateIndex");

    let (batches, batches_rx) = mpsc::channel(4);
    let mut ingest = stack.ingest_client().await;
    let mut acks = ingest
        .ingest(ReceiverStream::new(batches_rx))
        .await
        .expect("Ingest")
        .into_inner();
    let batch = |number: usize| pb::IngestRequest {
        index: "drain".to_owned(),
        batch_id: format!("b{number}"),
        documents: random_vectors(number as u64, 10, 8)
            .into_iter()
            .enumerate()
            .map(|(i, vector)| document(&format!("{number}-{i}"), vec![], "embedding", vector))
            .collect(),
        skip_existing: false,
    };

    batches.send(batch(0)).await.expect("send batch 0");
    let first = acks
        .message()
        .await
        .expect("first acknowledgement")
        .expect("stream open");
    assert_eq!(first.batch_id, "b0");
    assert_eq!(first.num_written, 10);

    // The stream stays open; SIGTERM must end it rather than wait for the client.
    let indexer = &mut stack.indexer;
    let exit = tokio::task::block_in_place(|| indexer.terminate(Duration::from_secs(10)));

    let ending = acks
        .message()
        .await
        .expect_err("the stream ends with a status");
    assert_eq!(ending.code(), Code::Unavailable, "{ending}");
    assert!(
        ending.message().contains("after batch \"b0\""),
        "{}",
        ending.message()
    );
    assert_eq!(
        exit,
        Some(0),
        "the indexer exits cleanly within the grace period"
    );
    drop(batches);
}
