//! Validation of a Search request: first the checks that need no schema ([`KnnRequest::parse`]), then
//! the checks against the index schema ([`KnnRequest::bind`]), which yield a [`KnnQuery`] ready to run.

use docsearch_proto::v1 as pb;
use docsearch_runtime::InvalidValue;
use docsearch_runtime::keys::check_index_name;
use docsearch_runtime::schema::{
    DistanceMetric, Field, FieldKind, Schema, VectorAlgorithm, VectorOptions,
};
use docsearch_runtime::validate::quote;
use docsearch_runtime::vector;

use crate::config::SearchConfig;
use crate::error::SearchError;
use crate::filter;

/// Maximum length of a document id, in bytes.
pub const MAX_ID_BYTES: usize = 512;
/// Largest HNSW candidate list size a query may request.
pub const MAX_EF_RUNTIME: u32 = 4096;

/// The source of the query vector.
#[derive(Debug, Clone, PartialEq)]
pub enum QuerySource {
    Vector(Vec<f32>),
    /// Text to embed with the searcher's model.
    Text(String),
    /// The stored vector of a document of the index.
    SimilarTo {
        id: String,
        exclude: bool,
    },
}

/// RediSearch's method of combining KNN with a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HybridPolicy {
    /// Candidates fetched in batches; `None` lets RediSearch choose the batch size.
    Batches {
        batch_size: Option<u32>,
    },
    AdhocBruteForce,
}

/// A KNN request that passed the checks that need no schema.
#[derive(Debug, Clone)]
pub struct KnnRequest {
    pub index: String,
    /// `None` only for `count_only` requests.
    source: Option<QuerySource>,
    vector_options: pb::VectorOptions,
    hybrid_policy: Option<HybridPolicy>,
    filter: Option<pb::Filter>,
    k: usize,
    offset: usize,
    return_fields: Vec<String>,
    count_only: bool,
}

/// The VECTOR field a query searches.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorTarget {
    pub name: String,
    pub options: VectorOptions,
}

/// A KNN query checked against the index schema.
#[derive(Debug, Clone)]
pub struct KnnQuery {
    pub index: String,
    pub source: Option<QuerySource>,
    pub target: VectorTarget,
    pub ef_runtime: Option<u32>,
    pub hybrid_policy: Option<HybridPolicy>,
    /// The compiled filter; `None` passes every document.
    pub filter: Option<String>,
    pub k: usize,
    pub offset: usize,
    /// Fields returned with each hit, none of them VECTOR fields.
    pub return_fields: Vec<Field>,
    pub count_only: bool,
}

impl KnnQuery {
    pub fn metric(&self) -> DistanceMetric {
        self.target.options.metric
    }
}

impl KnnRequest {
    /// Checks everything that needs no schema. Modes and features this searcher does not serve yet are
    /// rejected with UNIMPLEMENTED, after the checks that apply to every mode.
    pub fn parse(request: pb::SearchRequest, limits: &SearchConfig) -> Result<Self, SearchError> {
        let pb::SearchRequest {
            index,
            mode,
            vector,
            text,
            similar_to_id,
            exclude_similar_document,
            vector_options,
            text_options,
            fusion,
            filter,
            k,
            offset,
            return_fields,
            sort_by,
            count_only,
            facets,
            lucky,
        } = request;

        check_index_name(&index)?;
        let mode = parse_mode(mode, lucky)?;
        let (k, offset) = check_window(k, offset, count_only, lucky, limits)?;
        check_return_fields(&return_fields)?;

        match mode {
            pb::SearchMode::Unspecified | pb::SearchMode::Knn => {}
            other => {
                return Err(SearchError::unimplemented(format!(
                    "mode {} is not served yet; use SEARCH_MODE_KNN{}",
                    other.as_str_name(),
                    if lucky {
                        " (a lucky request without a mode runs HYBRID, so set mode KNN)"
                    } else {
                        ""
                    }
                )));
            }
        }
        if sort_by.is_some() {
            return Err(SearchError::unimplemented(
                "sort_by is not served yet; leave it unset to rank by similarity",
            ));
        }
        if !facets.is_empty() {
            return Err(SearchError::unimplemented(
                "facets are not served yet; leave the list empty",
            ));
        }

        // The checks of a KNN query.
        if text_options.is_some() {
            return Err(SearchError::invalid(
                "text_options",
                "text options apply to modes TEXT and HYBRID; remove them for a KNN query",
            ));
        }
        if fusion.is_some() {
            return Err(SearchError::invalid(
                "fusion",
                "fusion applies to mode HYBRID; remove it for a KNN query",
            ));
        }
        let vector_options = vector_options.unwrap_or_default();
        let hybrid_policy = parse_vector_options(&vector_options)?;
        let source = parse_source(
            vector,
            text,
            similar_to_id,
            exclude_similar_document,
            count_only,
        )?;

        Ok(Self {
            index,
            source,
            vector_options,
            hybrid_policy,
            filter,
            k,
            offset,
            return_fields,
            count_only,
        })
    }

