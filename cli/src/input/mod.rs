//! Input files: reading their records and converting each record into a document.
//!
//! A converter is a function of one [`Record`] (its JSON value, line number and, in a JSON object
//! file, its key) that returns a document or the reason the record is malformed.

pub mod arxiv;
pub mod mapping;
pub mod reader;

use docsearch_proto::v1 as pb;
use serde_json::Value;

/// One record of an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Line of the file where the record starts, from 1.
    pub line: u64,
    /// The record's key when the file is one JSON object of records.
    pub key: Option<String>,
    pub value: Value,
}

/// A record that cannot become a document, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: u64,
    pub reason: String,
}

/// Turns records of one input format into documents.
#[derive(Debug)]
pub enum Converter {
    Arxiv,
    Mapping(mapping::Mapping),
}

impl Converter {
    pub fn convert(&self, record: &Record) -> Result<pb::Document, String> {
        match self {
            Converter::Arxiv => arxiv::to_document(record),
            Converter::Mapping(mapping) => mapping.to_document(record),
        }
    }

    /// Names the input for messages, such as "the arxiv format".
    pub fn description(&self) -> &'static str {
        match self {
            Converter::Arxiv => "the arxiv format",
            Converter::Mapping(_) => "the mapping",
        }
    }

    /// Names of the index fields and vectors that converted documents may contain.
    pub fn field_names(&self) -> Vec<&str> {
        match self {
            Converter::Arxiv => arxiv::FIELD_NAMES.to_vec(),
            Converter::Mapping(mapping) => mapping.field_names(),
        }
    }

    /// Names of the vectors that converted documents carry, so the indexer needs not embed them.
    pub fn vector_names(&self) -> Vec<&str> {
        match self {
            Converter::Arxiv => Vec::new(),
            Converter::Mapping(mapping) => mapping.vector_names(),
        }
    }

    /// True when the document id is the record's key, which only JSON object files have.
    pub fn uses_object_key(&self) -> bool {
        match self {
            Converter::Arxiv => false,
            Converter::Mapping(mapping) => mapping.uses_object_key(),
        }
    }
}

/// Replaces each run of white space with one space and trims both ends.
pub fn normalize_whitespace(text: &str) -> String {
    let mut normalized = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        normalized.push_str(word);
    }
    normalized
}

/// Returns the JSON type of a value with its article, for messages such as "title is a number".
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn text_value(text: String) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Text(text)),
    }
}

pub fn tags_value(values: Vec<String>) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Tags(pb::TagList { values })),
    }
}

pub fn number_value(number: f64) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Number(number)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_become_one_space() {
        assert_eq!(
            normalize_whitespace("  Graph\n  Neural\tNetworks \n"),
            "Graph Neural Networks"
        );
        assert_eq!(normalize_whitespace(" \n\t "), "");
        assert_eq!(normalize_whitespace("one"), "one");
    }

    #[test]
    fn json_type_names() {
        assert_eq!(json_type(&serde_json::json!(3)), "a number");
        assert_eq!(json_type(&serde_json::json!([])), "an array");
        assert_eq!(json_type(&Value::Null), "null");
    }
}
