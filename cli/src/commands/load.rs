//! `docsearch load`: streams a file of records into an index.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::index_service_client::IndexServiceClient;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::cli::{Format, LoadArgs};
use crate::commands::index::read_schema;
use crate::connect::{Service, Services};
use crate::error::{CliError, Outcome};
use crate::ingest::{self, IngestOptions, InputItem, StreamEnd};
use crate::input::mapping::Mapping;
use crate::input::reader::{self, Window};
use crate::input::{Converter, Malformed, Record};
use crate::output::{count_text, elapsed_text, noun_form};
use crate::progress::{Counters, Progress, Totals, rate};

/// Default batch size when the indexer embeds the documents. Embedding dominates the cost, and the
/// indexer sorts each batch by text length before embedding it, so a larger batch wastes less on
/// padding: on 2 cores, 256 arXiv papers loaded at 9.9 documents/s in one batch and 8.3 in batches of
/// 64 (an estimate from one run each).
const EMBEDDING_BATCH_SIZE: usize = 256;
/// Default batch size when the records carry their vectors.
const VECTOR_BATCH_SIZE: usize = 500;
/// Batches in flight: one being written by the indexer and the next ones queued behind it.
const MAX_IN_FLIGHT: usize = 4;
/// A batch is sent early once it contains this many bytes, far below the indexer's 64 MiB message limit.
const MAX_BATCH_BYTES: usize = 4 << 20;
/// Converted records queued between the file reader thread and the stream.
const ITEM_BUFFER: usize = 1024;

pub async fn run(services: &Services, args: LoadArgs) -> Result<Outcome, CliError> {
    let LoadArgs {
        file,
        index,
        format,
        mapping,
        batch_size,
        limit,
        skip,
        resume,
        create_index,
    } = args;
    let format = resolve_format(&file, format)?;
    let converter = build_converter(format, mapping.as_deref())?;
    if !file.is_file() {
        return Err(anyhow::anyhow!("{} is not a file", file.display()).into());
    }

    let mut admin = services.index_client().await?;
    let info = ensure_index(services, &mut admin, &index, create_index.as_deref()).await?;
    let schema = info.schema.unwrap_or_default();
    check_schema(&converter, &schema, &index)?;
    let batch_size = batch_size.map_or_else(
        || default_batch_size(&converter, &schema),
        |size| size as usize,
    );

    let window = Window { skip, limit };
    let total = match format {
        Format::Json => limit,
        Format::Arxiv | Format::Jsonl => {
            let num_records = reader::count_json_lines(&file)?;
            Some(
                num_records
                    .saturating_sub(skip)
                    .min(limit.unwrap_or(u64::MAX)),
            )
        }
    };
    let client = services.ingest_client().await?;
    eprintln!(
        "loading {} into index {index:?}: format {}, batches of {}{}",
        file.display(),
        format_name(format),
        count_text(batch_size as u64, "document", "documents"),
        if resume {
            ", leaving documents that the index contains untouched (--resume)"
        } else {
            ""
        }
    );

    let counters = Arc::new(Counters::default());
    let progress = Arc::new(Progress::start(Arc::clone(&counters), total));
    let (items, items_rx) = mpsc::channel(ITEM_BUFFER);
    let reader = spawn_reader(file.clone(), format, window, converter, items);
    let options = IngestOptions {
        index: index.clone(),
        batch_size,
        max_batch_bytes: MAX_BATCH_BYTES,
        skip_existing: resume,
        max_in_flight: MAX_IN_FLIGHT,
    };
    let end = ingest::run(client, options, items_rx, Arc::clone(&progress)).await;
    progress.finish();
    let read_result = tokio::task::spawn_blocking(move || reader.join())
        .await
        .map_err(|error| anyhow::anyhow!("the file reader thread failed: {error}"))?
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the file reader thread panicked")));

    let totals = counters.totals();
    print_summary(&file, &index, &totals, progress.elapsed());
    finish(end, read_result, &totals)
}

/// Turns the stream's end and the reader's result into the command's outcome.
fn finish(
    end: StreamEnd,
    read_result: anyhow::Result<()>,
    totals: &Totals,
) -> Result<Outcome, CliError> {
    match end {
        StreamEnd::Failed {
            status,
            num_unacknowledged_batches,
            num_unacknowledged_documents,
        } => Err(anyhow::anyhow!(
            "the Ingest stream failed: {}\n{}{}",
            crate::output::status_text(&status),
            unwritten_text(num_unacknowledged_batches, num_unacknowledged_documents),
            failure_advice(&status, totals.acknowledged()),
        )
        .into()),
        StreamEnd::Interrupted => Err(anyhow::anyhow!(
            "interrupted with {} acknowledged; run the same command with --resume to continue",
            count_text(totals.acknowledged(), "document", "documents")
        )
        .into()),
        StreamEnd::Completed => {
            if let Err(error) = read_result {
                return Err(anyhow::anyhow!(
                    "{error:#}\nThe records before the error were loaded; fix the file and run the same command with --resume."
                )
                .into());
            }
            if totals.rejected + totals.malformed > 0 {
                Ok(Outcome::Incomplete)
            } else {
                Ok(Outcome::Success)
            }
        }
    }
}