    /// Checks the request against the index schema.
    pub fn bind(self, schema: &Schema) -> Result<KnnQuery, SearchError> {
        let KnnRequest {
            index,
            source,
            vector_options,
            hybrid_policy,
            filter,
            k,
            offset,
            return_fields,
            count_only,
        } = self;

        let (field, options) = schema.resolve_vector_field(&vector_options.field)?;
        let target = VectorTarget {
            name: field.name.clone(),
            options: options.clone(),
        };
        check_model(&vector_options.model, &target)?;
        let ef_runtime = check_ef_runtime(vector_options.ef_runtime, &target)?;
        if let Some(QuerySource::Vector(values)) = &source {
            vector::check(values, target.options.dimension)
                .map_err(|error| error.within("vector.values"))?;
        }

        let filter = match &filter {
            Some(filter) => filter::compile(filter, schema)?,
            None => None,
        };
        if hybrid_policy.is_some() && filter.is_none() {
            return Err(SearchError::invalid(
                "vector_options.hybrid_policy",
                "a hybrid policy applies only to a query with a filter; remove it or add a filter",
            ));
        }
        let return_fields = resolve_return_fields(&return_fields, schema)?;

        Ok(KnnQuery {
            index,
            source,
            target,
            ef_runtime,
            hybrid_policy,
            filter,
            k,
            offset,
            return_fields,
            count_only,
        })
    }
}

fn parse_mode(mode: i32, lucky: bool) -> Result<pb::SearchMode, SearchError> {
    match pb::SearchMode::try_from(mode) {
        // An unspecified mode is KNN, except that a lucky request is HYBRID.
        Ok(pb::SearchMode::Unspecified) if lucky => Ok(pb::SearchMode::Hybrid),
        Ok(mode) => Ok(mode),
        Err(_) => Err(SearchError::invalid(
            "mode",
            format!("{mode} is not a search mode; use SEARCH_MODE_KNN, _RANGE, _TEXT or _HYBRID"),
        )),
    }
}

/// Checks `k` and `offset`; a lucky request returns the single best hit.
fn check_window(
    k: u32,
    offset: u32,
    count_only: bool,
    lucky: bool,
    limits: &SearchConfig,
) -> Result<(usize, usize), SearchError> {
    if lucky {
        if count_only {
            return Err(SearchError::invalid(
                "lucky",
                "a lucky request returns one hit, but count_only returns none; set one of them",
            ));
        }
        if k > 1 || offset > 0 {
            return Err(SearchError::invalid(
                "k",
                format!(
                    "a lucky request returns the single best hit, so k = {k} and offset = {offset} contradict it; leave k at 0 or 1 and offset at 0"
                ),
            ));
        }
        return Ok((1, 0));
    }

    let min_k = if count_only { 0 } else { 1 };
    if k < min_k || k > limits.max_k {
        let hint = if count_only {
            String::new()
        } else {
            " (k may be 0 only with count_only)".to_owned()
        };
        return Err(SearchError::invalid(
            "k",
            format!("{k} is out of range; use {min_k} to {}{hint}", limits.max_k),
        ));
    }
    let window = u64::from(offset) + u64::from(k);
    if window > u64::from(limits.max_window) {
        return Err(SearchError::invalid(
            "offset",
            format!(
                "offset + k = {window} exceeds {}; page less deep or narrow the query with a filter",
                limits.max_window
            ),
        ));
    }
    Ok((k as usize, offset as usize))
}

