//! gRPC adapter of `docsearch.v1.IngestService`.
//!
//! An Ingest stream is served by one task that reads a batch, writes it, acknowledges it and only then
//! reads the next, so acknowledgements come in batch order and each means "written". On shutdown the
//! task finishes the batch in hand, acknowledges it, and ends the stream with UNAVAILABLE naming the last
//! acknowledged batch, so the client knows what to send again.

use std::pin::Pin;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::ingest_service_server::IngestService;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, debug, info, warn};

use crate::error::IndexerError;
use crate::ingest::Ingestor;

/// Maximum documents in one Upsert request.
pub const MAX_UPSERT_DOCUMENTS: usize = 1000;

/// Acknowledgements buffered per stream before the writer waits for the client to read them.
const ACK_BUFFER: usize = 8;

pub struct IngestHandler {
    ingestor: Ingestor,
    shutdown: CancellationToken,
}

impl IngestHandler {
    pub fn new(ingestor: Ingestor, shutdown: CancellationToken) -> Self {
        Self { ingestor, shutdown }
    }
}

/// Reads batches from one stream until it ends, fails or the service shuts down.
async fn serve_stream(
    ingestor: Ingestor,
    mut batches: Streaming<pb::IngestRequest>,
    acks: mpsc::Sender<Result<pb::IngestResponse, Status>>,
    shutdown: CancellationToken,
) {
    let mut sequence: u64 = 0;
    let mut last_batch_id: Option<String> = None;
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let resume_after = match &last_batch_id {
                    Some(batch_id) => format!("after batch {batch_id:?} (sequence {})", sequence - 1),
                    None => "from the first batch".to_owned(),
                };
                info!(num_batches = sequence, "ending an ingest stream for shutdown");
                let _ = acks
                    .send(Err(Status::unavailable(format!(
                        "the indexer is shutting down; batches {resume_after} were not written, send them again"
                    ))))
                    .await;
                return;
            }
            next = batches.message() => next,
        };
        let request = match next {
            Ok(Some(request)) => request,
            Ok(None) => {
                debug!(num_batches = sequence, "ingest stream completed");
                return;
            }
            Err(status) => {
                warn!(num_batches = sequence, code = ?status.code(), message = status.message(), "ingest stream broken by the client; unacknowledged batches were not written");
                return;
            }
        };

        let pb::IngestRequest {
            index,
            batch_id,
            documents,
            skip_existing,
        } = request;
        let num_documents = documents.len();
        let outcome = match ingestor.write_batch(&index, documents, skip_existing).await {
            Ok(outcome) => outcome,
            Err(error) => {
                warn!(index, batch_id, sequence, num_documents, %error, "ingest batch failed; ending the stream");
                let _ = acks.send(Err(Status::from(error))).await;
                return;
            }
        };
        let ack = pb::IngestResponse {
            batch_id: batch_id.clone(),
            sequence,
            num_written: outcome.num_written,
            num_skipped: outcome.num_skipped,
            errors: outcome.errors,
        };
        if acks.send(Ok(ack)).await.is_err() {
            warn!(
                index,
                batch_id,
                sequence,
                "the client left before reading the acknowledgement of a written batch"
            );
            return;
        }
        last_batch_id = Some(batch_id);
        sequence += 1;
    }
}

type AckStream = Pin<Box<dyn Stream<Item = Result<pb::IngestResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl IngestService for IngestHandler {
    type IngestStream = AckStream;

    async fn ingest(
        &self,
        request: Request<Streaming<pb::IngestRequest>>,
    ) -> Result<Response<Self::IngestStream>, Status> {
        if self.shutdown.is_cancelled() {
            return Err(Status::unavailable(
                "the indexer is shutting down; send the batches to another replica",
            ));
        }
        let batches = request.into_inner();
        let (acks, acks_rx) = mpsc::channel(ACK_BUFFER);
        tokio::spawn(
            serve_stream(self.ingestor.clone(), batches, acks, self.shutdown.clone())
                .in_current_span(),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(acks_rx))))
    }

    async fn upsert(
        &self,
        request: Request<pb::UpsertRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let pb::UpsertRequest { index, documents } = request.into_inner();
        if documents.is_empty() {
            // The index is checked first, so an unknown index is NOT_FOUND whatever the request
            // contains, as in Delete and Ingest.
            self.ingestor.load_index(&index).await?;
            return Err(IndexerError::invalid(
                "documents",
                format!("the request has no documents; send 1 to {MAX_UPSERT_DOCUMENTS} documents"),
            )
            .into());
        }
        if documents.len() > MAX_UPSERT_DOCUMENTS {
            return Err(IndexerError::invalid(
                "documents",
                format!(
                    "{} documents given; Upsert takes at most {MAX_UPSERT_DOCUMENTS}, stream larger loads through Ingest",
                    documents.len()
                ),
            )
            .into());
        }
        let outcome = self.ingestor.write_batch(&index, documents, false).await?;
        Ok(Response::new(pb::UpsertResponse {
            num_written: outcome.num_written,
            errors: outcome.errors,
        }))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let pb::DeleteRequest { index, ids } = request.into_inner();
        let outcome = self.ingestor.delete(&index, ids).await?;
        Ok(Response::new(pb::DeleteResponse {
            num_deleted: outcome.num_deleted,
            missing_ids: outcome.missing_ids,
        }))
    }
}
