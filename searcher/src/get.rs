//! Get: fetches documents by id with one pipelined HGETALL per id.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use docsearch_runtime::fields::{decode_value, decode_vector};
use docsearch_runtime::keys::check_index_name;
use docsearch_runtime::schema::{Field, FieldKind, Schema};
use docsearch_runtime::validate::quote;
use tracing::instrument;

use crate::error::SearchError;
use crate::request::{check_document_id, field_names};
use crate::searcher::Searcher;

/// Maximum number of ids in one Get request.
pub const MAX_GET_IDS: usize = 1000;

/// A Get request that passed the checks that need no schema.
struct GetRequest {
    index: String,
    ids: Vec<String>,
    return_fields: Vec<String>,
    include_vectors: bool,
}

/// The fields a Get request returns.
struct Selection {
    fields: Vec<Field>,
    /// Empty unless the request includes vectors.
    vector_fields: Vec<Field>,
}

impl Searcher {
    /// Runs one Get request. Documents come back in request order, and a missing id fails the whole
    /// request with NOT_FOUND.
    #[instrument(name = "searcher.get", skip_all, fields(index = %request.index, num_ids = request.ids.len()))]
    pub async fn get(&self, request: pb::GetRequest) -> Result<pb::GetResponse, SearchError> {
        let request = parse(request)?;
        self.within_timeout("fetching documents", async {
            let schema = self.load_schema(&request.index).await?;
            let selection = select(&request, &schema)?;
            let hashes = self.fetch_hashes(&request.index, &request.ids).await?;
            let documents = request
                .ids
                .iter()
                .zip(hashes)
                .map(|(id, hash)| document(&request.index, id, hash, &selection))
                .collect();
            Ok(pb::GetResponse { documents })
        })
        .await
    }

    /// Reads the hash of each document, in `ids` order.
    async fn fetch_hashes(
        &self,
        index: &str,
        ids: &[String],
    ) -> Result<Vec<HashMap<String, Vec<u8>>>, SearchError> {
        let mut pipeline = redis::pipe();
        for id in ids {
            pipeline.hgetall(self.layout().document_key(index, id));
        }
        let hashes: Vec<HashMap<String, Vec<u8>>> = pipeline
            .query_async(&mut self.connection())
            .await
            .map_err(|error| {
                SearchError::redis("fetching documents", index, error).with_ids(ids)
            })?;

        // Redis has no empty hashes, so an empty reply means that the document does not exist.
        let mut missing: Vec<String> = Vec::new();
        for (id, hash) in ids.iter().zip(&hashes) {
            if hash.is_empty() && !missing.contains(id) {
                missing.push(id.clone());
            }
        }
        if !missing.is_empty() {
            return Err(SearchError::DocumentsNotFound {
                index: index.to_owned(),
                ids: missing,
            });
        }
        Ok(hashes)
    }
}

fn parse(request: pb::GetRequest) -> Result<GetRequest, SearchError> {
    let pb::GetRequest {
        index,
        ids,
        return_fields,
        include_vectors,
    } = request;

    check_index_name(&index)?;
    if ids.is_empty() {
        return Err(SearchError::invalid(
            "ids",
            "the list is empty; send 1 to 1000 document ids",
        ));
    }
    if ids.len() > MAX_GET_IDS {
        return Err(SearchError::invalid(
            "ids",
            format!(
                "the list has {} ids; send at most {MAX_GET_IDS} per request",
                ids.len()
            ),
        ));
    }
    for (position, id) in ids.iter().enumerate() {
        check_document_id(id, &format!("ids[{position}]"))?;
    }
    for (position, name) in return_fields.iter().enumerate() {
        let path = format!("return_fields[{position}]");
        if name.is_empty() {
            return Err(SearchError::invalid(
                path,
                "the field name is empty; remove it",
            ));
        }
        if return_fields[..position].contains(name) {
            return Err(SearchError::invalid(
                path,
                format!("{} is listed twice; list each field once", quote(name)),
            ));
        }
    }
    Ok(GetRequest {
        index,
        ids,
        return_fields,
        include_vectors,
    })
}

/// Resolves the returned fields against the schema. An empty `return_fields` returns every field; a
/// VECTOR field named in it needs `include_vectors`.
fn select(request: &GetRequest, schema: &Schema) -> Result<Selection, SearchError> {
    let mut selected: Vec<Field> = Vec::new();
    for (position, name) in request.return_fields.iter().enumerate() {
        let Some(field) = schema.field(name) else {
            return Err(SearchError::invalid(
                format!("return_fields[{position}]"),
                format!(
                    "{} is not a field of the index; name one of {}",
                    quote(name),
                    field_names(schema)
                ),
            ));
        };
        if matches!(field.kind, FieldKind::Vector(_)) && !request.include_vectors {
            return Err(SearchError::invalid(
                format!("return_fields[{position}]"),
                format!(
                    "{} is a VECTOR field; set include_vectors to return it",
                    quote(name)
                ),
            ));
        }
        selected.push(field.clone());
    }

    let (vector_fields, fields): (Vec<Field>, Vec<Field>) = if selected.is_empty() {
        schema.fields().iter().cloned().partition(is_vector)
    } else {
        selected.into_iter().partition(is_vector)
    };
    // A request that names only non-vector fields but includes vectors gets every vector.
    let vector_fields = match (request.include_vectors, vector_fields.is_empty()) {
        (false, _) => Vec::new(),
        (true, false) => vector_fields,
        (true, true) => schema
            .fields()
            .iter()
            .filter(|field| is_vector(field))
            .cloned()
            .collect(),
    };
    Ok(Selection {
        fields,
        vector_fields,
    })
}

fn is_vector(field: &Field) -> bool {
    matches!(field.kind, FieldKind::Vector(_))
}

fn document(
    index: &str,
    id: &str,
    hash: HashMap<String, Vec<u8>>,
    selection: &Selection,
) -> pb::Document {
    let mut fields = HashMap::with_capacity(selection.fields.len());
    for field in &selection.fields {
        let Some(bytes) = hash.get(&field.name) else {
            continue;
        };
        match decode_value(field, bytes) {
            Some(value) => {
                fields.insert(field.name.clone(), value);
            }
            None => tracing::warn!(
                index,
                document_id = id,
                field = field.name,
                field_type = field.type_name(),
                "stored value does not parse as the field's type; leaving it out of the document"
            ),
        }
    }

    let mut vectors = HashMap::with_capacity(selection.vector_fields.len());
    for field in &selection.vector_fields {
        let Some(bytes) = hash.get(&field.name) else {
            continue;
        };
        match decode_vector(bytes) {
            Some(vector) => {
                vectors.insert(field.name.clone(), vector);
            }
            None => tracing::warn!(
                index,
                document_id = id,
                field = field.name,
                num_bytes = bytes.len(),
                "stored vector is not a whole number of FLOAT32 values; leaving it out of the document"
            ),
        }
    }

    pb::Document {
        id: id.to_owned(),
        fields,
        vectors,
    }
}
