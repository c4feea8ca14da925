//! Field values as stored in document hashes: how each schema type is written and read back.
//!
//! TEXT is stored as UTF-8 with white space other than space and tab replaced by spaces (see
//! [`separate_words`]), TAG as values joined by the field's separator, NUMERIC as the shortest
//! decimal that reads back to the same `f64`, GEO as `longitude,latitude` and VECTOR as
//! little-endian FLOAT32 bytes.

use std::borrow::Cow;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::field_value::Kind;

use crate::schema::{Field, FieldKind, TagOptions};
use crate::validate::{InvalidValue, quote};
use crate::vector;

/// Maximum number of values in one TAG field.
pub const MAX_TAG_VALUES: usize = 1024;
/// Latitude limits of Redis geo indexes (Web Mercator), in degrees.
pub const MAX_LATITUDE: f64 = 85.051_128_78;

/// Encodes a non-vector field value for the document hash. The error's field path is empty; callers
/// prefix it.
pub fn encode_value(field: &Field, value: &pb::FieldValue) -> Result<Vec<u8>, InvalidValue> {
    let kind = value.kind.as_ref();
    match (&field.kind, kind) {
        (FieldKind::Text(_), Some(Kind::Text(text))) => {
            Ok(separate_words(text).into_owned().into_bytes())
        }
        (FieldKind::Tag(options), Some(Kind::Tags(tags))) => encode_tags(options, &tags.values),
        (FieldKind::Numeric(_), Some(Kind::Number(number))) => {
            if !number.is_finite() {
                return Err(InvalidValue::new(
                    "",
                    format!(
                        "{number} is not a finite number; NUMERIC fields hold finite numbers only"
                    ),
                ));
            }
            Ok(number.to_string().into_bytes())
        }
        (FieldKind::Geo, Some(Kind::Geo(point))) => encode_geo(point),
        (FieldKind::Vector(_), _) => Err(InvalidValue::new(
            "",
            format!(
                "{} is a VECTOR field; send its values in the document's vectors map",
                quote(&field.name)
            ),
        )),
        (_, None) => Err(InvalidValue::new(
            "",
            format!(
                "the value of {} is empty; set {}",
                quote(&field.name),
                expected_kind(field)
            ),
        )),
        (_, Some(_)) => Err(InvalidValue::new(
            "",
            format!(
                "{} is a {} field but the value is {}; send {}",
                quote(&field.name),
                field.type_name(),
                kind_name(kind),
                expected_kind(field)
            ),
        )),
    }
}

/// Replaces every white-space character other than space and tab with a space, so that it separates
/// words in the index. RediSearch 2.10.5 splits TEXT values into words only at space, tab and ASCII
/// punctuation, and drops line breaks and other ASCII control characters from inside a word, so it
/// would index "graph\nnetworks" as the one word "graphnetworks". Non-ASCII white space, such as
/// U+00A0, would stay part of the word. Searchers apply the same replacement to query text.
pub fn separate_words(text: &str) -> Cow<'_, str> {
    let is_replaced = |c: char| c.is_whitespace() && c != ' ' && c != '\t';
    if !text.contains(is_replaced) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_replaced(c) { ' ' } else { c })
            .collect(),
    )
}

/// Decodes a stored value; `None` when the bytes do not parse as the field's type, as when a hash was
/// written by another program.
pub fn decode_value(field: &Field, bytes: &[u8]) -> Option<pb::FieldValue> {
    let kind = match &field.kind {
        FieldKind::Text(_) => Kind::Text(String::from_utf8_lossy(bytes).into_owned()),
        FieldKind::Tag(options) => {
            let joined = String::from_utf8_lossy(bytes);
            let values = joined
                .split(options.separator)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .collect();
            Kind::Tags(pb::TagList { values })
        }
        FieldKind::Numeric(_) => {
            Kind::Number(std::str::from_utf8(bytes).ok()?.trim().parse().ok()?)
        }
        FieldKind::Geo => {
            let text = std::str::from_utf8(bytes).ok()?;
            let (longitude, latitude) = text.split_once(',')?;
            Kind::Geo(pb::GeoPoint {
                longitude: longitude.trim().parse().ok()?,
                latitude: latitude.trim().parse().ok()?,
            })
        }
        FieldKind::Vector(_) => return None,
    };
    Some(pb::FieldValue { kind: Some(kind) })
}

/// Decodes a stored vector; `None` when the length is not a multiple of 4 bytes.
pub fn decode_vector(bytes: &[u8]) -> Option<pb::Vector> {
    vector::decode(bytes).map(|values| pb::Vector { values })
}

fn encode_tags(options: &TagOptions, values: &[String]) -> Result<Vec<u8>, InvalidValue> {
    if values.is_empty() {
        return Err(InvalidValue::new(
            "",
            "the tag list is empty; send at least one value or leave the field out",
        ));
    }
    if values.len() > MAX_TAG_VALUES {
        return Err(InvalidValue::new(
            "",
            format!(
                "the tag list has {} values; send at most {MAX_TAG_VALUES}",
                values.len()
            ),
        ));
    }
    for value in values {
        if value.trim().is_empty() {
            return Err(InvalidValue::new(
                "",
                "a tag value is empty or blank; remove it",
            ));
        }
        if value.contains(options.separator) {
            return Err(InvalidValue::new(
                "",
                format!(
                    "tag value {} contains the field's separator {:?}; remove it or create the field with another separator",
                    quote(value),
                    options.separator
                ),
            ));
        }
        if value.trim() != value {
            return Err(InvalidValue::new(
                "",
                format!(
                    "tag value {} starts or ends with white space, which RediSearch strips; trim it",
                    quote(value)
                ),
            ));
        }
    }
    Ok(values.join(&options.separator.to_string()).into_bytes())
}

