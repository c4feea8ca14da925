//! Facets: value counts over the documents that a query matches, one FT.AGGREGATE per facet.
//!
//! | facet               | pipeline after `LOAD 1 @f FILTER "exists(@f)"`                                     |
//! |---------------------|-------------------------------------------------------------------------------------|
//! | TAG                 | `APPLY "split(@f, \",\")" AS __value GROUPBY 1 @__value REDUCE COUNT 0 AS __count`, most frequent first |
//! | NUMERIC boundaries  | `APPLY "(@f >= b0) + (@f >= b1) + ..." AS __bucket GROUPBY ...`: bucket i contains the values with i + 1 boundaries at or below them |
//! | NUMERIC interval    | `APPLY "floor(@f / w)" AS __bucket GROUPBY ...`, lowest bucket first               |
//!
//! An interval bucket n spans `[n*w, (n+1)*w)`. An interval so small against the values that a bucket
//! number reaches 2^53, or that a bucket's bounds come out equal in FLOAT64, is rejected as invalid,
//! because such buckets would have no width. RediSearch also prints bucket numbers that large with 12
//! significant digits only.
//!
//! `split` turns a stored TAG value into its values, and GROUPBY counts a document once under each of
//! them. The EXISTS filter leaves out documents without the field, which `split` and the arithmetic
//! reject.
//!
//! NOTE: TAG buckets keep the stored spelling, so on a field without CASESENSITIVE the values "ML"
//! and "ml" get separate buckets, while a tag filter on either matches both.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use docsearch_proto::v1 as pb;
use docsearch_runtime::InvalidValue;
use docsearch_runtime::schema::Field;
use docsearch_runtime::validate::quote;
use redis::Value;

use crate::error::display_number;
use crate::filter::format_number;
use crate::reply::parse_aggregate_reply;
use crate::request::{Facet, FacetKind, MAX_FACET_BUCKETS};

/// Query dialect of every command.
const DIALECT: u32 = 2;
/// Name of the TAG value or bucket number in the pipeline.
const VALUE: &str = "__value";
/// Name of the count in the pipeline.
const COUNT: &str = "__count";
/// 2^53, the bound on the magnitude of interval bucket numbers: below it, n and n + 1 are distinct
/// integers in FLOAT64.
const BUCKET_NUMBER_LIMIT: f64 = 9_007_199_254_740_992.0;
/// The interval that an error suggests is the values' magnitude times 2^-50, so that bucket numbers
/// stay below 2^50 and each bucket spans several FLOAT64 steps.
const SUGGESTED_INTERVAL_FRACTION: f64 = 1.0 / 1_125_899_906_842_624.0;

