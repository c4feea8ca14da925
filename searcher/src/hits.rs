//! Hits: decoding returned fields, fetching the fields of a page of ids, and sorting by a field in the
//! searcher where RediSearch cannot sort.

use std::cmp::Ordering;
use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use docsearch_runtime::fields::decode_value;
use docsearch_runtime::schema::{DistanceMetric, Field, FieldKind};

use crate::error::SearchError;
use crate::searcher::Searcher;

/// Decodes the fields of one document; `value_of` returns the stored bytes of a field. Values that do
/// not parse as their field's type are left out and logged.
pub fn decode_fields<'a>(
    index: &str,
    id: &str,
    fields: &[Field],
    value_of: impl Fn(&Field) -> Option<&'a [u8]>,
) -> HashMap<String, pb::FieldValue> {
    let mut decoded = HashMap::with_capacity(fields.len());
    for field in fields {
        let Some(bytes) = value_of(field) else {
            continue;
        };
        match decode_value(field, bytes) {
            Some(value) => {
                decoded.insert(field.name.clone(), value);
            }
            None => tracing::warn!(
                index,
                document_id = id,
                field = field.name,
                field_type = field.type_name(),
                "stored value does not parse as the field's type; leaving it out of the hit"
            ),
        }
    }
    decoded
}

/// Builds a hit found by its vector distance, whose score is the similarity.
pub fn vector_hit(
    id: String,
    distance: f32,
    metric: DistanceMetric,
    fields: HashMap<String, pb::FieldValue>,
) -> pb::SearchHit {
    let similarity = metric.similarity(distance);
    pb::SearchHit {
        id,
        score: f64::from(similarity),
        distance: Some(distance),
        similarity: Some(similarity),
        text_score: None,
        vector_rank: None,
        text_rank: None,
        fields,
        highlights: HashMap::new(),
    }
}

impl Searcher {
    /// Reads the stored values of `fields` for each document of `ids`, in `ids` order, with one
    /// pipelined HMGET per document. A document deleted meanwhile gets no fields.
    pub(crate) async fn fetch_values(
        &self,
        index: &str,
        ids: &[String],
        fields: &[Field],
    ) -> Result<Vec<Vec<Option<Vec<u8>>>>, SearchError> {
        if ids.is_empty() || fields.is_empty() {
            return Ok(vec![Vec::new(); ids.len()]);
        }
        let mut pipeline = redis::pipe();
        for id in ids {
            let mut command = redis::cmd("HMGET");
            command.arg(self.layout().document_key(index, id));
            for field in fields {
                command.arg(&field.name);
            }
            pipeline.add_command(command);
        }
        pipeline
            .query_async(&mut self.connection())
            .await
            .map_err(|error| SearchError::redis("fetching the fields of hits", index, error))
    }

    /// Reads and decodes `fields` for each document of `ids`, in `ids` order.
    pub(crate) async fn fetch_fields(
        &self,
        index: &str,
        ids: &[String],
        fields: &[Field],
    ) -> Result<Vec<HashMap<String, pb::FieldValue>>, SearchError> {
        let values = self.fetch_values(index, ids, fields).await?;
        let decoded = ids
            .iter()
            .zip(values)
            .map(|(id, values)| {
                decode_fields(index, id, fields, |field| {
                    let position = fields.iter().position(|f| f.name == field.name)?;
                    values.get(position)?.as_deref()
                })
            })
            .collect();
        Ok(decoded)
    }
}

/// A stored value as a sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Number(f64),
    /// Text and tags, lower-cased, as RediSearch compares sortable text.
    Text(String),
    Missing,
}

impl SortValue {
    /// Reads the sort key of a stored value of `field`.
    pub fn from_stored(field: &Field, bytes: Option<&[u8]>) -> SortValue {
        let Some(bytes) = bytes else {
            return SortValue::Missing;
        };
        let text = String::from_utf8_lossy(bytes);
        match field.kind {
            FieldKind::Numeric(_) => match text.trim().parse::<f64>() {
                Ok(number) => SortValue::Number(number),
                Err(_) => SortValue::Missing,
            },
            _ => SortValue::Text(text.to_lowercase()),
        }
    }

    /// Orders two keys in the requested direction; documents without a value come last either way.
    pub fn compare(&self, other: &SortValue, descending: bool) -> Ordering {
        let ordering = match (self, other) {
            (SortValue::Missing, SortValue::Missing) => return Ordering::Equal,
            (SortValue::Missing, _) => return Ordering::Greater,
            (_, SortValue::Missing) => return Ordering::Less,
            (SortValue::Number(a), SortValue::Number(b)) => a.total_cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
            (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// Sorts items by their sort keys, keeping the current order among equal keys.
pub fn sort_by_value<T>(items: &mut [(T, SortValue)], descending: bool) {
    items.sort_by(|(_, a), (_, b)| a.compare(b, descending));
}

#[cfg(test)]
mod tests {
    use super::*;
    use docsearch_runtime::schema::{NumericOptions, TagOptions};

    fn numeric() -> Field {
        Field {
            name: "year".to_owned(),
            index_missing: false,
            kind: FieldKind::Numeric(NumericOptions { sortable: true }),
        }
    }

    fn tag() -> Field {
        Field {
            name: "category".to_owned(),
            index_missing: false,
            kind: FieldKind::Tag(TagOptions {
                separator: ',',
                case_sensitive: false,
                sortable: true,
            }),
        }
    }

    #[test]
    fn numbers_sort_numerically() {
        let mut items = vec![
            ("b", SortValue::from_stored(&numeric(), Some(b"10"))),
            ("a", SortValue::from_stored(&numeric(), Some(b"9"))),
        ];
        sort_by_value(&mut items, false);
        assert_eq!(items[0].0, "a");
    }

    #[test]
    fn missing_values_sort_last_both_ways() {
        for descending in [false, true] {
            let mut items = vec![
                ("missing", SortValue::from_stored(&numeric(), None)),
                ("one", SortValue::from_stored(&numeric(), Some(b"1"))),
            ];
            sort_by_value(&mut items, descending);
            assert_eq!(items[1].0, "missing", "descending = {descending}");
        }
    }

    #[test]
    fn text_sorts_case_insensitively() {
        let mut items = vec![
            ("upper", SortValue::from_stored(&tag(), Some(b"Beta"))),
            ("lower", SortValue::from_stored(&tag(), Some(b"alpha"))),
        ];
        sort_by_value(&mut items, false);
        assert_eq!(items[0].0, "lower");
    }

    #[test]
    fn descending_keeps_ties_in_order() {
        let mut items = vec![
            ("first", SortValue::Number(1.0)),
            ("second", SortValue::Number(1.0)),
            ("top", SortValue::Number(2.0)),
        ];
        sort_by_value(&mut items, true);
        let order: Vec<&str> = items.iter().map(|(name, _)| *name).collect();
        assert_eq!(order, ["top", "first", "second"]);
    }
}