/// Describes what a failed stream left unwritten, such as "the 256 documents of 1 unacknowledged
/// batch were not written".
fn unwritten_text(num_batches: usize, num_documents: usize) -> String {
    if num_batches == 0 {
        return "Batches acknowledged before the failure stay written. ".to_owned();
    }
    format!(
        "Batches acknowledged before the failure stay written; the {} of {} {} not written. ",
        count_text(num_documents as u64, "document", "documents"),
        count_text(
            num_batches as u64,
            "unacknowledged batch",
            "unacknowledged batches"
        ),
        if num_documents == 1 { "was" } else { "were" },
    )
}

/// Returns the advice after the stream failed with `status`. Resuming helps after a broken stream
/// or an unavailable indexer. A request that the indexer rejects fails the same way when sent again,
/// so then the advice names what to change first.
fn failure_advice(status: &tonic::Status, num_acknowledged: u64) -> String {
    let resume = if num_acknowledged > 0 {
        " with --resume, which leaves the documents already written untouched"
    } else {
        ""
    };
    match status.code() {
        tonic::Code::InvalidArgument if is_batch_size_rejection(status) => format!(
            "Lower --batch-size to the indexer's ingest.max_batch_documents or below, then run the command again{resume}."
        ),
        tonic::Code::InvalidArgument
        | tonic::Code::NotFound
        | tonic::Code::AlreadyExists
        | tonic::Code::FailedPrecondition
        | tonic::Code::PermissionDenied
        | tonic::Code::Unauthenticated
        | tonic::Code::Unimplemented
        | tonic::Code::OutOfRange => format!(
            "The same command would fail the same way; fix the cause above, then run it again{resume}."
        ),
        _ => "Run the same command with --resume to continue.".to_owned(),
    }
}

/// True when the indexer rejected a batch for its number of documents. Under the field path
/// `documents`, the indexer checks only that number. Invalid single documents come back in the
/// acknowledgement instead.
fn is_batch_size_rejection(status: &tonic::Status) -> bool {
    status.message().starts_with("invalid documents:")
}

/// Returns the format given, or else the one the file extension implies.
fn resolve_format(file: &Path, format: Option<Format>) -> Result<Format, CliError> {
    if let Some(format) = format {
        return Ok(format);
    }
    let extension = file
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        Some("json") => Ok(Format::Json),
        _ => Err(CliError::Usage(format!(
            "cannot tell the format of {} from its extension; pass --format arxiv, jsonl or json",
            file.display()
        ))),
    }
}

fn build_converter(format: Format, mapping: Option<&Path>) -> Result<Converter, CliError> {
    let converter = match (format, mapping) {
        (Format::Arxiv, None) => Converter::Arxiv,
        (Format::Arxiv, Some(_)) => {
            return Err(CliError::Usage(
                "--mapping applies to --format jsonl and json; --format arxiv maps arXiv fields itself".to_owned(),
            ));
        }
        (Format::Jsonl | Format::Json, None) => {
            return Err(CliError::Usage(format!(
                "--format {} needs --mapping FILE to say which record fields become index fields; \
                 for arXiv metadata pass --format arxiv",
                format_name(format)
            )));
        }
        (Format::Jsonl | Format::Json, Some(path)) => Converter::Mapping(Mapping::load(path)?),
    };
    if format == Format::Jsonl && converter.uses_object_key() {
        return Err(CliError::Usage(
            "the mapping takes ids from object keys (id = \"$key\"), which only --format json files have".to_owned(),
        ));
    }
    Ok(converter)
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Arxiv => "arxiv",
        Format::Jsonl => "jsonl",
        Format::Json => "json",
    }
}

