//! Parsing of FT.SEARCH replies (RESP2) from raw `redis::Value`s, so that field values stay bytes until
//! the schema decodes them.
//!
//! The reply is `[total, key1, [name, value, ...], key2, [...], ...]`; with `LIMIT 0 0` it is `[total]`.

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
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
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
        let fields = match items.next() {
            Some(Value::Array(pairs)) => parse_pairs(pairs)?,
            // Nil in place of a field list is read as a document without fields.
            Some(Value::Nil) => Vec::new(),
            other => bail!("FT.SEARCH replied {other:?} where the fields of a document belong"),
        };
        documents.push(ReplyDocument { key, fields });
    }
    Ok(SearchReply { total, documents })
}

/// Parses a reply to `FT.SEARCH ... LIMIT 0 0`, which contains only the total.
pub fn parse_count_reply(reply: Value) -> anyhow::Result<u64> {
    Ok(parse_search_reply(reply)?.total)
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

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

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
    fn missing_total_rejected() {
        let error = parse_search_reply(Value::Array(vec![]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("where the total belongs"), "{error}");
    }
}
