//! Writing batches of documents: validate each document, skip those already stored on request, embed
//! those that arrive without a vector, then write the rest to Redis in one MULTI/EXEC transaction, so a
//! batch is either fully written or not at all.

use std::collections::HashSet;

use docsearch_proto::v1 as pb;
use docsearch_runtime::catalog::{Catalog, IndexEntry};
use docsearch_runtime::keys::check_index_name;
use docsearch_runtime::vector;
use redis::aio::ConnectionManager;
use tracing::{debug, warn};

use crate::config::IngestConfig;
use crate::document::{ValidDocument, check_document_id, rejection, validate};
use crate::error::IndexerError;
use crate::suggestions;
use docsearch_embed::SharedEmbedder;

/// Maximum ids in one Delete request.
pub const MAX_DELETE_IDS: usize = 10_000;

/// Result of writing one batch.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub num_written: u32,
    pub num_skipped: u32,
    /// Rejected documents, in batch order.
    pub errors: Vec<pb::DocumentError>,
}

/// Result of a Delete request.
#[derive(Debug, Default)]
pub struct DeleteOutcome {
    pub num_deleted: u32,
    pub missing_ids: Vec<String>,
}

/// Writes and deletes documents of any index in the catalog.
#[derive(Clone)]
pub struct Ingestor {
    catalog: Catalog,
    connection: ConnectionManager,
    embedder: Option<SharedEmbedder>,
    limits: IngestConfig,
}

impl Ingestor {
    pub fn new(
        catalog: Catalog,
        connection: ConnectionManager,
        embedder: Option<SharedEmbedder>,
        limits: IngestConfig,
    ) -> Self {
        Self {
            catalog,
            connection,
            embedder,
            limits,
        }
    }

    /// Writes one batch. Invalid documents are reported in the outcome; an unknown index, an oversized
    /// batch or an unreachable Redis fails the whole batch, and then nothing of it is written.
    #[tracing::instrument(name = "ingest.write_batch", skip_all, fields(index = %index, num_documents = documents.len(), skip_existing))]
    pub async fn write_batch(
        &self,
        index: &str,
        documents: Vec<pb::Document>,
        skip_existing: bool,
    ) -> Result<BatchOutcome, IndexerError> {
        let entry = self.load_index(index).await?;
        if documents.len() > self.limits.max_batch_documents {
            return Err(IndexerError::invalid(
                "documents",
                format!(
                    "the batch has {} documents; send at most {} per batch (the indexer's ingest.max_batch_documents)",
                    documents.len(),
                    self.limits.max_batch_documents
                ),
            ));
        }

        let mut outcome = BatchOutcome::default();
        let mut valid = self.validate_all(&entry, documents, &mut outcome.errors);
        if skip_existing {
            let before = valid.len();
            valid = self.drop_existing(index, valid).await?;
            outcome.num_skipped = (before - valid.len()) as u32;
        }
        let valid = self.embed_missing_vectors(valid, &mut outcome.errors).await;

        self.write_documents(&entry, &valid).await?;
        outcome.num_written = valid.len() as u32;
        outcome.errors.sort_by_key(|error| error.position);
        debug!(
            index,
            num_written = outcome.num_written,
            num_skipped = outcome.num_skipped,
            num_errors = outcome.errors.len(),
            "batch written"
        );
        Ok(outcome)
    }

    /// Deletes documents by id. A repeated id counts once, so `missing_ids` lists only ids that no
    /// document had, and the suggestion dictionary is updated once per document.
    #[tracing::instrument(name = "ingest.delete", skip_all, fields(index = %index, num_ids = ids.len()))]
    pub async fn delete(
        &self,
        index: &str,
        ids: Vec<String>,
    ) -> Result<DeleteOutcome, IndexerError> {
        let entry = self.load_index(index).await?;
        let ids = check_delete_ids(ids)?;
        let layout = self.catalog.layout();
        let suggest_field = entry
            .schema
            .suggest_field()
            .map(|field| field.name.as_str());
        let mut pipeline = redis::pipe();
        pipeline.atomic();
        for id in &ids {
            if let Some(field) = suggest_field {
                suggestions::queue_update(&mut pipeline, layout, index, field, id, None);
            }
            pipeline.del(layout.document_key(index, id));
        }
        let mut connection = self.connection.clone();
        let deleted: Vec<u32> = pipeline
            .query_async(&mut connection)
            .await
            .map_err(|error| IndexerError::redis("deleting documents", error))?;

        let mut outcome = DeleteOutcome::default();
        for (id, num_deleted) in ids.into_iter().zip(deleted) {
            if num_deleted == 0 {
                outcome.missing_ids.push(id);
            } else {
                outcome.num_deleted += 1;
            }
        }
        Ok(outcome)
    }

