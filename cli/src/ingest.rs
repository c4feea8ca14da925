//! The Ingest stream of a load.
//!
//! The calling task gathers documents into batches and sends them. A second task reads the
//! acknowledgements, which the indexer sends in batch order once each batch is written. A semaphore
//! bounds the batches in flight. There are enough that the indexer always has the next batch queued,
//! and few enough that memory stays bounded and little is sent again after a failure.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::ingest_service_client::IngestServiceClient;
use prost::Message as _;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::input::Malformed;
use crate::progress::Progress;

/// Item that the file reader sends to the stream.
#[derive(Debug)]
pub enum InputItem {
    Document { line: u64, document: pb::Document },
    Malformed(Malformed),
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub index: String,
    /// Maximum documents per batch.
    pub batch_size: usize,
    /// A batch is sent once its encoded documents reach this many bytes, even when it has fewer
    /// than `batch_size` documents.
    pub max_batch_bytes: usize,
    /// Sets `skip_existing` on every batch (--resume).
    pub skip_existing: bool,
    /// Batches sent but not yet acknowledged, at most.
    pub max_in_flight: usize,
}

/// End state of the stream.
#[derive(Debug)]
pub enum StreamEnd {
    /// Every batch was sent and acknowledged.
    Completed,
    /// Ctrl-C stopped the load; every batch sent was acknowledged.
    Interrupted,
    /// The stream failed. Batches without an acknowledgement were not written.
    Failed {
        status: tonic::Status,
        num_unacknowledged_batches: usize,
        num_unacknowledged_documents: usize,
    },
}

/// A batch sent and waiting for its acknowledgement.
#[derive(Debug)]
struct SentBatch {
    batch_id: String,
    /// Line of each document, by position in the batch.
    lines: Vec<u64>,
}

#[derive(Debug, Default)]
struct Batch {
    documents: Vec<pb::Document>,
    lines: Vec<u64>,
    num_bytes: usize,
}

impl Batch {
    fn push(&mut self, line: u64, document: pb::Document) {
        self.num_bytes += document.encoded_len();
        self.documents.push(document);
        self.lines.push(line);
    }

    fn is_full(&self, options: &IngestOptions) -> bool {
        self.documents.len() >= options.batch_size || self.num_bytes >= options.max_batch_bytes
    }
}

/// State shared by the sending task and the acknowledgement reader.
struct Shared {
    pending: Mutex<VecDeque<SentBatch>>,
    /// One permit per batch that may still be sent; closed when the acknowledgement reader stops.
    permits: Semaphore,
    /// Signalled when the acknowledgement reader stops.
    reader_stopped: Notify,
    progress: Arc<Progress>,
}

/// Streams the items into the index until the input ends, the stream fails or Ctrl-C is pressed.
pub async fn run(
    client: IngestServiceClient<Channel>,
    options: IngestOptions,
    mut items: mpsc::Receiver<InputItem>,
    progress: Arc<Progress>,
) -> StreamEnd {
    let shared = Arc::new(Shared {
        pending: Mutex::new(VecDeque::new()),
        permits: Semaphore::new(options.max_in_flight),
        reader_stopped: Notify::new(),
        progress: Arc::clone(&progress),
    });
    let (requests, requests_rx) = mpsc::channel(options.max_in_flight);
    let reader = tokio::spawn(read_acknowledgements(
        client,
        requests_rx,
        Arc::clone(&shared),
    ));
    let interrupt = Arc::new(Notify::new());
    let signal_task = tokio::spawn(watch_interrupts(
        Arc::clone(&interrupt),
        Arc::clone(&progress),
    ));

    let mut batch = Batch::default();
    let mut input_finished = false;
    let mut interrupted = false;
    loop {
        let item = tokio::select! {
            biased;
            () = shared.reader_stopped.notified() => break,
            () = interrupt.notified() => {
                interrupted = true;
                break;
            }
            item = items.recv() => item,
        };
        let Some(item) = item else {
            input_finished = true;
            break;
        };
        progress.counters().add_read(1);
        match item {
            InputItem::Malformed(Malformed { line, reason }) => {
                progress.counters().add_malformed(1);
                progress
                    .report_malformed(&format!("line {line}: malformed record skipped: {reason}"));
            }
            InputItem::Document { line, document } => {
                batch.push(line, document);
                if batch.is_full(&options)
                    && !send(&shared, &requests, &options, std::mem::take(&mut batch)).await
                {
                    break;
                }
            }
        }
        progress.refresh();
    }
    if (input_finished || interrupted) && !batch.documents.is_empty() {
        send(&shared, &requests, &options, batch).await;
    }
    // Ends the request stream, so the indexer ends the acknowledgements after the last batch.
    drop(requests);
    drop(items);

    let result = reader.await;
    signal_task.abort();
    progress.refresh();
    let (num_unacknowledged_batches, num_unacknowledged_documents) = {
        let pending = shared
            .pending
            .lock()
            .expect("no task panics while holding the lock");
        (
            pending.len(),
            pending.iter().map(|batch| batch.lines.len()).sum(),
        )
    };
    let failed = |status| StreamEnd::Failed {
        status,
        num_unacknowledged_batches,
        num_unacknowledged_documents,
    };
    match result {
        Err(join_error) => failed(tonic::Status::internal(format!(
            "the acknowledgement reader failed: {join_error}"
        ))),
        Ok(Err(status)) => failed(status),
        Ok(Ok(())) if num_unacknowledged_batches > 0 || !(input_finished || interrupted) => failed(
            tonic::Status::unknown("the indexer ended the stream before the load finished"),
        ),
        Ok(Ok(())) if interrupted => StreamEnd::Interrupted,
        Ok(Ok(())) => StreamEnd::Completed,
    }
}

