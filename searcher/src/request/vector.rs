//! The query vector: where it comes from, the VECTOR field it searches and the options of the search.

use docsearch_proto::v1 as pb;
use docsearch_runtime::InvalidValue;
use docsearch_runtime::schema::{Schema, VectorAlgorithm};
use docsearch_runtime::validate::quote;
use docsearch_runtime::vector;

use super::{HybridPolicy, Mode, QuerySource, VectorQuery, VectorTarget, check_document_id};
use crate::error::{SearchError, count_of, display_number};

/// Largest HNSW candidate list size a query may request.
pub const MAX_EF_RUNTIME: u32 = 4096;

/// Checks the vector options for `mode`; returns the hybrid policy.
pub(super) fn parse_options(
    options: &pb::VectorOptions,
    mode: Mode,
) -> Result<Option<HybridPolicy>, SearchError> {
    if mode == Mode::Text {
        if *options != pb::VectorOptions::default() {
            return Err(SearchError::invalid(
                "vector_options",
                "vector options apply to modes KNN, RANGE and HYBRID; remove them for a TEXT query",
            ));
        }
        return Ok(None);
    }
    let pb::VectorOptions {
        field: _,
        model: _,
        ef_runtime,
        hybrid_policy,
        batch_size,
        distance_threshold,
    } = *options;

    check_distance_threshold(distance_threshold, mode)?;
    if ef_runtime > MAX_EF_RUNTIME {
        return Err(SearchError::invalid(
            "vector_options.ef_runtime",
            format!(
                "{ef_runtime} is out of range; use 1 to {MAX_EF_RUNTIME}, or 0 for the index's value"
            ),
        ));
    }
    if mode == Mode::Range && ef_runtime != 0 {
        return Err(SearchError::invalid(
            "vector_options.ef_runtime",
            format!("{ef_runtime} applies to KNN and HYBRID queries; leave it 0 for a RANGE query"),
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
    if mode == Mode::Range && policy.is_some() {
        return Err(SearchError::invalid(
            "vector_options.hybrid_policy",
            "a hybrid policy applies to KNN and HYBRID queries; leave it unset for a RANGE query",
        ));
    }
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

fn check_distance_threshold(threshold: f64, mode: Mode) -> Result<(), SearchError> {
    let path = "vector_options.distance_threshold";
    if mode != Mode::Range {
        if threshold != 0.0 {
            return Err(SearchError::invalid(
                path,
                format!(
                    "{} applies to mode RANGE only; leave it 0 for a {} query",
                    display_number(threshold),
                    mode.name()
                ),
            ));
        }
        return Ok(());
    }
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(SearchError::invalid(
            path,
            format!(
                "{} is not a valid maximum distance; a RANGE query needs a finite distance greater than 0, in the index's metric",
                display_number(threshold)
            ),
        ));
    }
    Ok(())
}

/// Picks the source of the query vector. KNN and RANGE take exactly one of `vector`, `text` and
/// `similar_to_id`, except that a `count_only` KNN request may have none. TEXT has none. HYBRID embeds
/// its text unless it has a vector.
pub(super) fn parse_source(
    mode: Mode,
    vector: Option<pb::Vector>,
    text: String,
    similar_to_id: String,
    exclude_similar_document: bool,
    count_only: bool,
) -> Result<Option<QuerySource>, SearchError> {
    if matches!(mode, Mode::Text | Mode::Hybrid) {
        if !similar_to_id.is_empty() || exclude_similar_document {
            let path = if similar_to_id.is_empty() {
                "exclude_similar_document"
            } else {
                "similar_to_id"
            };
            return Err(SearchError::invalid(
                path,
                format!(
                    "{path} applies to modes KNN and RANGE; remove it for a {} query",
                    mode.name()
                ),
            ));
        }
        return match (mode, vector) {
            (Mode::Text, Some(_)) => Err(SearchError::invalid(
                "vector",
                "a TEXT query matches words only; remove the vector, or use mode HYBRID to combine it with the text",
            )),
            (Mode::Text, None) => Ok(None),
            (_, Some(pb::Vector { values })) => Ok(Some(QuerySource::Vector(values))),
            (_, None) => Ok(Some(QuerySource::Text(text))),
        };
    }

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
        0 if count_only && mode == Mode::Knn => Ok(None),
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
                    "the request sets {}; a {} query takes exactly one of vector, text and similar_to_id",
                    names.join(" and "),
                    mode.name()
                ),
            ))
        }
    }
}

/// Resolves the VECTOR field and checks the vector options and a caller's vector against it.
pub(super) fn bind(
    source: Option<QuerySource>,
    options: &pb::VectorOptions,
    hybrid_policy: Option<HybridPolicy>,
    schema: &Schema,
) -> Result<VectorQuery, SearchError> {
    let (field, field_options) = schema.resolve_vector_field(&options.field)?;
    let target = VectorTarget {
        name: field.name.clone(),
        options: field_options.clone(),
    };
    let num_values = match &source {
        Some(QuerySource::Vector(values)) => Some(values.len()),
        _ => None,
    };
    check_model(&options.model, num_values, &target)?;
    if let Some(QuerySource::Vector(values)) = &source {
        check_dimension(values, &options.model, &target)?;
    }
    let ef_runtime = check_ef_runtime(options.ef_runtime, &target)?;

    Ok(VectorQuery {
        source,
        target,
        ef_runtime,
        hybrid_policy,
        distance_threshold: (options.distance_threshold != 0.0)
            .then_some(options.distance_threshold),
    })
}

/// Describes the vectors of a field for an error message: its dimension and the recorded model.
pub fn describe_field(target: &VectorTarget) -> String {
    let model = if target.options.model.is_empty() {
        "a model the index does not record".to_owned()
    } else {
        format!("model {}", quote(&target.options.model))
    };
    format!(
        "field {} holds vectors of dimension {} from {model}",
        quote(&target.name),
        target.options.dimension
    )
}

/// Checks the model a request names; `num_values` is the length of the request's vector, if it has one.
fn check_model(
    model: &str,
    num_values: Option<usize>,
    target: &VectorTarget,
) -> Result<(), InvalidValue> {
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
        let values = match num_values {
            Some(num_values) => format!(" with {}", count_of(num_values, "value", "values")),
            None => String::new(),
        };
        format!(
            "the request names model {}{values}, but {}; send a vector from {}",
            quote(model),
            describe_field(target),
            quote(&target.options.model)
        )
    };
    Err(InvalidValue::new("vector_options.model", message))
}

fn check_dimension(values: &[f32], model: &str, target: &VectorTarget) -> Result<(), InvalidValue> {
    let dimension = target.options.dimension;
    if values.len() != dimension {
        let origin = if model.is_empty() {
            String::new()
        } else {
            format!(" from model {}", quote(model))
        };
        return Err(InvalidValue::new(
            "vector.values",
            format!(
                "the vector{origin} has {}, but {}; send exactly {dimension} values",
                count_of(values.len(), "value", "values"),
                describe_field(target)
            ),
        ));
    }
    vector::check(values, dimension, target.options.metric)
        .map_err(|error| error.within("vector.values"))
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