fn check_return_fields(names: &[String]) -> Result<(), SearchError> {
    for (position, name) in names.iter().enumerate() {
        let path = format!("return_fields[{position}]");
        if name.is_empty() {
            return Err(SearchError::invalid(
                path,
                "the field name is empty; remove it",
            ));
        }
        if names[..position].contains(name) {
            return Err(SearchError::invalid(
                path,
                format!("{} is listed twice; list each field once", quote(name)),
            ));
        }
    }
    Ok(())
}

fn parse_vector_options(options: &pb::VectorOptions) -> Result<Option<HybridPolicy>, SearchError> {
    let pb::VectorOptions {
        field: _,
        model: _,
        ef_runtime,
        hybrid_policy,
        batch_size,
        distance_threshold,
    } = *options;

    if distance_threshold != 0.0 {
        return Err(SearchError::invalid(
            "vector_options.distance_threshold",
            format!("{distance_threshold} applies to mode RANGE only; leave it 0 for a KNN query"),
        ));
    }
    if ef_runtime > MAX_EF_RUNTIME {
        return Err(SearchError::invalid(
            "vector_options.ef_runtime",
            format!(
                "{ef_runtime} is out of range; use 1 to {MAX_EF_RUNTIME}, or 0 for the index's value"
            ),
        ));
    }
    let policy = match pb::HybridPolicy::try_from(hybrid_policy) {
        Ok(pb::HybridPolicy::Unspecified) => None,
        Ok(pb::HybridPolicy::Batches) => Some(HybridPolicy::Batches {
            batch_size: (batch_size != 0).then_some(batch_size),
        }),
        Ok(pb::HybridPolicy::AdhocBf) => Some(HybridPolicy::AdhocBruteForce),
        Err(_) => {
            return Err(SearchError::invalid(
                "vector_options.hybrid_policy",
                format!(
                    "{hybrid_policy} is not a hybrid policy; use HYBRID_POLICY_BATCHES or HYBRID_POLICY_ADHOC_BF, or leave it unset"
                ),
            ));
        }
    };
    if batch_size != 0 && !matches!(policy, Some(HybridPolicy::Batches { .. })) {
        return Err(SearchError::invalid(
            "vector_options.batch_size",
            format!(
                "{batch_size} applies to hybrid policy BATCHES only; set hybrid_policy to HYBRID_POLICY_BATCHES or leave batch_size 0"
            ),
        ));
    }
    Ok(policy)
}