/// Sends one batch once a slot is free; false when the stream has stopped.
async fn send(
    shared: &Shared,
    requests: &mpsc::Sender<pb::IngestRequest>,
    options: &IngestOptions,
    batch: Batch,
) -> bool {
    let Ok(permit) = shared.permits.acquire().await else {
        return false;
    };
    // The acknowledgement reader adds the permit back when the batch is acknowledged.
    permit.forget();
    let Batch {
        documents, lines, ..
    } = batch;
    let batch_id = format!(
        "lines-{}-{}",
        lines.first().copied().unwrap_or(0),
        lines.last().copied().unwrap_or(0)
    );
    let request = pb::IngestRequest {
        index: options.index.clone(),
        batch_id: batch_id.clone(),
        documents,
        skip_existing: options.skip_existing,
    };
    shared
        .pending
        .lock()
        .expect("no task panics while holding the lock")
        .push_back(SentBatch { batch_id, lines });
    requests.send(request).await.is_ok()
}

/// Opens the stream and applies each acknowledgement to the counters until the stream ends.
async fn read_acknowledgements(
    mut client: IngestServiceClient<Channel>,
    requests: mpsc::Receiver<pb::IngestRequest>,
    shared: Arc<Shared>,
) -> Result<(), tonic::Status> {
    let result = async {
        let mut acknowledgements = client
            .ingest(ReceiverStream::new(requests))
            .await?
            .into_inner();
        while let Some(acknowledgement) = acknowledgements.message().await? {
            let sent = shared
                .pending
                .lock()
                .expect("no task panics while holding the lock")
                .pop_front();
            let Some(sent) = sent else {
                return Err(tonic::Status::internal(format!(
                    "the indexer acknowledged batch {:?}, which was never sent",
                    acknowledgement.batch_id
                )));
            };
            if acknowledgement.batch_id != sent.batch_id {
                return Err(tonic::Status::internal(format!(
                    "the indexer acknowledged batch {:?} where {:?} was expected",
                    acknowledgement.batch_id, sent.batch_id
                )));
            }
            apply(&shared.progress, &acknowledgement, &sent);
            shared.permits.add_permits(1);
        }
        Ok(())
    }
    .await;
    shared.permits.close();
    shared.reader_stopped.notify_one();
    result
}

fn apply(progress: &Progress, acknowledgement: &pb::IngestResponse, sent: &SentBatch) {
    let num_rejected = acknowledgement.errors.len() as u64;
    progress.counters().add_acknowledged(
        u64::from(acknowledgement.num_written),
        u64::from(acknowledgement.num_skipped),
        num_rejected,
    );
    for error in &acknowledgement.errors {
        let line = sent
            .lines
            .get(error.position as usize)
            .copied()
            .unwrap_or(0);
        progress.report_rejected(&rejection_text(line, error));
    }
    progress.refresh();
}

/// Formats a rejected document as "line 7: document "x" rejected (INVALID_FIELD, field title): message".
pub fn rejection_text(line: u64, error: &pb::DocumentError) -> String {
    let code = pb::DocumentErrorCode::try_from(error.code)
        .map(|code| {
            code.as_str_name()
                .trim_start_matches("DOCUMENT_ERROR_CODE_")
                .to_owned()
        })
        .unwrap_or_else(|_| format!("code {}", error.code));
    let field = if error.field.is_empty() {
        String::new()
    } else {
        format!(", field {}", error.field)
    };
    format!(
        "line {line}: document {:?} rejected ({code}{field}): {}",
        error.document_id, error.message
    )
}

/// Stops the load on the first Ctrl-C, and quits at once with exit code 130 on the second.
async fn watch_interrupts(interrupt: Arc<Notify>, progress: Arc<Progress>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    interrupt.notify_one();
    progress.message("interrupted: sending no more batches and waiting for the acknowledgements of those sent; press Ctrl-C again to quit at once");
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!(
            "quit before every batch sent was acknowledged; run the same command with --resume to continue"
        );
        std::process::exit(130);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_names_line_id_code_and_field() {
        let error = pb::DocumentError {
            position: 1,
            document_id: "0704.0001".to_owned(),
            code: pb::DocumentErrorCode::InvalidField as i32,
            field: "title".to_owned(),
            message: "field \"title\" is not in the index schema".to_owned(),
        };
        assert_eq!(
            rejection_text(12, &error),
            "line 12: document \"0704.0001\" rejected (INVALID_FIELD, field title): field \"title\" is not in the index schema"
        );
    }

    #[test]
    fn batch_fills_by_count_or_bytes() {
        let options = IngestOptions {
            index: "papers".to_owned(),
            batch_size: 2,
            max_batch_bytes: 1 << 20,
            skip_existing: false,
            max_in_flight: 2,
        };
        let document = |id: &str| pb::Document {
            id: id.to_owned(),
            ..Default::default()
        };
        let mut batch = Batch::default();
        batch.push(1, document("a"));
        assert!(!batch.is_full(&options));
        batch.push(2, document("b"));
        assert!(batch.is_full(&options));

        let small = IngestOptions {
            max_batch_bytes: 10,
            batch_size: 100,
            ..options
        };
        let mut batch = Batch::default();
        batch.push(1, document("a-long-enough-id"));
        assert!(batch.is_full(&small));
    }
}
