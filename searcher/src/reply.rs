//! Parsing of FT.SEARCH replies (RESP2) from raw `redis::Value`s, so that field values stay bytes until
//! the schema decodes them.
//!
//! The reply is `[total, key1, [name, value, ...], key2, [...], ...]`; with `LIMIT 0 0` it is `[total]`.
//! WITHSCORES puts each document's score after its key, and NOCONTENT leaves out the field lists.
//! FT.AGGREGATE replies `[count, [name, value, ...], ...]`, one list per row.

use anyhow::{Context as _, anyhow, bail};
use redis::Value;

/// A parsed FT.SEARCH reply.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchReply {
    /// The number of matching documents that RediSearch reports. For a KNN query this is the number of
    /// neighbours found, not the number of documents that pass the filter.
    pub total: u64,
    pub documents: Vec<ReplyDocument>,
}

/// One document of a reply, with its returned fields in reply order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyDocument {
    pub key: Vec<u8>,
    /// The scorer's score, with WITHSCORES.
    pub score: Option<f64>,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The parts of each document that an FT.SEARCH reply contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyShape {
    /// WITHSCORES: a score follows each key.
    pub scores: bool,
    /// Not NOCONTENT: a field list follows each key (and score).
    pub content: bool,
}

impl ReplyShape {
    /// A reply with field lists and without scores, as FT.SEARCH sends by default.
    pub const FIELDS: ReplyShape = ReplyShape {
        scores: false,
        content: true,
    };
}

impl ReplyDocument {
    /// Returns the value of a returned field.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(field, _)| field == name.as_bytes())
            .map(|(_, value)| value.as_slice())
    }
}

/// Parses a reply to FT.SEARCH with returned fields.
pub fn parse_search_reply(reply: Value) -> anyhow::Result<SearchReply> {
    parse_search_reply_as(reply, ReplyShape::FIELDS)
}

/// Parses a reply to FT.SEARCH of the given shape.
pub fn parse_search_reply_as(reply: Value, shape: ReplyShape) -> anyhow::Result<SearchReply> {
    let Value::Array(items) = reply else {
        bail!("FT.SEARCH replied {reply:?}, not an array");
    };
    let mut items = items.into_iter();
    let total = match items.next() {
        Some(Value::Int(total)) => u64::try_from(total)
            .with_context(|| format!("FT.SEARCH replied a negative total {total}"))?,
        other => bail!("FT.SEARCH replied {other:?} where the total belongs"),
    };

    let mut documents = Vec::new();
    while let Some(key) = items.next() {
        let key =
            bulk_bytes(key).context("FT.SEARCH replied a document key that is not a string")?;
        let score = if shape.scores {
            Some(parse_score(items.next())?)
        } else {
            None
        };
        let fields = if shape.content {
            match items.next() {
                Some(Value::Array(pairs)) => parse_pairs(pairs)?,
                // Nil in place of a field list is read as a document without fields.
                Some(Value::Nil) => Vec::new(),
                other => {
                    bail!("FT.SEARCH replied {other:?} where the fields of a document belong")
                }
            }
        } else {
            Vec::new()
        };
        documents.push(ReplyDocument { key, score, fields });
    }
    Ok(SearchReply { total, documents })
}

/// Parses a reply to `FT.SEARCH ... LIMIT 0 0`, which contains only the total.
pub fn parse_count_reply(reply: Value) -> anyhow::Result<u64> {
    Ok(parse_search_reply(reply)?.total)
}

/// One row of an FT.AGGREGATE reply: (name, value) pairs in reply order. A value that is not a string,
/// such as the nil of a missing property, is `None`.
pub type AggregateRow = Vec<(String, Option<String>)>;

/// Parses a reply to FT.AGGREGATE into its rows.
pub fn parse_aggregate_reply(reply: Value) -> anyhow::Result<Vec<AggregateRow>> {
    let Value::Array(items) = reply else {
        bail!("FT.AGGREGATE replied {reply:?}, not an array");
    };
    let mut rows = Vec::with_capacity(items.len().saturating_sub(1));
    // The first item counts the rows before LIMIT; the rows themselves follow.
    for item in items.into_iter().skip(1) {
        let Value::Array(pairs) = item else {
            bail!("FT.AGGREGATE replied {item:?} where a row belongs");
        };
        if !pairs.len().is_multiple_of(2) {
            bail!(
                "FT.AGGREGATE replied a row of {} items, not name and value pairs",
                pairs.len()
            );
        }
        let mut row = Vec::with_capacity(pairs.len() / 2);
        let mut pairs = pairs.into_iter();
        while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
            let name = bulk_bytes(name)
                .context("FT.AGGREGATE replied a property name that is not a string")?;
            let value = bulk_bytes(value).ok();
            row.push((
                String::from_utf8_lossy(&name).into_owned(),
                value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            ));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn parse_score(item: Option<Value>) -> anyhow::Result<f64> {
    let bytes = match item {
        Some(Value::Double(score)) => return Ok(score),
        Some(value) => {
            bulk_bytes(value).context("FT.SEARCH replied a score that is not a string")?
        }
        None => bail!("FT.SEARCH replied no score after a document key"),
    };
    let text = std::str::from_utf8(&bytes).context("the score is not UTF-8")?;
    text.trim()
        .parse()
        .with_context(|| format!("the score {text:?} is not a number"))
}

fn parse_pairs(pairs: Vec<Value>) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !pairs.len().is_multiple_of(2) {
        bail!(
            "FT.SEARCH replied {} field items, not name and value pairs",
            pairs.len()
        );
    }
    let mut fields = Vec::with_capacity(pairs.len() / 2);
    let mut pairs = pairs.into_iter();
    while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
        let name =
            bulk_bytes(name).context("FT.SEARCH replied a field name that is not a string")?;
        let value =
            bulk_bytes(value).context("FT.SEARCH replied a field value that is not a string")?;
        fields.push((name, value));
    }
    Ok(fields)
}