/// A failure to turn the reply to a facet into buckets.
#[derive(Debug, thiserror::Error)]
pub enum FacetError {
    /// The interval cannot number the buckets of the matched values. The error's field is `interval`.
    #[error("{0}")]
    Interval(InvalidValue),
    /// The reply does not have the shape that the command requests.
    #[error(transparent)]
    Reply(#[from] anyhow::Error),
}

/// The documents that a query matches, as an FT.AGGREGATE query with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchSet {
    pub query: String,
    pub params: Vec<(&'static str, Vec<u8>)>,
    /// The key of a document that matches the query but is left out, as with
    /// `exclude_similar_document`.
    pub excluded_key: Option<String>,
}

impl MatchSet {
    /// Returns the documents that pass `filter`, or every document without one.
    pub fn filtered(filter: Option<&str>) -> Self {
        Self {
            query: filter.unwrap_or("*").to_owned(),
            params: Vec::new(),
            excluded_key: None,
        }
    }
}

/// Builds the FT.AGGREGATE command of one facet.
pub fn command(
    search_index: &str,
    matches: &MatchSet,
    facet: &Facet,
    server_timeout: Duration,
) -> redis::Cmd {
    let field = &facet.field.name;
    let mut command = redis::cmd("FT.AGGREGATE");
    command.arg(search_index).arg(&matches.query);
    if !matches.params.is_empty() {
        command.arg("PARAMS").arg(matches.params.len() * 2);
        for (name, value) in &matches.params {
            command.arg(*name).arg(value.as_slice());
        }
    }
    command
        .arg("TIMEOUT")
        .arg(server_timeout.as_millis().max(1).to_string());
    match &matches.excluded_key {
        Some(key) => command
            .arg("LOAD")
            .arg(2)
            .arg(format!("@{field}"))
            .arg("@__key")
            .arg("FILTER")
            .arg(format!("@__key != {}", expression_string(key))),
        None => command.arg("LOAD").arg(1).arg(format!("@{field}")),
    };
    command
        .arg("FILTER")
        .arg(format!("exists(@{field})"))
        .arg("APPLY")
        .arg(value_expression(field, &facet.kind))
        .arg("AS")
        .arg(VALUE)
        .arg("GROUPBY")
        .arg(1)
        .arg(format!("@{VALUE}"))
        .arg("REDUCE")
        .arg("COUNT")
        .arg(0)
        .arg("AS")
        .arg(COUNT);
    match &facet.kind {
        FacetKind::Tag { limit, .. } => {
            command
                .arg("SORTBY")
                .arg(4)
                .arg(format!("@{COUNT}"))
                .arg("DESC")
                .arg(format!("@{VALUE}"))
                .arg("ASC")
                .arg("LIMIT")
                .arg(0)
                .arg(*limit);
        }
        FacetKind::Boundaries(boundaries) => {
            // Groups 0 to boundaries.len(), of which the first and last lie outside every bucket.
            command.arg("LIMIT").arg(0).arg(boundaries.len() + 1);
        }
        FacetKind::Interval(_) => {
            command
                .arg("SORTBY")
                .arg(2)
                .arg(format!("@{VALUE}"))
                .arg("ASC")
                .arg("LIMIT")
                .arg(0)
                .arg(MAX_FACET_BUCKETS);
        }
    }
    command.arg("DIALECT").arg(DIALECT);
    command
}

/// Writes a string literal of the FT.AGGREGATE expression language: in double quotes, with a backslash
/// before `"` and `\`.
fn expression_string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('"');
    literal
}

/// Writes the APPLY expression that maps a document to its TAG values or bucket number.
fn value_expression(field: &str, kind: &FacetKind) -> String {
    match kind {
        FacetKind::Tag { separator, .. } => {
            let escape = if matches!(separator, '"' | '\\') {
                "\\"
            } else {
                ""
            };
            format!("split(@{field}, \"{escape}{separator}\")")
        }
        FacetKind::Boundaries(boundaries) => boundaries
            .iter()
            .map(|boundary| format!("(@{field} >= {})", format_number(*boundary)))
            .collect::<Vec<_>>()
            .join(" + "),
        FacetKind::Interval(width) => format!("floor(@{field} / {})", format_number(*width)),
    }
}

/// Builds the result of one facet from its FT.AGGREGATE reply.
pub fn parse(reply: Value, facet: &Facet) -> Result<pb::FacetResult, FacetError> {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for row in parse_aggregate_reply(reply)? {
        let value = row_property(&row, VALUE)?;
        let count = row_property(&row, COUNT)?;
        let (Some(value), Some(count)) = (value, count) else {
            // A document whose value is missing after EXISTS, as when it changed meanwhile.
            continue;
        };
        let count: u64 = count
            .parse()
            .with_context(|| format!("the facet count {count:?} is not a whole number"))?;
        counts.push((value.to_owned(), count));
    }

    let buckets = match &facet.kind {
        FacetKind::Tag { .. } => counts
            .into_iter()
            .map(|(value, count)| pb::FacetBucket {
                value,
                min: None,
                max: None,
                count,
            })
            .collect(),
        FacetKind::Boundaries(boundaries) => boundary_buckets(boundaries, &counts)?,
        FacetKind::Interval(width) => interval_buckets(&facet.field, *width, &counts)?,
    };
    Ok(pb::FacetResult {
        field: facet.field.name.clone(),
        buckets,
    })
}

fn row_property<'r>(
    row: &'r [(String, Option<String>)],
    name: &str,
) -> anyhow::Result<Option<&'r str>> {
    row.iter()
        .find(|(property, _)| property == name)
        .map(|(_, value)| value.as_deref())
        .ok_or_else(|| anyhow!("an FT.AGGREGATE row lacks {name}: {row:?}"))
}

