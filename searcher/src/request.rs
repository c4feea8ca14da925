//! Validation of a Search request: first the checks that need no schema ([`CheckedRequest::parse`]),
//! then the checks against the index schema ([`CheckedRequest::bind`]), which yield a [`Query`] ready
//! to run. Every rule about which fields a mode accepts lives here.
//!
//! - [`vector`]: the query vector's source and the vector options.
//! - [`text`]: the query text and the text options.
//! - [`results`]: paging, returned fields, sorting, facets and fusion.

mod results;
mod text;
mod vector;

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use docsearch_runtime::keys::check_index_name;
use docsearch_runtime::schema::{DistanceMetric, Field, FieldKind, Schema, VectorOptions};

use crate::config::SearchConfig;
use crate::error::SearchError;
use crate::filter;
use crate::fuzzy::Fuzziness;
use crate::text_query::FieldGroup;

pub use results::{DEFAULT_FACET_LIMIT, Facet, FacetKind, MAX_FACET_BUCKETS, MAX_FACETS};
pub use vector::{MAX_EF_RUNTIME, describe_field};

/// Candidates each HYBRID leg fetches when the request leaves the window at 0 and pages less deep.
pub const DEFAULT_HYBRID_WINDOW: usize = 100;
/// The reciprocal rank fusion constant when the request leaves it at 0.
pub const DEFAULT_RRF_CONSTANT: u32 = 60;
/// The weight of the vector leg in linear fusion when the request leaves it unset.
pub const DEFAULT_VECTOR_WEIGHT: f64 = 0.5;

/// The mode a request runs in, after the defaults are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Knn,
    Range,
    Text,
    Hybrid,
}

impl Mode {
    pub fn to_proto(self) -> pb::SearchMode {
        match self {
            Mode::Knn => pb::SearchMode::Knn,
            Mode::Range => pb::SearchMode::Range,
            Mode::Text => pb::SearchMode::Text,
            Mode::Hybrid => pb::SearchMode::Hybrid,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Knn => "KNN",
            Mode::Range => "RANGE",
            Mode::Text => "TEXT",
            Mode::Hybrid => "HYBRID",
        }
    }
}

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

/// The method that combines the two legs of a HYBRID query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FusionMethod {
    /// Reciprocal rank fusion: the sum over legs of 1 / (constant + rank).
    Rrf { constant: u32 },
    /// A weighted sum of the normalised vector similarity and the text score.
    Linear { vector_weight: f64 },
}

/// The fusion of a HYBRID query and the candidates each leg fetches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    pub method: FusionMethod,
    pub window: usize,
}

/// The VECTOR field a query searches.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorTarget {
    pub name: String,
    pub options: VectorOptions,
}

/// The vector part of a KNN, RANGE or HYBRID query.
#[derive(Debug, Clone)]
pub struct VectorQuery {
    /// `None` only for a `count_only` KNN request, which needs no vector.
    pub source: Option<QuerySource>,
    pub target: VectorTarget,
    pub ef_runtime: Option<u32>,
    pub hybrid_policy: Option<HybridPolicy>,
    /// RANGE only: the maximum distance, inclusive.
    pub distance_threshold: Option<f64>,
}

impl VectorQuery {
    pub fn metric(&self) -> DistanceMetric {
        self.target.options.metric
    }

    /// Returns the document to leave out of the results, if any.
    pub fn excluded_id(&self) -> Option<&str> {
        match &self.source {
            Some(QuerySource::SimilarTo { id, exclude: true }) => Some(id),
            _ => None,
        }
    }
}

/// The text part of a TEXT or HYBRID query.
#[derive(Debug, Clone, PartialEq)]
pub struct TextQuery {
    /// The words of the text, without stop words and duplicates.
    pub words: Vec<String>,
    /// The searched TEXT fields grouped by per-query weight; every TEXT field at weight 1 when the
    /// request names no fields and no weights.
    pub groups: Vec<FieldGroup>,
    pub fuzziness: Fuzziness,
    pub match_all: bool,
    /// TEXT fields whose snippets come back with each hit; empty when highlighting is off.
    pub highlight_fields: Vec<String>,
    /// Lower-cased words that the index lacks, each with the indexed term it was likely meant to be.
    /// Empty until the query runs (see [`crate::spelling`]).
    pub corrections: HashMap<String, String>,
}

impl TextQuery {
    /// Writes the RediSearch query of the text, restricted to the documents that pass `filter`.
    pub fn query_string(&self, filter: Option<&str>) -> String {
        crate::text_query::build(
            &crate::text_query::TextSpec {
                words: &self.words,
                groups: &self.groups,
                fuzziness: self.fuzziness,
                match_all: self.match_all,
                corrections: &self.corrections,
            },
            filter,
        )
    }
}

/// A sortable field and the direction to sort it in.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: Field,
    pub descending: bool,
}