fn encode_geo(point: &pb::GeoPoint) -> Result<Vec<u8>, InvalidValue> {
    let pb::GeoPoint {
        longitude,
        latitude,
    } = *point;
    if !(-180.0..=180.0).contains(&longitude) {
        return Err(InvalidValue::new(
            "",
            format!("longitude {longitude} is out of range; use -180 to 180 degrees"),
        ));
    }
    if !(-MAX_LATITUDE..=MAX_LATITUDE).contains(&latitude) {
        return Err(InvalidValue::new(
            "",
            format!(
                "latitude {latitude} is out of range; Redis geo indexes take -{MAX_LATITUDE} to {MAX_LATITUDE} degrees"
            ),
        ));
    }
    Ok(format!("{longitude},{latitude}").into_bytes())
}

fn kind_name(kind: Option<&Kind>) -> &'static str {
    match kind {
        Some(Kind::Text(_)) => "text",
        Some(Kind::Tags(_)) => "tags",
        Some(Kind::Number(_)) => "number",
        Some(Kind::Geo(_)) => "geo",
        None => "empty",
    }
}

fn expected_kind(field: &Field) -> &'static str {
    match field.kind {
        FieldKind::Text(_) => "a text value",
        FieldKind::Tag(_) => "tags { values: [...] }",
        FieldKind::Numeric(_) => "a number value",
        FieldKind::Geo => "geo { longitude, latitude }",
        FieldKind::Vector(_) => "a vector",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{NumericOptions, TextOptions};

    fn field(name: &str, kind: FieldKind) -> Field {
        Field {
            name: name.to_owned(),
            index_missing: false,
            kind,
        }
    }

    fn tag_field() -> Field {
        field(
            "categories",
            FieldKind::Tag(TagOptions {
                separator: ',',
                case_sensitive: false,
                sortable: false,
            }),
        )
    }

    fn tags(values: &[&str]) -> pb::FieldValue {
        pb::FieldValue {
            kind: Some(Kind::Tags(pb::TagList {
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            })),
        }
    }

    #[test]
    fn text_line_breaks_become_spaces() {
        let options = TextOptions {
            weight: 1.0,
            no_stem: false,
            sortable: false,
            suggest: false,
        };
        let field = field("abstract", FieldKind::Text(options));
        let value = pb::FieldValue {
            kind: Some(Kind::Text(
                "alpha\nbeta\r\ngamma\tdelta\u{0B}epsilon\u{0C}zeta\u{A0}eta\u{2028}theta"
                    .to_owned(),
            )),
        };
        let encoded = encode_value(&field, &value).unwrap();
        assert_eq!(
            String::from_utf8(encoded).unwrap(),
            "alpha beta  gamma\tdelta epsilon zeta eta theta"
        );
    }

    #[test]
    fn text_without_line_breaks_borrowed() {
        assert!(matches!(
            separate_words("graph networks\tand trees"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn tags_round_trip() {
        let field = tag_field();
        let bytes = encode_value(&field, &tags(&["cs.LG", "stat.ML"])).unwrap();
        assert_eq!(bytes, b"cs.LG,stat.ML");
        assert_eq!(
            decode_value(&field, &bytes).unwrap(),
            tags(&["cs.LG", "stat.ML"])
        );
    }

    #[test]
    fn tags_reject_separator_and_padding() {
        let field = tag_field();
        let error = encode_value(&field, &tags(&["a,b"])).unwrap_err();
        assert!(error.message.contains("separator"), "{error}");
        let error = encode_value(&field, &tags(&[" a"])).unwrap_err();
        assert!(error.message.contains("white space"), "{error}");
        assert!(encode_value(&field, &tags(&[])).is_err());
    }

    #[test]
    fn numbers_round_trip_exactly() {
        let field = field(
            "year",
            FieldKind::Numeric(NumericOptions { sortable: true }),
        );
        for number in [2019.0, -0.1, 1e-300, 123_456_789.123_456_78] {
            let value = pb::FieldValue {
                kind: Some(Kind::Number(number)),
            };
            let bytes = encode_value(&field, &value).unwrap();
            assert_eq!(decode_value(&field, &bytes).unwrap(), value);
        }
        let value = pb::FieldValue {
            kind: Some(Kind::Number(f64::NAN)),
        };
        assert!(encode_value(&field, &value).is_err());
    }

    #[test]
    fn wrong_kind_names_both() {
        let field = field(
            "title",
            FieldKind::Text(TextOptions {
                weight: 1.0,
                no_stem: false,
                sortable: false,
                suggest: false,
            }),
        );
        let error = encode_value(
            &field,
            &pb::FieldValue {
                kind: Some(Kind::Number(1.0)),
            },
        )
        .unwrap_err();
        assert!(
            error.message.contains("TEXT field but the value is number"),
            "{error}"
        );
    }

    #[test]
    fn geo_checks_ranges() {
        let field = field("location", FieldKind::Geo);
        let point = |longitude, latitude| pb::FieldValue {
            kind: Some(Kind::Geo(pb::GeoPoint {
                longitude,
                latitude,
            })),
        };
        assert_eq!(
            encode_value(&field, &point(2.35, 48.85)).unwrap(),
            b"2.35,48.85"
        );
        assert!(encode_value(&field, &point(181.0, 0.0)).is_err());
        assert!(encode_value(&field, &point(0.0, 89.0)).is_err());
    }
}