/// Lists every bucket between the boundaries, empty ones included, in boundary order.
fn boundary_buckets(
    boundaries: &[f64],
    counts: &[(String, u64)],
) -> anyhow::Result<Vec<pb::FacetBucket>> {
    let mut per_group = vec![0u64; boundaries.len() + 1];
    for (group, count) in counts {
        let group: usize = group
            .trim()
            .parse()
            .with_context(|| format!("the boundary group {group:?} is not a whole number"))?;
        let slot = per_group
            .get_mut(group)
            .ok_or_else(|| anyhow!("boundary group {group} is out of range"))?;
        *slot += count;
    }
    let buckets = boundaries
        .windows(2)
        .enumerate()
        .map(|(position, pair)| numeric_bucket(pair[0], pair[1], per_group[position + 1]))
        .collect();
    Ok(buckets)
}

/// Lists the non-empty interval buckets, lowest first.
fn interval_buckets(
    field: &Field,
    width: f64,
    counts: &[(String, u64)],
) -> Result<Vec<pb::FacetBucket>, FacetError> {
    let mut numbered: Vec<(f64, u64)> = Vec::with_capacity(counts.len());
    for (group, count) in counts {
        // A stored -0 divides to floor(-0 / w) = -0, which GROUPBY keeps apart from 0. Adding 0.0
        // turns -0.0 into 0.0, so both land in bucket 0.
        let number = parse_group(group)? + 0.0;
        numbered.push((number, *count));
    }
    numbered.sort_by(|a, b| a.0.total_cmp(&b.0));
    numbered.dedup_by(|later, kept| {
        let same_bucket = later.0 == kept.0;
        if same_bucket {
            kept.1 += later.1;
        }
        same_bucket
    });

    let mut buckets = Vec::with_capacity(numbered.len());
    for (number, count) in numbered {
        let (min, max) = (number * width, (number + 1.0) * width);
        check_bucket(field, width, number, min, max)?;
        buckets.push(numeric_bucket(min, max, count));
    }
    Ok(buckets)
}

/// Rejects an interval bucket `[min, max)` with number `number` that has no width in FLOAT64 or ends
/// beyond its range.
fn check_bucket(
    field: &Field,
    width: f64,
    number: f64,
    min: f64,
    max: f64,
) -> Result<(), FacetError> {
    let interval = display_number(width);
    let name = quote(&field.name);
    let message = if !number.is_finite() {
        format!(
            "{interval} is too small for the values of {name}: dividing them by it overflows FLOAT64; send a larger interval"
        )
    } else if !max.is_finite() {
        format!(
            "{interval} is too large for the values of {name}: a bucket would end beyond the FLOAT64 range; send a smaller interval"
        )
    } else if number.abs() >= BUCKET_NUMBER_LIMIT || min >= max {
        let magnitude = min.abs().max(max.abs());
        format!(
            "{interval} is too small for the values of {name}: values near {} fall in bucket number {number:e}, whose bounds FLOAT64 cannot tell apart; send an interval of at least {:.1e}",
            tidy(min),
            magnitude * SUGGESTED_INTERVAL_FRACTION
        )
    } else {
        return Ok(());
    };
    Err(FacetError::Interval(InvalidValue::new("interval", message)))
}

fn parse_group(group: &str) -> anyhow::Result<f64> {
    group
        .trim()
        .parse()
        .with_context(|| format!("the facet bucket {group:?} is not a number"))
}

fn numeric_bucket(min: f64, max: f64, count: u64) -> pb::FacetBucket {
    pb::FacetBucket {
        value: format!("[{}, {})", tidy(min), tidy(max)),
        min: Some(min),
        max: Some(max),
        count,
    }
}