/// Describes the index, creating it from `schema_file` when it does not exist and a file is given.
async fn ensure_index(
    services: &Services,
    admin: &mut IndexServiceClient<Channel>,
    name: &str,
    schema_file: Option<&Path>,
) -> Result<pb::IndexInfo, CliError> {
    let request = services.request(pb::DescribeIndexRequest {
        name: name.to_owned(),
    });
    let status = match admin.describe_index(request).await {
        Ok(response) => {
            if schema_file.is_some() {
                eprintln!("index {name:?} exists; --create-index leaves it as it is");
            }
            return Ok(response.into_inner().index.unwrap_or_default());
        }
        Err(status) => status,
    };
    let Some(schema_file) = schema_file.filter(|_| status.code() == tonic::Code::NotFound) else {
        if status.code() == tonic::Code::NotFound {
            return Err(anyhow::anyhow!(
                "index {name:?} does not exist; create it with `docsearch index create {name} --schema FILE`, \
                 or add --create-index FILE to this command"
            )
            .into());
        }
        return Err(CliError::rpc(
            Service::Indexer,
            format!("describing index {name:?}"),
            status,
        ));
    };
    let schema = read_schema(schema_file)?;
    let request = services.request(pb::CreateIndexRequest {
        name: name.to_owned(),
        schema: Some(schema),
    });
    let response = admin.create_index(request).await.map_err(|status| {
        CliError::rpc(Service::Indexer, format!("creating index {name:?}"), status)
    })?;
    eprintln!("created index {name:?} from {}", schema_file.display());
    Ok(response.into_inner().index.unwrap_or_default())
}

/// Checks that every field the converter writes is in the schema, and that every vector the index
/// cannot compute itself is supplied, before any document is sent.
fn check_schema(
    converter: &Converter,
    schema: &pb::IndexSchema,
    index: &str,
) -> Result<(), CliError> {
    let schema_names: Vec<&str> = schema
        .fields
        .iter()
        .map(|field| field.name.as_str())
        .collect();
    for name in converter.field_names() {
        if !schema_names.contains(&name) {
            return Err(anyhow::anyhow!(
                "{} writes field {name:?}, which index {index:?} lacks (its fields: {}); \
                 load into an index whose schema has it, or change the mapping",
                converter.description(),
                schema_names.join(", ")
            )
            .into());
        }
    }
    let supplied = converter.vector_names();
    for field in &schema.fields {
        if let Some(pb::field_schema::Kind::Vector(vector)) = &field.kind
            && vector.embedding_source_fields.is_empty()
            && !supplied.contains(&field.name.as_str())
        {
            return Err(anyhow::anyhow!(
                "index {index:?} needs vector {:?} on every document and has no embedding source fields to compute it; \
                 map a record field holding it under [vector] in the mapping file",
                field.name
            )
            .into());
        }
    }
    Ok(())
}

/// Small batches when the indexer embeds the documents, larger ones when they carry their vectors.
fn default_batch_size(converter: &Converter, schema: &pb::IndexSchema) -> usize {
    let supplied = converter.vector_names();
    let indexer_embeds = schema.fields.iter().any(|field| {
        matches!(&field.kind, Some(pb::field_schema::Kind::Vector(_)))
            && !supplied.contains(&field.name.as_str())
    });
    if indexer_embeds {
        EMBEDDING_BATCH_SIZE
    } else {
        VECTOR_BATCH_SIZE
    }
}

/// Reads and converts the file on its own thread, so that parsing overlaps the stream.
fn spawn_reader(
    file: PathBuf,
    format: Format,
    window: Window,
    converter: Converter,
    items: mpsc::Sender<InputItem>,
) -> std::thread::JoinHandle<anyhow::Result<()>> {
    std::thread::spawn(move || {
        let mut sink = |item: Result<Record, Malformed>| {
            let item = match item {
                Ok(record) => match converter.convert(&record) {
                    Ok(document) => InputItem::Document {
                        line: record.line,
                        document,
                    },
                    Err(reason) => InputItem::Malformed(Malformed {
                        line: record.line,
                        reason,
                    }),
                },
                Err(malformed) => InputItem::Malformed(malformed),
            };
            // Fails once the stream has stopped and dropped the receiver; the read then stops.
            items.blocking_send(item).is_ok()
        };
        match format {
            Format::Json => {
                reader::read_json_document(&file, window, converter.uses_object_key(), &mut sink)
            }
            Format::Arxiv | Format::Jsonl => reader::read_json_lines(&file, window, &mut sink),
        }
    })
}

