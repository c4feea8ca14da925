//! The shape of the results: paging, returned fields, sorting, facets, and the fusion of HYBRID legs.

use docsearch_proto::v1 as pb;
use docsearch_runtime::schema::{Field, FieldKind, Schema};
use docsearch_runtime::validate::quote;

use super::{
    DEFAULT_HYBRID_WINDOW, DEFAULT_RRF_CONSTANT, DEFAULT_VECTOR_WEIGHT, Fusion, FusionMethod,
    SortKey, field_names,
};
use crate::config::SearchConfig;
use crate::error::{SearchError, display_number};

/// Maximum number of facets in one request.
pub const MAX_FACETS: usize = 16;
/// TAG values a facet returns when its limit is 0.
pub const DEFAULT_FACET_LIMIT: usize = 10;
/// Largest TAG facet limit.
pub const MAX_FACET_LIMIT: u32 = 1000;
/// Maximum number of boundaries of one NUMERIC facet.
pub const MAX_FACET_BOUNDARIES: usize = 1000;
/// Maximum number of buckets an interval facet returns, the lowest non-empty ones.
pub const MAX_FACET_BUCKETS: usize = 1000;

/// A facet checked against the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Facet {
    pub field: Field,
    pub kind: FacetKind,
}

/// The values a facet counts.
#[derive(Debug, Clone, PartialEq)]
pub enum FacetKind {
    /// The `limit` most frequent values of a TAG field, whose stored values are joined by `separator`.
    Tag { limit: usize, separator: char },
    /// Buckets `[b0, b1)`, `[b1, b2)`, ... of a NUMERIC field, every one of them returned.
    Boundaries(Vec<f64>),
    /// Buckets `[n*w, (n+1)*w)` of a NUMERIC field, the non-empty ones.
    Interval(f64),
}

