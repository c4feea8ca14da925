//! The text of a TEXT or HYBRID query and its options.

use docsearch_proto::v1 as pb;
use docsearch_runtime::schema::{FieldKind, Schema};
use docsearch_runtime::validate::quote;

use super::TextQuery;
use crate::error::{SearchError, display_number};
use crate::fuzzy::{Fuzziness, MAX_FUZZY_DISTANCE};
use crate::text_query::{FieldGroup, query_words};

/// Largest per-query field weight, the same bound as schema weights.
pub const MAX_FIELD_WEIGHT: f64 = 1000.0;

/// The text of a request and its options, checked without the schema.
#[derive(Debug, Clone)]
pub(super) struct TextRequest {
    words: Vec<String>,
    fields: Vec<String>,
    /// Sorted by field name, so that errors name the same field every time.
    field_weights: Vec<(String, f64)>,
    fuzziness: Fuzziness,
    match_all: bool,
    highlight: bool,
}

/// Checks the text and the text options.
pub(super) fn parse(
    text: &str,
    options: Option<pb::TextOptions>,
) -> Result<TextRequest, SearchError> {
    let words = query_words(text, "text")?;
    let pb::TextOptions {
        fields,
        field_weights,
        fuzzy_distance,
        match_all_terms,
        highlight,
    } = options.unwrap_or_default();

    let fuzziness = match fuzzy_distance {
        None => Fuzziness::Default,
        Some(distance) if distance <= MAX_FUZZY_DISTANCE => Fuzziness::Fixed(distance),
        Some(distance) => {
            return Err(SearchError::invalid(
                "text_options.fuzzy_distance",
                format!(
                    "{distance} is out of range; use 0 (exact) to {MAX_FUZZY_DISTANCE}, or leave it unset for 1 or 2 by word length"
                ),
            ));
        }
    };
    for (position, name) in fields.iter().enumerate() {
        let path = format!("text_options.fields[{position}]");
        if name.is_empty() {
            return Err(SearchError::invalid(
                path,
                "the field name is empty; remove it",
            ));
        }
        if fields[..position].contains(name) {
            return Err(SearchError::invalid(
                path,
                format!("{} is listed twice; list each field once", quote(name)),
            ));
        }
    }
    let mut field_weights: Vec<(String, f64)> = field_weights.into_iter().collect();
    field_weights.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, weight) in &field_weights {
        let path = format!("text_options.field_weights[{}]", quote(name));
        if name.is_empty() {
            return Err(SearchError::invalid(
                path,
                "the field name is empty; key each weight by a TEXT field",
            ));
        }
        if !(weight.is_finite() && *weight > 0.0 && *weight <= MAX_FIELD_WEIGHT) {
            return Err(SearchError::invalid(
                path,
                format!(
                    "{} is out of range; use a weight greater than 0 and at most {MAX_FIELD_WEIGHT}",
                    display_number(*weight)
                ),
            ));
        }
    }

    Ok(TextRequest {
        words,
        fields,
        field_weights,
        fuzziness,
        match_all: match_all_terms,
        highlight,
    })
}

impl TextRequest {
    /// Checks the fields and weights against the schema.
    pub(super) fn bind(self, schema: &Schema) -> Result<TextQuery, SearchError> {
        let TextRequest {
            words,
            fields,
            field_weights,
            fuzziness,
            match_all,
            highlight,
        } = self;

        let text_fields: Vec<&str> = schema
            .text_fields()
            .map(|(field, _)| field.name.as_str())
            .collect();
        if text_fields.is_empty() {
            return Err(SearchError::invalid(
                "text",
                "the index has no TEXT field, so text cannot match; use mode KNN with a vector",
            ));
        }
        for (position, name) in fields.iter().enumerate() {
            check_text_field(
                name,
                &format!("text_options.fields[{position}]"),
                schema,
                &text_fields,
            )?;
        }
        let searched: Vec<String> = if fields.is_empty() {
            text_fields.iter().map(|name| (*name).to_owned()).collect()
        } else {
            fields.clone()
        };
        for (name, _) in &field_weights {
            let path = format!("text_options.field_weights[{}]", quote(name));
            check_text_field(name, &path, schema, &text_fields)?;
            if !searched.contains(name) {
                return Err(SearchError::invalid(
                    path,
                    format!(
                        "{} is not among text_options.fields, so the query does not search it; add it to the fields or remove its weight",
                        quote(name)
                    ),
                ));
            }
        }

        Ok(TextQuery {
            words,
            groups: group_by_weight(&searched, &field_weights),
            fuzziness,
            match_all,
            highlight_fields: if highlight { searched } else { Vec::new() },
            corrections: std::collections::HashMap::new(),
        })
    }
}

fn check_text_field(
    name: &str,
    path: &str,
    schema: &Schema,
    text_fields: &[&str],
) -> Result<(), SearchError> {
    match schema.field(name) {
        Some(field) if matches!(field.kind, FieldKind::Text(_)) => Ok(()),
        Some(field) => Err(SearchError::invalid(
            path,
            format!(
                "{} is a {} field; text matches TEXT fields only, which are {}",
                quote(name),
                field.type_name(),
                text_fields.join(", ")
            ),
        )),
        None => Err(SearchError::invalid(
            path,
            format!(
                "{} is not a field of the index; name one of the TEXT fields {}",
                quote(name),
                text_fields.join(", ")
            ),
        )),
    }
}

/// Groups the searched fields by per-query weight, in the order the fields are searched. Fields
/// without a weight get 1.
fn group_by_weight(searched: &[String], field_weights: &[(String, f64)]) -> Vec<FieldGroup> {
    let mut groups: Vec<FieldGroup> = Vec::new();
    for name in searched {
        let weight = field_weights
            .iter()
            .find(|(weighted, _)| weighted == name)
            .map_or(1.0, |(_, weight)| *weight);
        match groups.iter_mut().find(|group| group.weight == weight) {
            Some(group) => group.fields.push(name.clone()),
            None => groups.push(FieldGroup {
                fields: vec![name.clone()],
                weight,
            }),
        }
    }
    groups
}