fn print_summary(file: &Path, index: &str, totals: &Totals, elapsed: std::time::Duration) {
    println!(
        "load of {} into index {index:?} in {}:",
        file.display(),
        elapsed_text(elapsed)
    );
    let records = |count| noun_form(count, "record", "records");
    let documents = |count| noun_form(count, "document", "documents");
    println!("  read:      {:>9} {}", totals.read, records(totals.read));
    println!(
        "  written:   {:>9} {}",
        totals.written,
        documents(totals.written)
    );
    println!(
        "  skipped:   {:>9} {} already in the index",
        totals.skipped,
        documents(totals.skipped)
    );
    println!(
        "  rejected:  {:>9} {}",
        totals.rejected,
        documents(totals.rejected)
    );
    println!(
        "  malformed: {:>9} {}",
        totals.malformed,
        records(totals.malformed)
    );
    println!(
        "  rate:      {:>9.1} documents/s acknowledged",
        rate(totals, elapsed)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure_text(status: tonic::Status, num_batches: usize, num_documents: usize) -> String {
        let end = StreamEnd::Failed {
            status,
            num_unacknowledged_batches: num_batches,
            num_unacknowledged_documents: num_documents,
        };
        match finish(end, Ok(()), &Totals::default()) {
            Err(error) => error.to_string(),
            Ok(outcome) => panic!("a failed stream returned {outcome:?}"),
        }
    }

    #[test]
    fn batch_size_rejection_advises_smaller_batches() {
        let status = tonic::Status::invalid_argument(
            "invalid documents: the batch has 1001 documents; send at most 1000 per batch (the indexer's ingest.max_batch_documents)",
        );
        let text = failure_text(status, 1, 1001);
        assert!(text.contains("Lower --batch-size"), "{text}");
        assert!(!text.contains("--resume"), "nothing was written: {text}");
        assert!(
            text.contains("the 1001 documents of 1 unacknowledged batch were not written"),
            "{text}"
        );
    }

    #[test]
    fn rejected_request_gets_no_resume_advice() {
        let status = tonic::Status::not_found("index \"papers\" not found");
        let text = failure_text(status, 2, 1);
        assert!(text.contains("would fail the same way"), "{text}");
        assert!(!text.contains("--resume"), "{text}");
        assert!(
            text.contains("the 1 document of 2 unacknowledged batches was not written"),
            "{text}"
        );
    }

    #[test]
    fn broken_stream_advises_resume() {
        for status in [
            tonic::Status::unavailable("the indexer is shutting down"),
            tonic::Status::unknown("the indexer ended the stream before the load finished"),
            tonic::Status::deadline_exceeded("deadline"),
        ] {
            let text = failure_text(status, 1, 256);
            assert!(
                text.ends_with("Run the same command with --resume to continue."),
                "{text}"
            );
        }
    }

    #[test]
    fn advice_mentions_resume_after_written_batches() {
        let status =
            tonic::Status::invalid_argument("invalid documents: the batch has 600 documents");
        let advice = failure_advice(&status, 500);
        assert!(advice.contains("Lower --batch-size"), "{advice}");
        assert!(advice.contains("--resume"), "{advice}");
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            resolve_format(Path::new("a.jsonl"), None).expect("jsonl"),
            Format::Jsonl
        );
        assert_eq!(
            resolve_format(Path::new("a.NDJSON"), None).expect("ndjson"),
            Format::Jsonl
        );
        assert_eq!(
            resolve_format(Path::new("a.json"), None).expect("json"),
            Format::Json
        );
        assert_eq!(
            resolve_format(Path::new("a.json"), Some(Format::Arxiv)).expect("explicit"),
            Format::Arxiv
        );
        assert!(matches!(
            resolve_format(Path::new("a.txt"), None),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn converter_needs_matching_mapping() {
        assert!(matches!(
            build_converter(Format::Arxiv, None),
            Ok(Converter::Arxiv)
        ));
        assert!(matches!(
            build_converter(Format::Arxiv, Some(Path::new("m.toml"))),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            build_converter(Format::Jsonl, None),
            Err(CliError::Usage(_))
        ));
    }

    fn arxiv_schema(with_sources: bool) -> pb::IndexSchema {
        let text = |name: &str| pb::FieldSchema {
            name: name.to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
        };
        let mut fields: Vec<pb::FieldSchema> = crate::input::arxiv::FIELD_NAMES
            .into_iter()
            .map(text)
            .collect();
        fields.push(pb::FieldSchema {
            name: "embedding".to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Vector(pb::VectorField {
                dimension: 384,
                embedding_source_fields: if with_sources {
                    vec!["title".to_owned()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            })),
        });
        pb::IndexSchema { fields }
    }

    #[test]
    fn schema_check_names_missing_field() {
        let mut schema = arxiv_schema(true);
        assert!(check_schema(&Converter::Arxiv, &schema, "papers").is_ok());
        schema.fields.retain(|field| field.name != "year");
        let error =
            check_schema(&Converter::Arxiv, &schema, "papers").expect_err("year is missing");
        assert!(error.to_string().contains("\"year\""), "{error}");
    }

    #[test]
    fn schema_check_needs_vectors_without_sources() {
        let error =
            check_schema(&Converter::Arxiv, &arxiv_schema(false), "papers").expect_err("no vector");
        assert!(error.to_string().contains("\"embedding\""), "{error}");
    }

    #[test]
    fn batch_size_follows_who_embeds() {
        assert_eq!(
            default_batch_size(&Converter::Arxiv, &arxiv_schema(true)),
            EMBEDDING_BATCH_SIZE
        );
        let mapping =
            Mapping::parse("id = \"id\"\n[vector]\nembedding = \"vec\"\n").expect("valid mapping");
        assert_eq!(
            default_batch_size(&Converter::Mapping(mapping), &arxiv_schema(true)),
            VECTOR_BATCH_SIZE
        );
    }
}