/// Checks `k` and `offset`; a lucky request returns the single best hit.
pub(super) fn check_window(
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

pub(super) fn check_return_fields(names: &[String]) -> Result<(), SearchError> {
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

/// Resolves the requested return fields; an empty list means every field except VECTOR fields.
pub(super) fn resolve_return_fields(
    names: &[String],
    schema: &Schema,
) -> Result<Vec<Field>, SearchError> {
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

pub(super) fn check_sort_by(sort_by: Option<&pb::SortBy>) -> Result<(), SearchError> {
    match sort_by {
        Some(sort_by) if sort_by.field.is_empty() => Err(SearchError::invalid(
            "sort_by.field",
            "the field name is empty; name a sortable field, or leave sort_by unset to rank by score",
        )),
        _ => Ok(()),
    }
}

pub(super) fn bind_sort_by(
    sort_by: Option<pb::SortBy>,
    schema: &Schema,
) -> Result<Option<SortKey>, SearchError> {
    let Some(pb::SortBy { field, descending }) = sort_by else {
        return Ok(None);
    };
    let sortable: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|field| field.is_sortable())
        .map(|field| field.name.as_str())
        .collect();
    let hint = if sortable.is_empty() {
        "the index has no sortable field, so leave sort_by unset".to_owned()
    } else {
        format!("sort by one of {}", sortable.join(", "))
    };
    match schema.field(&field) {
        None => Err(SearchError::invalid(
            "sort_by.field",
            format!("{} is not a field of the index; {hint}", quote(&field)),
        )),
        Some(found) if !found.is_sortable() => Err(SearchError::invalid(
            "sort_by.field",
            format!(
                "{} is a {} field created without sortable, so results cannot be sorted by it; {hint}",
                quote(&field),
                found.type_name()
            ),
        )),
        Some(found) => Ok(Some(SortKey {
            field: found.clone(),
            descending,
        })),
    }
}

/// Checks the facet requests that need no schema: names, limits, boundaries and intervals.
pub(super) fn check_facets(facets: &[pb::FacetRequest]) -> Result<(), SearchError> {
    if facets.len() > MAX_FACETS {
        return Err(SearchError::invalid(
            "facets",
            format!(
                "the request has {} facets; send at most {MAX_FACETS}",
                facets.len()
            ),
        ));
    }
    for (position, facet) in facets.iter().enumerate() {
        let path = format!("facets[{position}]");
        let pb::FacetRequest {
            field,
            limit,
            boundaries,
            interval,
        } = facet;
        if field.is_empty() {
            return Err(SearchError::invalid(
                format!("{path}.field"),
                "the field name is empty; name a TAG or NUMERIC field",
            ));
        }
        if facets[..position].iter().any(|other| other.field == *field) {
            return Err(SearchError::invalid(
                format!("{path}.field"),
                format!(
                    "{} has a facet already; ask for each field once",
                    quote(field)
                ),
            ));
        }
        if *limit > MAX_FACET_LIMIT {
            return Err(SearchError::invalid(
                format!("{path}.limit"),
                format!(
                    "{limit} is out of range; use 0 (meaning {DEFAULT_FACET_LIMIT}) to {MAX_FACET_LIMIT}"
                ),
            ));
        }
        check_boundaries(boundaries, &format!("{path}.boundaries"))?;
        if *interval != 0.0 && !(interval.is_finite() && *interval > 0.0) {
            return Err(SearchError::invalid(
                format!("{path}.interval"),
                format!(
                    "{} is not a bucket width; send a finite number greater than 0",
                    display_number(*interval)
                ),
            ));
        }
        if *interval != 0.0 && !boundaries.is_empty() {
            return Err(SearchError::invalid(
                format!("{path}.interval"),
                "the facet sets both boundaries and an interval; set one of them",
            ));
        }
    }
    Ok(())
}

fn check_boundaries(boundaries: &[f64], path: &str) -> Result<(), SearchError> {
    if boundaries.is_empty() {
        return Ok(());
    }
    if boundaries.len() < 2 {
        return Err(SearchError::invalid(
            path,
            "one boundary makes no bucket; send at least 2, such as [0, 10] for the bucket [0, 10)",
        ));
    }
    if boundaries.len() > MAX_FACET_BOUNDARIES {
        return Err(SearchError::invalid(
            path,
            format!(
                "the facet has {} boundaries; send at most {MAX_FACET_BOUNDARIES}",
                boundaries.len()
            ),
        ));
    }
    for (position, boundary) in boundaries.iter().enumerate() {
        if !boundary.is_finite() {
            return Err(SearchError::invalid(
                format!("{path}[{position}]"),
                format!(
                    "{} is not a finite number; send finite boundaries",
                    display_number(*boundary)
                ),
            ));
        }
        if position > 0 && *boundary <= boundaries[position - 1] {
            return Err(SearchError::invalid(
                format!("{path}[{position}]"),
                format!(
                    "{} does not exceed the boundary before it, {}; send boundaries in strictly ascending order",
                    display_number(*boundary),
                    display_number(boundaries[position - 1])
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the facet requests against the schema.
pub(super) fn bind_facets(
    facets: &[pb::FacetRequest],
    schema: &Schema,
) -> Result<Vec<Facet>, SearchError> {
    let mut bound = Vec::with_capacity(facets.len());
    for (position, facet) in facets.iter().enumerate() {
        let path = format!("facets[{position}]");
        let Some(field) = schema.field(&facet.field) else {
            return Err(SearchError::invalid(
                format!("{path}.field"),
                format!(
                    "{} is not a field of the index; name a TAG or NUMERIC field",
                    quote(&facet.field)
                ),
            ));
        };
        let kind = match &field.kind {
            FieldKind::Tag(options) => {
                if !facet.boundaries.is_empty() || facet.interval != 0.0 {
                    return Err(SearchError::invalid(
                        format!("{path}.field"),
                        format!(
                            "{} is a TAG field, and boundaries and intervals bucket NUMERIC fields; remove them to count the tag values",
                            quote(&field.name)
                        ),
                    ));
                }
                let limit = match facet.limit {
                    0 => DEFAULT_FACET_LIMIT,
                    limit => limit as usize,
                };
                FacetKind::Tag {
                    limit,
                    separator: options.separator,
                }
            }
            FieldKind::Numeric(_) => {
                if facet.limit != 0 {
                    return Err(SearchError::invalid(
                        format!("{path}.limit"),
                        format!(
                            "{} is a NUMERIC field, and limit applies to TAG facets; leave it 0",
                            quote(&field.name)
                        ),
                    ));
                }
                if !facet.boundaries.is_empty() {
                    FacetKind::Boundaries(facet.boundaries.clone())
                } else if facet.interval != 0.0 {
                    FacetKind::Interval(facet.interval)
                } else {
                    return Err(SearchError::invalid(
                        format!("{path}.boundaries"),
                        format!(
                            "{} is a NUMERIC field; send boundaries or an interval to define its buckets",
                            quote(&field.name)
                        ),
                    ));
                }
            }
            FieldKind::Text(_) | FieldKind::Geo | FieldKind::Vector(_) => {
                return Err(SearchError::invalid(
                    format!("{path}.field"),
                    format!(
                        "{} is a {} field; facets count the values of TAG fields or buckets of NUMERIC fields",
                        quote(&field.name),
                        field.type_name()
                    ),
                ));
            }
        };
        bound.push(Facet {
            field: field.clone(),
            kind,
        });
    }
    Ok(bound)
}

/// Checks the fusion of a HYBRID request and fills in its defaults.
pub(super) fn parse_fusion(
    fusion: Option<pb::Fusion>,
    k: usize,
    offset: usize,
    limits: &SearchConfig,
) -> Result<Fusion, SearchError> {
    let method = fusion.and_then(|fusion| fusion.method);
    let (method, window, path) = match method {
        None => (
            FusionMethod::Rrf {
                constant: DEFAULT_RRF_CONSTANT,
            },
            0,
            "fusion.rrf.window",
        ),
        Some(pb::fusion::Method::Rrf(pb::ReciprocalRankFusion { constant, window })) => {
            let constant = if constant == 0 {
                DEFAULT_RRF_CONSTANT
            } else {
                constant
            };
            (FusionMethod::Rrf { constant }, window, "fusion.rrf.window")
        }
        Some(pb::fusion::Method::Linear(pb::LinearFusion {
            vector_weight,
            window,
        })) => {
            let vector_weight = vector_weight.unwrap_or(DEFAULT_VECTOR_WEIGHT);
            if !(0.0..=1.0).contains(&vector_weight) {
                return Err(SearchError::invalid(
                    "fusion.linear.vector_weight",
                    format!(
                        "{} is out of range; use a weight from 0 to 1",
                        display_number(vector_weight)
                    ),
                ));
            }
            (
                FusionMethod::Linear { vector_weight },
                window,
                "fusion.linear.window",
            )
        }
    };

    let max_window = limits.max_window as usize;
    let page_end = offset + k;
    let window = match window as usize {
        0 => page_end.max(DEFAULT_HYBRID_WINDOW).min(max_window),
        window if window < page_end => {
            return Err(SearchError::invalid(
                path,
                format!(
                    "{window} is less than offset + k = {page_end}, so the legs cannot fill the page; raise it or leave it 0"
                ),
            ));
        }
        window if window > max_window => {
            return Err(SearchError::invalid(
                path,
                format!("{window} is out of range; use at most {max_window}"),
            ));
        }
        window => window,
    };
    Ok(Fusion { method, window })
}