fn bulk_bytes(value: Value) -> anyhow::Result<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
        Value::Int(number) => Ok(number.to_string().into_bytes()),
        other => Err(anyhow!("unexpected {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::bulk;

    #[test]
    fn reply_with_fields_parses() {
        let reply = Value::Array(vec![
            Value::Int(2),
            bulk("ns:doc:papers:a"),
            Value::Array(vec![
                bulk("__distance"),
                bulk("0.25"),
                bulk("title"),
                bulk("A"),
            ]),
            bulk("ns:doc:papers:b"),
            Value::Array(vec![bulk("__distance"), bulk("0.5")]),
        ]);
        let parsed = parse_search_reply(reply).unwrap();
        assert_eq!(parsed.total, 2);
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.documents[0].key, b"ns:doc:papers:a");
        assert_eq!(parsed.documents[0].field("title"), Some(&b"A"[..]));
        assert_eq!(parsed.documents[1].field("__distance"), Some(&b"0.5"[..]));
        assert_eq!(parsed.documents[1].field("title"), None);
    }

    #[test]
    fn binary_values_stay_bytes() {
        let reply = Value::Array(vec![
            Value::Int(1),
            bulk("k"),
            Value::Array(vec![bulk("v"), Value::BulkString(vec![0xff, 0x00, 0x80])]),
        ]);
        let parsed = parse_search_reply(reply).unwrap();
        assert_eq!(
            parsed.documents[0].field("v"),
            Some(&[0xff, 0x00, 0x80][..])
        );
    }

    #[test]
    fn count_reply_parses() {
        assert_eq!(
            parse_count_reply(Value::Array(vec![Value::Int(42)])).unwrap(),
            42
        );
    }

    #[test]
    fn odd_field_list_rejected() {
        let reply = Value::Array(vec![
            Value::Int(1),
            bulk("k"),
            Value::Array(vec![bulk("title")]),
        ]);
        let error = parse_search_reply(reply).unwrap_err().to_string();
        assert!(error.contains("not name and value pairs"), "{error}");
    }

    #[test]
    fn scored_reply_without_content_parses() {
        let reply = Value::Array(vec![
            Value::Int(2),
            bulk("k1"),
            bulk("1.5"),
            bulk("k2"),
            bulk("0.25"),
        ]);
        let shape = ReplyShape {
            scores: true,
            content: false,
        };
        let parsed = parse_search_reply_as(reply, shape).unwrap();
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.documents[0].score, Some(1.5));
        assert_eq!(parsed.documents[1].key, b"k2");
        assert!(parsed.documents[1].fields.is_empty());
    }

    #[test]
    fn scored_reply_with_content_parses() {
        let reply = Value::Array(vec![
            Value::Int(1),
            bulk("k1"),
            bulk("2"),
            Value::Array(vec![bulk("title"), bulk("A")]),
        ]);
        let shape = ReplyShape {
            scores: true,
            content: true,
        };
        let parsed = parse_search_reply_as(reply, shape).unwrap();
        assert_eq!(parsed.documents[0].score, Some(2.0));
        assert_eq!(parsed.documents[0].field("title"), Some(&b"A"[..]));
    }

    #[test]
    fn non_numeric_score_rejected() {
        let reply = Value::Array(vec![Value::Int(1), bulk("k1"), bulk("high")]);
        let shape = ReplyShape {
            scores: true,
            content: false,
        };
        let error = parse_search_reply_as(reply, shape).unwrap_err();
        assert!(format!("{error:#}").contains("not a number"), "{error:#}");
    }

    #[test]
    fn aggregate_rows_parse_with_nil() {
        let reply = Value::Array(vec![
            Value::Int(2),
            Value::Array(vec![bulk("value"), bulk("cs.LG"), bulk("count"), bulk("3")]),
            Value::Array(vec![bulk("value"), Value::Nil, bulk("count"), bulk("1")]),
        ]);
        let rows = parse_aggregate_reply(reply).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![
                ("value".to_owned(), Some("cs.LG".to_owned())),
                ("count".to_owned(), Some("3".to_owned()))
            ]
        );
        assert_eq!(rows[1][0], ("value".to_owned(), None));
    }

    #[test]
    fn missing_total_rejected() {
        let error = parse_search_reply(Value::Array(vec![]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("where the total belongs"), "{error}");
    }
}