/// Formats a bound for a bucket label, rounded to 13 significant digits so that products such as
/// 3 × 0.1 read 0.3, and in exponent form when huge or tiny (see [`display_number`]).
fn tidy(value: f64) -> String {
    let rounded: f64 = format!("{value:.12e}").parse().unwrap_or(value);
    display_number(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{bulk, words};
    use docsearch_runtime::schema::{Field, FieldKind, NumericOptions, TagOptions};

    fn row(value: Value, count: &str) -> Value {
        Value::Array(vec![bulk(VALUE), value, bulk(COUNT), bulk(count)])
    }

    fn facet(kind: FacetKind) -> Facet {
        let field_kind = match kind {
            FacetKind::Tag { separator, .. } => FieldKind::Tag(TagOptions {
                separator,
                case_sensitive: false,
                sortable: false,
            }),
            _ => FieldKind::Numeric(NumericOptions { sortable: false }),
        };
        Facet {
            field: Field {
                name: "f".to_owned(),
                index_missing: false,
                kind: field_kind,
            },
            kind,
        }
    }

    #[test]
    fn tag_command_counts_split_values() {
        let command = command(
            "ns:idx:papers",
            &MatchSet::filtered(Some("@year:[2000 +inf]")),
            &facet(FacetKind::Tag {
                limit: 5,
                separator: ',',
            }),
            Duration::from_secs(2),
        );
        assert_eq!(
            words(&command).join(" "),
            "FT.AGGREGATE ns:idx:papers @year:[2000 +inf] TIMEOUT 2000 LOAD 1 @f FILTER exists(@f) APPLY split(@f, \",\") AS __value GROUPBY 1 @__value REDUCE COUNT 0 AS __count SORTBY 4 @__count DESC @__value ASC LIMIT 0 5 DIALECT 2"
        );
    }

    #[test]
    fn excluded_key_filtered_out() {
        let matches = MatchSet {
            excluded_key: Some(r#"ns:doc:papers:a"b\c"#.to_owned()),
            ..MatchSet::filtered(None)
        };
        let command = command(
            "i",
            &matches,
            &facet(FacetKind::Interval(1.0)),
            Duration::from_secs(1),
        );
        let words = words(&command);
        assert_eq!(
            words[5..11],
            [
                "LOAD",
                "2",
                "@f",
                "@__key",
                "FILTER",
                r#"@__key != "ns:doc:papers:a\"b\\c""#
            ]
        );
    }

    #[test]
    fn quote_separator_escaped() {
        let expression = value_expression(
            "f",
            &FacetKind::Tag {
                limit: 1,
                separator: '"',
            },
        );
        assert_eq!(expression, r#"split(@f, "\"")"#);
    }

    #[test]
    fn boundary_expression_counts_boundaries() {
        let expression = value_expression("year", &FacetKind::Boundaries(vec![2000.0, 2010.5]));
        assert_eq!(expression, "(@year >= 2e3) + (@year >= 2010.5)");
    }

    #[test]
    fn command_passes_params() {
        let matches = MatchSet {
            query: "@v:[VECTOR_RANGE $RADIUS $BLOB]".to_owned(),
            params: vec![("RADIUS", b"0.5".to_vec()), ("BLOB", vec![0, 1])],
            excluded_key: None,
        };
        let command = command(
            "i",
            &matches,
            &facet(FacetKind::Interval(5.0)),
            Duration::from_millis(10),
        );
        let words = words(&command);
        assert_eq!(
            words[3..9],
            ["PARAMS", "4", "RADIUS", "0.5", "BLOB", "\u{0}\u{1}"]
        );
        assert!(
            words.join(" ").contains("APPLY floor(@f / 5) AS __value"),
            "{words:?}"
        );
    }

    #[test]
    fn tag_buckets_keep_reply_order() {
        let reply = Value::Array(vec![
            Value::Int(2),
            row(bulk("cs.LG"), "7"),
            row(bulk("math.CO"), "2"),
        ]);
        let result = parse(
            reply,
            &facet(FacetKind::Tag {
                limit: 10,
                separator: ',',
            }),
        )
        .unwrap();
        let values: Vec<(&str, u64)> = result
            .buckets
            .iter()
            .map(|bucket| (bucket.value.as_str(), bucket.count))
            .collect();
        assert_eq!(values, [("cs.LG", 7), ("math.CO", 2)]);
        assert_eq!(result.field, "f");
    }

    #[test]
    fn boundary_buckets_include_empty_and_drop_outside() {
        let reply = Value::Array(vec![
            Value::Int(3),
            row(bulk("0"), "4"),
            row(bulk("2"), "3"),
            row(bulk("3"), "9"),
        ]);
        let result = parse(reply, &facet(FacetKind::Boundaries(vec![0.0, 10.0, 20.0]))).unwrap();
        assert_eq!(result.buckets.len(), 2);
        assert_eq!(result.buckets[0].value, "[0, 10)");
        assert_eq!(result.buckets[0].count, 0);
        assert_eq!(result.buckets[1].min, Some(10.0));
        assert_eq!(result.buckets[1].max, Some(20.0));
        assert_eq!(result.buckets[1].count, 3);
    }

    #[test]
    fn interval_buckets_sorted_with_bounds() {
        let reply = Value::Array(vec![
            Value::Int(2),
            row(bulk("3"), "1"),
            row(bulk("-1"), "2"),
        ]);
        let result = parse(reply, &facet(FacetKind::Interval(0.1))).unwrap();
        assert_eq!(result.buckets[0].value, "[-0.1, 0)");
        assert_eq!(result.buckets[0].count, 2);
        assert_eq!(result.buckets[1].value, "[0.3, 0.4)");
        assert_eq!(result.buckets[1].min, Some(3.0 * 0.1));
    }

    #[test]
    fn negative_zero_joins_bucket_zero() {
        let reply = Value::Array(vec![
            Value::Int(3),
            row(bulk("0"), "8"),
            row(bulk("-0"), "1"),
            row(bulk("-1"), "1"),
        ]);
        let result = parse(reply, &facet(FacetKind::Interval(10.0))).unwrap();
        let labels: Vec<(&str, u64)> = result
            .buckets
            .iter()
            .map(|bucket| (bucket.value.as_str(), bucket.count))
            .collect();
        assert_eq!(labels, [("[-10, 0)", 1), ("[0, 10)", 9)]);
    }

    #[test]
    fn tiny_interval_rejected() {
        // floor(2010 / 1e-300), as RediSearch prints it.
        let reply = Value::Array(vec![Value::Int(1), row(bulk("2.01e+303"), "1")]);
        let error = parse(reply, &facet(FacetKind::Interval(1e-300))).unwrap_err();
        let FacetError::Interval(invalid) = error else {
            panic!("expected an invalid interval, got {error:#}");
        };
        assert_eq!(invalid.field, "interval");
        assert!(
            invalid.message.starts_with("1e-300 is too small"),
            "{invalid}"
        );
        assert!(
            invalid.message.contains("values near 2010 fall"),
            "{invalid}"
        );
        assert!(
            invalid.message.contains("send an interval of at least"),
            "{invalid}"
        );
    }

    #[test]
    fn overflowing_bucket_number_rejected() {
        let reply = Value::Array(vec![Value::Int(1), row(bulk("inf"), "1")]);
        let error = parse(reply, &facet(FacetKind::Interval(1e-320))).unwrap_err();
        assert!(
            matches!(&error, FacetError::Interval(invalid) if invalid.message.contains("overflows FLOAT64")),
            "{error:#}"
        );
    }

    #[test]
    fn bucket_number_limit_applies() {
        let reply = Value::Array(vec![Value::Int(1), row(bulk("9007199254740992"), "1")]);
        assert!(parse(reply, &facet(FacetKind::Interval(1.0))).is_err());
        let reply = Value::Array(vec![Value::Int(1), row(bulk("1125899906842624"), "1")]);
        let result = parse(reply, &facet(FacetKind::Interval(1e-12))).unwrap();
        let bucket = &result.buckets[0];
        assert!(bucket.max.unwrap() > bucket.min.unwrap(), "{bucket:?}");
    }

    #[test]
    fn bucket_end_beyond_range_rejected() {
        let reply = Value::Array(vec![Value::Int(1), row(bulk("1"), "1")]);
        let error = parse(reply, &facet(FacetKind::Interval(1e308))).unwrap_err();
        assert!(
            matches!(&error, FacetError::Interval(invalid) if invalid.message.contains("send a smaller interval")),
            "{error:#}"
        );
    }

    #[test]
    fn huge_bounds_labelled_compactly() {
        let reply = Value::Array(vec![Value::Int(1), row(bulk("0"), "1")]);
        let result = parse(reply, &facet(FacetKind::Interval(1e308))).unwrap();
        assert_eq!(result.buckets[0].value, "[0, 1e308)");
        let reply = Value::Array(vec![Value::Int(1), row(bulk("200"), "1")]);
        let result = parse(reply, &facet(FacetKind::Interval(10.0))).unwrap();
        assert_eq!(result.buckets[0].value, "[2000, 2010)");
    }

    #[test]
    fn nil_value_row_skipped() {
        let reply = Value::Array(vec![Value::Int(1), row(Value::Nil, "5")]);
        let result = parse(
            reply,
            &facet(FacetKind::Tag {
                limit: 10,
                separator: ',',
            }),
        )
        .unwrap();
        assert!(result.buckets.is_empty());
    }

    #[test]
    fn non_numeric_bucket_rejected() {
        let reply = Value::Array(vec![Value::Int(1), row(bulk("x"), "5")]);
        let error = parse(reply, &facet(FacetKind::Interval(1.0))).unwrap_err();
        assert!(format!("{error:#}").contains("not a number"), "{error:#}");
    }
}