    /// Checks the index name and reads the index's catalog entry: INVALID_ARGUMENT for a bad name,
    /// NOT_FOUND for an unknown index.
    pub async fn load_index(&self, index: &str) -> Result<IndexEntry, IndexerError> {
        check_index_name(index).map_err(IndexerError::InvalidArgument)?;
        self.catalog
            .get(index)
            .await
            .map_err(|error| IndexerError::catalog("reading the index catalog", error))
    }

    fn validate_all(
        &self,
        entry: &IndexEntry,
        documents: Vec<pb::Document>,
        errors: &mut Vec<pb::DocumentError>,
    ) -> Vec<ValidDocument> {
        let mut seen_ids: HashSet<String> = HashSet::with_capacity(documents.len());
        let mut valid = Vec::with_capacity(documents.len());
        for (position, document) in documents.into_iter().enumerate() {
            let position = position as u32;
            if !document.id.is_empty() && !seen_ids.insert(document.id.clone()) {
                errors.push(rejection(
                    position,
                    &document.id,
                    pb::DocumentErrorCode::InvalidId,
                    "id",
                    "the id appears earlier in the same batch; send each document once per batch",
                ));
                continue;
            }
            match validate(
                &entry.schema,
                position,
                document,
                self.limits.max_document_bytes,
            ) {
                Ok(document) => valid.push(document),
                Err(error) => errors.push(error),
            }
        }
        valid
    }

    async fn drop_existing(
        &self,
        index: &str,
        documents: Vec<ValidDocument>,
    ) -> Result<Vec<ValidDocument>, IndexerError> {
        if documents.is_empty() {
            return Ok(documents);
        }
        let layout = self.catalog.layout();
        let mut pipeline = redis::pipe();
        for document in &documents {
            pipeline.exists(layout.document_key(index, &document.id));
        }
        let mut connection = self.connection.clone();
        let exists: Vec<bool> = pipeline
            .query_async(&mut connection)
            .await
            .map_err(|error| IndexerError::redis("checking which documents exist", error))?;
        Ok(documents
            .into_iter()
            .zip(exists)
            .filter_map(|(document, exists)| (!exists).then_some(document))
            .collect())
    }

    /// Computes the vectors that documents left out. Documents whose text cannot be embedded move to
    /// `errors`.
    #[tracing::instrument(name = "ingest.embed", skip_all, fields(num_documents = documents.len()))]
    async fn embed_missing_vectors(
        &self,
        documents: Vec<ValidDocument>,
        errors: &mut Vec<pb::DocumentError>,
    ) -> Vec<ValidDocument> {
        if documents
            .iter()
            .all(|document| document.pending_embeddings.is_empty())
        {
            return documents;
        }
        let Some(embedder) = &self.embedder else {
            let (pending, ready): (Vec<_>, Vec<_>) = documents
                .into_iter()
                .partition(|document| !document.pending_embeddings.is_empty());
            for document in pending {
                errors.push(rejection(
                    document.position,
                    &document.id,
                    pb::DocumentErrorCode::EmbeddingFailed,
                    &document.pending_embeddings[0].field,
                    "the document has no vector and the indexer has no embedding model; send the vector, or configure embedding.model_dir (DOCSEARCH__EMBEDDING__MODEL_DIR)",
                ));
            }
            return ready;
        };

        let mut ready = Vec::with_capacity(documents.len());
        let mut to_embed = Vec::new();
        for document in documents {
            let wrong_model = document.pending_embeddings.iter().find(|pending| {
                !pending.model.is_empty() && pending.model != embedder.model_name()
            });
            match wrong_model {
                Some(pending) => errors.push(rejection(
                    document.position,
                    &document.id,
                    pb::DocumentErrorCode::EmbeddingFailed,
                    &pending.field,
                    format!(
                        "the index embeds {} with model {:?} but this indexer runs {:?}; send the vector or run an indexer with that model",
                        pending.field,
                        pending.model,
                        embedder.model_name()
                    ),
                )),
                None if document.pending_embeddings.is_empty() => ready.push(document),
                None => to_embed.push(document),
            }
        }

        let texts: Vec<String> = to_embed
            .iter()
            .flat_map(|document| {
                document
                    .pending_embeddings
                    .iter()
                    .map(|pending| pending.text.clone())
            })
            .collect();
        let vectors = embedder.embed_each(texts).await;
        let mut vectors = vectors.into_iter();
        for mut document in to_embed {
            let pending = std::mem::take(&mut document.pending_embeddings);
            let mut failure = None;
            for (pending, result) in pending.into_iter().zip(vectors.by_ref()) {
                match result {
                    Ok(values) => document
                        .fields
                        .push((pending.field, vector::encode(&values))),
                    Err(message) => failure = Some((pending.field, message)),
                }
            }
            match failure {
                None => ready.push(document),
                Some((field, message)) => {
                    warn!(document_id = %document.id, field, %message, "failed to embed a document; rejected it");
                    errors.push(rejection(
                        document.position,
                        &document.id,
                        pb::DocumentErrorCode::EmbeddingFailed,
                        &field,
                        format!("failed to embed the document's text: {message}; send the vector instead"),
                    ));
                }
            }
        }
        ready
    }