/// Picks the one query source of a request; `count_only` requests may have none.
fn parse_source(
    vector: Option<pb::Vector>,
    text: String,
    similar_to_id: String,
    exclude_similar_document: bool,
    count_only: bool,
) -> Result<Option<QuerySource>, SearchError> {
    let mut sources = Vec::new();
    if let Some(pb::Vector { values }) = vector {
        sources.push(("vector", QuerySource::Vector(values)));
    }
    if !text.is_empty() {
        sources.push(("text", QuerySource::Text(text)));
    }
    if !similar_to_id.is_empty() {
        check_document_id(&similar_to_id, "similar_to_id")?;
        sources.push((
            "similar_to_id",
            QuerySource::SimilarTo {
                id: similar_to_id,
                exclude: exclude_similar_document,
            },
        ));
    } else if exclude_similar_document {
        return Err(SearchError::invalid(
            "exclude_similar_document",
            "exclude_similar_document applies only with similar_to_id; set similar_to_id or clear it",
        ));
    }

    match sources.len() {
        0 if count_only => Ok(None),
        0 => Err(SearchError::invalid(
            "vector",
            "the request has no query; send one of vector, text or similar_to_id",
        )),
        1 => Ok(sources.pop().map(|(_, source)| source)),
        _ => {
            let names: Vec<&str> = sources.iter().map(|(name, _)| *name).collect();
            Err(SearchError::invalid(
                names[1],
                format!(
                    "the request sets {}; a KNN query takes exactly one of vector, text and similar_to_id",
                    names.join(" and ")
                ),
            ))
        }
    }
}

/// Checks a document id: 1 to `MAX_ID_BYTES` bytes.
pub fn check_document_id(id: &str, path: &str) -> Result<(), SearchError> {
    if id.is_empty() {
        return Err(SearchError::invalid(
            path,
            "the document id is empty; send the id of a document of the index",
        ));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(SearchError::invalid(
            path,
            format!(
                "{} is {} bytes long; document ids have at most {MAX_ID_BYTES} bytes",
                quote(id),
                id.len()
            ),
        ));
    }
    Ok(())
}

fn check_model(model: &str, target: &VectorTarget) -> Result<(), InvalidValue> {
    if model.is_empty() || model == target.options.model {
        return Ok(());
    }
    let message = if target.options.model.is_empty() {
        format!(
            "{} cannot be checked because the index records no model for field {}; leave vector_options.model empty",
            quote(model),
            quote(&target.name)
        )
    } else {
        format!(
            "{} differs from {}, the model the index records for field {}; send a vector from {}",
            quote(model),
            quote(&target.options.model),
            quote(&target.name),
            quote(&target.options.model)
        )
    };
    Err(InvalidValue::new("vector_options.model", message))
}

fn check_ef_runtime(ef_runtime: u32, target: &VectorTarget) -> Result<Option<u32>, InvalidValue> {
    if ef_runtime == 0 {
        return Ok(None);
    }
    if target.options.algorithm != VectorAlgorithm::Hnsw {
        return Err(InvalidValue::new(
            "vector_options.ef_runtime",
            format!(
                "{ef_runtime} applies to HNSW fields only, and {} is a FLAT field, which searches exactly; leave it 0",
                quote(&target.name)
            ),
        ));
    }
    Ok(Some(ef_runtime))
}

/// Resolves the requested return fields; an empty list means every field except VECTOR fields.
fn resolve_return_fields(names: &[String], schema: &Schema) -> Result<Vec<Field>, SearchError> {
    if names.is_empty() {
        let fields = schema
            .fields()
            .iter()
            .filter(|field| !matches!(field.kind, FieldKind::Vector(_)))
            .cloned()
            .collect();
        return Ok(fields);
    }
    let mut fields = Vec::with_capacity(names.len());
    for (position, name) in names.iter().enumerate() {
        let path = format!("return_fields[{position}]");
        match schema.field(name) {
            None => {
                return Err(SearchError::invalid(
                    path,
                    format!(
                        "{} is not a field of the index; name one of {}",
                        quote(name),
                        field_names(schema)
                    ),
                ));
            }
            Some(Field {
                kind: FieldKind::Vector(_),
                ..
            }) => {
                return Err(SearchError::invalid(
                    path,
                    format!(
                        "{} is a VECTOR field, and hits carry no vectors; fetch vectors with Get and include_vectors",
                        quote(name)
                    ),
                ));
            }
            Some(field) => fields.push(field.clone()),
        }
    }
    Ok(fields)
}

/// Lists the non-vector fields of a schema for an error message.
pub fn field_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .filter(|field| !matches!(field.kind, FieldKind::Vector(_)))
        .map(|field| field.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
