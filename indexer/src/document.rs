//! Validation and encoding of one incoming document against an index schema. A document that fails
//! becomes a `DocumentError` and never fails its batch.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use docsearch_runtime::fields::encode_value;
pub use docsearch_runtime::keys::check_document_id;
use docsearch_runtime::schema::{FieldKind, Schema, VectorOptions};
use docsearch_runtime::validate::quote;
use docsearch_runtime::vector;

/// A document that passed validation, encoded for its hash.
#[derive(Debug)]
pub struct ValidDocument {
    pub position: u32,
    pub id: String,
    /// Hash field names and encoded values, vectors included once embedded.
    pub fields: Vec<(String, Vec<u8>)>,
    /// Vectors still to be computed, from the text of their source fields.
    pub pending_embeddings: Vec<PendingEmbedding>,
}

/// A vector the indexer must compute by embedding the document's text.
#[derive(Debug)]
pub struct PendingEmbedding {
    pub field: String,
    pub model: String,
    pub text: String,
}

/// Builds the error reported for one document.
pub fn rejection(
    position: u32,
    document_id: &str,
    code: pb::DocumentErrorCode,
    field: &str,
    message: impl Into<String>,
) -> pb::DocumentError {
    pb::DocumentError {
        position,
        document_id: document_id.to_owned(),
        code: code as i32,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Validates and encodes one document.
pub fn validate(
    schema: &Schema,
    position: u32,
    document: pb::Document,
    max_document_bytes: usize,
) -> Result<ValidDocument, pb::DocumentError> {
    let pb::Document {
        id,
        fields,
        vectors,
    } = document;
    check_id(position, &id)?;
    let reject =
        |code, field: &str, message: String| rejection(position, &id, code, field, message);

    let mut encoded = Vec::with_capacity(fields.len() + vectors.len());
    let mut texts: HashMap<&str, &str> = HashMap::new();
    for (name, value) in &fields {
        let Some(field) = schema.field(name) else {
            return Err(reject(
                pb::DocumentErrorCode::InvalidField,
                name,
                format!(
                    "field {} is not in the index schema; remove it or add it to the schema",
                    quote(name)
                ),
            ));
        };
        let bytes = encode_value(field, value)
            .map_err(|error| reject(pb::DocumentErrorCode::InvalidField, name, error.message))?;
        if let Some(pb::field_value::Kind::Text(text)) = &value.kind {
            texts.insert(name.as_str(), text.as_str());
        }
        encoded.push((name.clone(), bytes));
    }

    let mut pending_embeddings = Vec::new();
    for (field, options) in schema.vector_fields() {
        match vectors.get(&field.name) {
            Some(values) => {
                vector::check(&values.values, options.dimension, options.metric).map_err(
                    |error| {
                        reject(
                            pb::DocumentErrorCode::InvalidVector,
                            &field.name,
                            error.message,
                        )
                    },
                )?;
                encoded.push((field.name.clone(), vector::encode(&values.values)));
            }
            None => {
                let pending =
                    pending_embedding(&field.name, options, &texts).map_err(|message| {
                        reject(pb::DocumentErrorCode::InvalidVector, &field.name, message)
                    })?;
                pending_embeddings.push(pending);
            }
        }
    }
    if let Some(name) = vectors.keys().find(|name| {
        !matches!(schema.field(name), Some(field) if matches!(field.kind, FieldKind::Vector(_)))
    }) {
        return Err(reject(
            pb::DocumentErrorCode::InvalidVector,
            name,
            format!("{} is not a VECTOR field of the index; remove it from vectors", quote(name)),
        ));
    }

    let num_bytes: usize = encoded
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum::<usize>()
        + pending_embeddings
            .iter()
            .map(|pending| pending.text.len())
            .sum::<usize>();
    if num_bytes > max_document_bytes {
        return Err(reject(
            pb::DocumentErrorCode::InvalidField,
            "",
            format!(
                "the document is {num_bytes} bytes; send at most {max_document_bytes} bytes per document"
            ),
        ));
    }

    Ok(ValidDocument {
        position,
        id,
        fields: encoded,
        pending_embeddings,
    })
}

fn check_id(position: u32, id: &str) -> Result<(), pb::DocumentError> {
    check_document_id(id).map_err(|message| {
        rejection(
            position,
            id,
            pb::DocumentErrorCode::InvalidId,
            "id",
            message,
        )
    })
}

/// Plans the embedding of a missing vector from the field's source texts.
fn pending_embedding(
    field: &str,
    options: &VectorOptions,
    texts: &HashMap<&str, &str>,
) -> Result<PendingEmbedding, String> {
    if options.embedding_source_fields.is_empty() {
        return Err(format!(
            "the document has no vector for {}; send one with {} values",
            quote(field),
            options.dimension
        ));
    }
    let parts: Vec<&str> = options
        .embedding_source_fields
        .iter()
        .filter_map(|source| texts.get(source.as_str()).copied())
        .filter(|text| !text.trim().is_empty())
        .collect();
    if parts.is_empty() {
        return Err(format!(
            "the document has no vector for {} and no text to embed it from; send the vector or a value for {}",
            quote(field),
            options.embedding_source_fields.join(" or ")
        ));
    }
    Ok(PendingEmbedding {
        field: field.to_owned(),
        model: options.model.clone(),
        text: parts.join("\n"),
    })
}

#[cfg(test)]
mod tests;