/// A Search request checked against the index schema.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: String,
    pub mode: Mode,
    /// KNN, RANGE and HYBRID.
    pub vector: Option<VectorQuery>,
    /// TEXT and HYBRID.
    pub text: Option<TextQuery>,
    /// HYBRID only.
    pub fusion: Option<Fusion>,
    /// The compiled filter; `None` passes every document.
    pub filter: Option<String>,
    pub k: usize,
    pub offset: usize,
    /// Fields returned with each hit, none of them VECTOR fields.
    pub return_fields: Vec<Field>,
    pub sort_by: Option<SortKey>,
    pub count_only: bool,
    pub facets: Vec<Facet>,
}

/// A Search request that passed the checks that need no schema.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    pub index: String,
    mode: Mode,
    source: Option<QuerySource>,
    text: Option<text::TextRequest>,
    vector_options: pb::VectorOptions,
    hybrid_policy: Option<HybridPolicy>,
    fusion: Option<Fusion>,
    filter: Option<pb::Filter>,
    k: usize,
    offset: usize,
    return_fields: Vec<String>,
    sort_by: Option<pb::SortBy>,
    count_only: bool,
    facets: Vec<pb::FacetRequest>,
}

impl CheckedRequest {
    /// Checks everything that needs no schema.
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
        let mode = parse_mode(mode, lucky, !text.trim().is_empty())?;
        let (k, offset) = results::check_window(k, offset, count_only, lucky, limits)?;
        results::check_return_fields(&return_fields)?;
        results::check_sort_by(sort_by.as_ref())?;
        results::check_facets(&facets)?;

        let fusion = match mode {
            Mode::Hybrid => Some(results::parse_fusion(fusion, k, offset, limits)?),
            _ if fusion.is_some() => {
                return Err(mode_mismatch(
                    "fusion",
                    "fusion applies only to mode HYBRID; remove it",
                    mode,
                ));
            }
            _ => None,
        };
        let text_request = match mode {
            Mode::Text | Mode::Hybrid => Some(text::parse(&text, text_options)?),
            Mode::Knn | Mode::Range if text_options.is_some() => {
                return Err(mode_mismatch(
                    "text_options",
                    "text options apply only to modes TEXT and HYBRID; remove them",
                    mode,
                ));
            }
            Mode::Knn | Mode::Range => None,
        };
        let vector_options = vector_options.unwrap_or_default();
        let hybrid_policy = vector::parse_options(&vector_options, mode)?;
        let source = vector::parse_source(
            mode,
            vector,
            text,
            similar_to_id,
            exclude_similar_document,
            count_only,
        )?;

        Ok(Self {
            index,
            mode,
            source,
            text: text_request,
            vector_options,
            hybrid_policy,
            fusion,
            filter,
            k,
            offset,
            return_fields,
            sort_by,
            count_only,
            facets,
        })
    }

    /// Checks the request against the index schema.
    pub fn bind(self, schema: &Schema) -> Result<Query, SearchError> {
        let CheckedRequest {
            index,
            mode,
            source,
            text,
            vector_options,
            hybrid_policy,
            fusion,
            filter,
            k,
            offset,
            return_fields,
            sort_by,
            count_only,
            facets,
        } = self;

        let vector = match mode {
            Mode::Knn | Mode::Range | Mode::Hybrid => Some(vector::bind(
                source,
                &vector_options,
                hybrid_policy,
                schema,
            )?),
            Mode::Text => None,
        };
        let text = match text {
            Some(text) => Some(text.bind(schema)?),
            None => None,
        };
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

        Ok(Query {
            index,
            mode,
            vector,
            text,
            fusion,
            filter,
            k,
            offset,
            return_fields: results::resolve_return_fields(&return_fields, schema)?,
            sort_by: results::bind_sort_by(sort_by, schema)?,
            count_only,
            facets: results::bind_facets(&facets, schema)?,
        })
    }
}

fn parse_mode(mode: i32, lucky: bool, has_text: bool) -> Result<Mode, SearchError> {
    match pb::SearchMode::try_from(mode) {
        // An unspecified mode is KNN, except that a lucky request with text is HYBRID. A lucky
        // request by vector or by similar document has no words for a text leg, so it stays KNN.
        Ok(pb::SearchMode::Unspecified) if lucky && has_text => Ok(Mode::Hybrid),
        Ok(pb::SearchMode::Unspecified | pb::SearchMode::Knn) => Ok(Mode::Knn),
        Ok(pb::SearchMode::Range) => Ok(Mode::Range),
        Ok(pb::SearchMode::Text) => Ok(Mode::Text),
        Ok(pb::SearchMode::Hybrid) => Ok(Mode::Hybrid),
        Err(_) => Err(SearchError::invalid(
            "mode",
            format!("{mode} is not a search mode; use SEARCH_MODE_KNN, _RANGE, _TEXT or _HYBRID"),
        )),
    }
}

/// Builds the error for a request field that the mode does not take. `rule` states the modes that take
/// the field and the fix, and the message ends with the mode of the request.
fn mode_mismatch(path: &str, rule: &str, mode: Mode) -> SearchError {
    SearchError::invalid(path, format!("{rule} for a {} query", mode.name()))
}

/// Checks a document id named by a request, with the rule that documents are written under.
pub fn check_document_id(id: &str, path: &str) -> Result<(), SearchError> {
    docsearch_runtime::keys::check_document_id(id)
        .map_err(|message| SearchError::invalid(path, message))
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