    /// Replaces each document's hash, and updates the suggestion dictionary, in one transaction: all
    /// documents are written or none is.
    async fn write_documents(
        &self,
        entry: &IndexEntry,
        documents: &[ValidDocument],
    ) -> Result<(), IndexerError> {
        if documents.is_empty() {
            return Ok(());
        }
        let index = entry.name.as_str();
        let layout = self.catalog.layout();
        let suggest_field = entry
            .schema
            .suggest_field()
            .map(|field| field.name.as_str());
        let mut pipeline = redis::pipe();
        pipeline.atomic();
        for document in documents {
            if let Some(field) = suggest_field {
                let value = document
                    .fields
                    .iter()
                    .find(|(name, _)| name == field)
                    .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok());
                suggestions::queue_update(&mut pipeline, layout, index, field, &document.id, value);
            }
            let key = layout.document_key(index, &document.id);
            pipeline.del(&key).ignore();
            if !document.fields.is_empty() {
                pipeline.hset_multiple(&key, &document.fields).ignore();
            }
        }
        let mut connection = self.connection.clone();
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(|error| IndexerError::redis("writing a batch", error))
    }
}

/// Checks the ids of a Delete request with the same rules as Upsert and Ingest, and drops repeated
/// ids, keeping the first occurrence of each.
fn check_delete_ids(ids: Vec<String>) -> Result<Vec<String>, IndexerError> {
    if ids.is_empty() {
        return Err(IndexerError::invalid(
            "ids",
            "the list is empty; send at least one document id",
        ));
    }
    if ids.len() > MAX_DELETE_IDS {
        return Err(IndexerError::invalid(
            "ids",
            format!(
                "the list has {} ids; send at most {MAX_DELETE_IDS} per request",
                ids.len()
            ),
        ));
    }
    for (position, id) in ids.iter().enumerate() {
        check_document_id(id)
            .map_err(|message| IndexerError::invalid(format!("ids[{position}]"), message))?;
    }
    let mut seen = HashSet::with_capacity(ids.len());
    Ok(ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    fn invalid_message(result: Result<Vec<String>, IndexerError>) -> String {
        match result {
            Err(IndexerError::InvalidArgument(invalid)) => invalid.to_string(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn delete_ids_drop_repeats_in_order() {
        let checked = check_delete_ids(ids(&["b", "a", "b", "c", "a"])).expect("valid ids");
        assert_eq!(checked, ids(&["b", "a", "c"]));
    }

    #[test]
    fn delete_ids_reject_empty_list() {
        let message = invalid_message(check_delete_ids(Vec::new()));
        assert!(
            message.starts_with("invalid ids: the list is empty"),
            "{message}"
        );
    }

    #[test]
    fn delete_ids_reject_invalid_ids() {
        let message = invalid_message(check_delete_ids(ids(&["ok", ""])));
        assert!(
            message.starts_with("invalid ids[1]: the id is empty"),
            "{message}"
        );

        let long = "x".repeat(100_000);
        let message = invalid_message(check_delete_ids(vec![long]));
        assert!(
            message
                .starts_with("invalid ids[0]: the id is 100000 bytes long; use at most 512 bytes"),
            "{message}"
        );

        let message = invalid_message(check_delete_ids(ids(&["a\nb"])));
        assert!(message.contains("control characters"), "{message}");
    }

    #[test]
    fn delete_ids_reject_too_many() {
        let many = vec!["x".to_owned(); MAX_DELETE_IDS + 1];
        let message = invalid_message(check_delete_ids(many));
        assert!(message.contains("send at most 10000"), "{message}");
    }
}
