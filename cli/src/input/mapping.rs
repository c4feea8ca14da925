//! Mapping files: TOML that defines how the records of a generic JSON file become documents.
//!
//! ```toml
//! # Document id: a record field, or "$key" for the key of each record in a JSON object file.
//! id = "$key"
//!
//! # Each section maps index fields to record fields. A value is the record field's name, or a table
//! # with `from` (default: the index field's name) and the section's options.
//! [text]
//! title = "title"
//! extract = { from = "extract", normalize_whitespace = true }
//!
//! [tag]
//! # A string value becomes one tag, or several when `separator` splits it (" " splits on white space).
//! # An array value becomes one tag per element.
//! topic = { from = "topic" }
//!
//! [numeric]
//! year = "year"         # a JSON number, or a string that contains one
//!
//! [vector]
//! embedding = "vector"  # a JSON array of numbers
//! ```
//!
//! A record field name that starts with "/" is a JSON Pointer (RFC 6901) into the record, such as
//! "/meta/title". A missing or null record field leaves its index field out of the document.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context as _;
use docsearch_proto::v1 as pb;
use serde_json::Value;

use super::{Record, json_type, normalize_whitespace, number_value, tags_value, text_value};

/// The id value of a mapping that takes ids from the keys of a JSON object file.
pub const OBJECT_KEY: &str = "$key";

/// A parsed mapping file.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    id: IdSource,
    fields: Vec<FieldRule>,
    vectors: Vec<VectorRule>,
}

#[derive(Debug, Clone, PartialEq)]
enum IdSource {
    ObjectKey,
    Field(String),
}

/// One index field and the record field it comes from.
#[derive(Debug, Clone, PartialEq)]
struct FieldRule {
    name: String,
    from: String,
    kind: RuleKind,
}

#[derive(Debug, Clone, PartialEq)]
enum RuleKind {
    Text { normalize_whitespace: bool },
    Tag { separator: Option<String> },
    Numeric,
}

#[derive(Debug, Clone, PartialEq)]
struct VectorRule {
    name: String,
    from: String,
}

const SECTIONS: [&str; 4] = ["text", "tag", "numeric", "vector"];

impl Mapping {
    /// Reads and parses a mapping file.
    pub fn load(path: &Path) -> anyhow::Result<Mapping> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read mapping file {}", path.display()))?;
        Mapping::parse(&text).map_err(|message| {
            anyhow::anyhow!("invalid mapping file {}: {message}", path.display())
        })
    }

    pub fn parse(text: &str) -> Result<Mapping, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|error: toml::de::Error| error.to_string().trim_end().to_owned())?;
        let mut id = None;
        let mut fields = Vec::new();
        let mut vectors = Vec::new();
        for (key, value) in &table {
            match key.as_str() {
                "id" => {
                    let source = value.as_str().ok_or_else(|| {
                        "id must be a string: a record field or \"$key\"".to_owned()
                    })?;
                    id = Some(parse_id(source)?);
                }
                "text" | "tag" | "numeric" | "vector" => {
                    let entries = value.as_table().ok_or_else(|| {
                        format!("[{key}] must be a table of index field = record field")
                    })?;
                    for (name, entry) in entries {
                        let (from, options) = parse_entry(key, name, entry)?;
                        match key.as_str() {
                            "text" => fields.push(FieldRule {
                                name: name.clone(),
                                from,
                                kind: RuleKind::Text {
                                    normalize_whitespace: options.normalize_whitespace,
                                },
                            }),
                            "tag" => fields.push(FieldRule {
                                name: name.clone(),
                                from,
                                kind: RuleKind::Tag {
                                    separator: options.separator,
                                },
                            }),
                            "numeric" => fields.push(FieldRule {
                                name: name.clone(),
                                from,
                                kind: RuleKind::Numeric,
                            }),
                            _ => vectors.push(VectorRule {
                                name: name.clone(),
                                from,
                            }),
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown key {other:?}; expected id or the sections {}",
                        SECTIONS.join(", ")
                    ));
                }
            }
        }

        let id =
            id.ok_or_else(|| "id is missing; set id = \"FIELD\" or id = \"$key\"".to_owned())?;
        if fields.is_empty() && vectors.is_empty() {
            return Err("the mapping maps no fields; add entries under [text], [tag], [numeric] or [vector]".to_owned());
        }
        let mut seen = HashSet::new();
        for name in fields
            .iter()
            .map(|rule| &rule.name)
            .chain(vectors.iter().map(|rule| &rule.name))
        {
            if !seen.insert(name) {
                return Err(format!(
                    "index field {name:?} is mapped twice; map it in one section only"
                ));
            }
        }
        Ok(Mapping {
            id,
            fields,
            vectors,
        })
    }

    /// Names of the index fields and vectors the mapping writes.
    pub fn field_names(&self) -> Vec<&str> {
        let fields = self.fields.iter().map(|rule| rule.name.as_str());
        fields
            .chain(self.vectors.iter().map(|rule| rule.name.as_str()))
            .collect()
    }

    pub fn vector_names(&self) -> Vec<&str> {
        self.vectors.iter().map(|rule| rule.name.as_str()).collect()
    }

    pub fn uses_object_key(&self) -> bool {
        self.id == IdSource::ObjectKey
    }

    /// Converts one record. The record is malformed when it has no id or a mapped field has the
    /// wrong JSON type.
    pub fn to_document(&self, record: &Record) -> Result<pb::Document, String> {
        if !record.value.is_object() {
            return Err(format!(
                "the record is {}, not a JSON object",
                json_type(&record.value)
            ));
        }
        let id = match &self.id {
            IdSource::ObjectKey => record.key.clone().ok_or_else(|| {
                "the record has no key; id = \"$key\" needs a JSON object of records".to_owned()
            })?,
            IdSource::Field(source) => match lookup(&record.value, source) {
                None => {
                    return Err(format!(
                        "the record has no {source:?} field for the document id (the mapping sets id = {source:?})"
                    ));
                }
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(number)) => number.to_string(),
                Some(other) => {
                    return Err(format!(
                        "{source} is {}, expected a string or a number as the id",
                        json_type(other)
                    ));
                }
            },
        };
        let id = id.trim().to_owned();
        if id.is_empty() {
            return Err("the id is empty".to_owned());
        }

        let mut fields = HashMap::new();
        for rule in &self.fields {
            let Some(value) = lookup(&record.value, &rule.from) else {
                continue;
            };
            if let Some(field_value) = convert_field(rule, value)? {
                fields.insert(rule.name.clone(), field_value);
            }
        }
        let mut vectors = HashMap::new();
        for rule in &self.vectors {
            if let Some(value) = lookup(&record.value, &rule.from) {
                vectors.insert(rule.name.clone(), convert_vector(&rule.from, value)?);
            }
        }
        Ok(pb::Document {
            id,
            fields,
            vectors,
        })
    }
}

fn parse_id(source: &str) -> Result<IdSource, String> {
    if source == OBJECT_KEY {
        Ok(IdSource::ObjectKey)
    } else if source.trim().is_empty() {
        Err("id is empty; set it to a record field or \"$key\"".to_owned())
    } else {
        Ok(IdSource::Field(source.to_owned()))
    }
}

#[derive(Default)]
struct EntryOptions {
    normalize_whitespace: bool,
    separator: Option<String>,
}

/// Parses `name = "field"` or `name = { from = "field", ... }` of a section.
fn parse_entry(
    section: &str,
    name: &str,
    entry: &toml::Value,
) -> Result<(String, EntryOptions), String> {
    let mut options = EntryOptions::default();
    let from = match entry {
        toml::Value::String(from) => from.clone(),
        toml::Value::Table(table) => {
            let mut from = name.to_owned();
            for (key, value) in table {
                let wrong_type =
                    |expected: &str| format!("{section}.{name}.{key} must be {expected}");
                match (section, key.as_str()) {
                    (_, "from") => {
                        from = value
                            .as_str()
                            .ok_or_else(|| wrong_type("a string"))?
                            .to_owned()
                    }
                    ("text", "normalize_whitespace") => {
                        options.normalize_whitespace =
                            value.as_bool().ok_or_else(|| wrong_type("true or false"))?;
                    }
                    ("tag", "separator") => {
                        let separator = value.as_str().ok_or_else(|| wrong_type("a string"))?;
                        if separator.is_empty() {
                            return Err(wrong_type("a non-empty string"));
                        }
                        options.separator = Some(separator.to_owned());
                    }
                    _ => {
                        let allowed = match section {
                            "text" => "from, normalize_whitespace",
                            "tag" => "from, separator",
                            _ => "from",
                        };
                        return Err(format!(
                            "unknown option {key:?} in {section}.{name}; [{section}] entries take {allowed}"
                        ));
                    }
                }
            }
            from
        }
        _ => {
            return Err(format!(
                "{section}.{name} must be a record field name or a table such as {{ from = \"field\" }}"
            ));
        }
    };
    if from.trim().is_empty() {
        return Err(format!("{section}.{name} names an empty record field"));
    }
    Ok((from, options))
}

/// Finds a record field by name, or by JSON Pointer when the name starts with "/". Null counts as
/// missing.
fn lookup<'a>(record: &'a Value, source: &str) -> Option<&'a Value> {
    let value = if source.starts_with('/') {
        record.pointer(source)
    } else {
        record.get(source)
    };
    value.filter(|value| !value.is_null())
}

fn convert_field(rule: &FieldRule, value: &Value) -> Result<Option<pb::FieldValue>, String> {
    let source = &rule.from;
    match &rule.kind {
        RuleKind::Text {
            normalize_whitespace: normalize,
        } => match value {
            Value::String(text) if *normalize => Ok(Some(text_value(normalize_whitespace(text)))),
            Value::String(text) => Ok(Some(text_value(text.clone()))),
            other => Err(format!(
                "{source} is {}, expected a string",
                json_type(other)
            )),
        },
        RuleKind::Tag { separator } => {
            let tags = tag_values(source, value, separator.as_deref())?;
            Ok((!tags.is_empty()).then(|| tags_value(tags)))
        }
        RuleKind::Numeric => {
            let number = match value {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                other => {
                    return Err(format!(
                        "{source} is {}, expected a number",
                        json_type(other)
                    ));
                }
            };
            match number {
                Some(number) if number.is_finite() => Ok(Some(number_value(number))),
                _ => Err(format!("{source} is {value}, expected a finite number")),
            }
        }
    }
}

/// Tag values from a string (split by the separator), a number, a boolean, or an array of those.
/// Values are trimmed and empty ones dropped.
fn tag_values(source: &str, value: &Value, separator: Option<&str>) -> Result<Vec<String>, String> {
    let mut tags = Vec::new();
    let mut push = |text: &str| match separator {
        Some(" ") => tags.extend(text.split_whitespace().map(str::to_owned)),
        Some(separator) => tags.extend(
            text.split(separator)
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned),
        ),
        None if !text.trim().is_empty() => tags.push(text.trim().to_owned()),
        None => {}
    };
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    };
    match value {
        Value::Array(elements) => {
            for (index, element) in elements.iter().enumerate() {
                let text = scalar(element).ok_or_else(|| {
                    format!(
                        "{source}[{index}] is {}, expected a string, number or boolean",
                        json_type(element)
                    )
                })?;
                push(&text);
            }
        }
        other => {
            let text = scalar(other).ok_or_else(|| {
                format!(
                    "{source} is {}, expected a string, number, boolean or an array of them",
                    json_type(other)
                )
            })?;
            push(&text);
        }
    }
    Ok(tags)
}

fn convert_vector(source: &str, value: &Value) -> Result<pb::Vector, String> {
    let Value::Array(elements) = value else {
        return Err(format!(
            "{source} is {}, expected an array of numbers",
            json_type(value)
        ));
    };
    let mut values = Vec::with_capacity(elements.len());
    for (index, element) in elements.iter().enumerate() {
        let number = element.as_f64().ok_or_else(|| {
            format!(
                "{source}[{index}] is {}, expected a number",
                json_type(element)
            )
        })?;
        values.push(number as f32);
    }
    Ok(pb::Vector { values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WIKIPEDIA_MAPPING: &str = include_str!("../../../schemas/wikipedia.mapping.toml");

    fn record(key: Option<&str>, value: Value) -> Record {
        Record {
            line: 2,
            key: key.map(str::to_owned),
            value,
        }
    }

    fn kind<'a>(document: &'a pb::Document, field: &str) -> &'a pb::field_value::Kind {
        document.fields[field]
            .kind
            .as_ref()
            .expect("field value has a kind")
    }

    #[test]
    fn wikipedia_record_maps() {
        let mapping = Mapping::parse(WIKIPEDIA_MAPPING).expect("the shipped mapping parses");
        assert!(mapping.uses_object_key());

        let value = json!({
            "title": "2001: A Space Odyssey",
            "extract": "2001: A Space Odyssey is a 1968 epic science fiction film  produced\nand directed by Stanley Kubrick.",
            "description": "1968 film by Stanley Kubrick",
            "topic": "Arts"
        });
        let document = mapping
            .to_document(&record(Some("2001: A Space Odyssey"), value))
            .expect("valid record");

        assert_eq!(document.id, "2001: A Space Odyssey");
        assert_eq!(
            kind(&document, "title"),
            &pb::field_value::Kind::Text("2001: A Space Odyssey".to_owned())
        );
        assert_eq!(
            kind(&document, "extract"),
            &pb::field_value::Kind::Text(
                "2001: A Space Odyssey is a 1968 epic science fiction film produced and directed by Stanley Kubrick.".to_owned()
            )
        );
        assert_eq!(
            kind(&document, "description"),
            &pb::field_value::Kind::Text("1968 film by Stanley Kubrick".to_owned())
        );
        assert_eq!(
            kind(&document, "topic"),
            &pb::field_value::Kind::Tags(pb::TagList {
                values: vec!["Arts".to_owned()]
            })
        );
        assert!(document.vectors.is_empty());

        let mut names = mapping.field_names();
        names.sort_unstable();
        assert_eq!(names, vec!["description", "extract", "title", "topic"]);
    }

    #[test]
    fn wikipedia_record_without_description() {
        let mapping = Mapping::parse(WIKIPEDIA_MAPPING).expect("the shipped mapping parses");
        let value = json!({"title": "Ada Lovelace", "extract": "Mathematician.", "description": null, "topic": "People"});
        let document = mapping
            .to_document(&record(Some("Ada Lovelace"), value))
            .expect("valid record");
        assert!(!document.fields.contains_key("description"));
    }

    #[test]
    fn field_ids_tags_numbers_and_vectors() {
        let mapping = Mapping::parse(
            r#"
            id = "paper_id"
            [text]
            name = "/meta/title"
            [tag]
            keywords = { from = "keywords", separator = ";" }
            labels = { separator = " " }
            flags = "flags"
            [numeric]
            year = "year"
            pages = { from = "page_count" }
            [vector]
            embedding = "vec"
            "#,
        )
        .expect("valid mapping");

        let value = json!({
            "paper_id": 1234,
            "meta": {"title": "Graphs\n  and  trees"},
            "keywords": "graphs; trees ;;",
            "labels": "a  b\tc",
            "flags": ["x", 2, true],
            "year": "2019",
            "page_count": 12,
            "vec": [0.5, -1, 2]
        });
        let document = mapping
            .to_document(&record(None, value))
            .expect("valid record");

        assert_eq!(document.id, "1234");
        assert_eq!(
            kind(&document, "name"),
            &pb::field_value::Kind::Text("Graphs\n  and  trees".to_owned()),
            "no normalisation by default"
        );

        let tags = |values: &[&str]| {
            pb::field_value::Kind::Tags(pb::TagList {
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            })
        };
        assert_eq!(kind(&document, "keywords"), &tags(&["graphs", "trees"]));
        assert_eq!(kind(&document, "labels"), &tags(&["a", "b", "c"]));
        assert_eq!(kind(&document, "flags"), &tags(&["x", "2", "true"]));
        assert_eq!(
            kind(&document, "year"),
            &pb::field_value::Kind::Number(2019.0)
        );
        assert_eq!(
            kind(&document, "pages"),
            &pb::field_value::Kind::Number(12.0)
        );
        assert_eq!(document.vectors["embedding"].values, vec![0.5, -1.0, 2.0]);
        assert_eq!(mapping.vector_names(), vec!["embedding"]);
    }

    #[test]
    fn malformed_mapped_records() {
        let mapping = Mapping::parse(
            "id = \"id\"\n[text]\ntitle = \"title\"\n[tag]\ntopic = \"topic\"\n[numeric]\nyear = \"year\"\n[vector]\nembedding = \"vec\"\n",
        )
        .expect("valid mapping");
        let cases = [
            (
                json!({"title": "No id"}),
                "the record has no \"id\" field for the document id (the mapping sets id = \"id\")",
            ),
            (json!({"id": " ", "title": "T"}), "the id is empty"),
            (
                json!({"id": ["a"], "title": "T"}),
                "id is an array, expected a string or a number as the id",
            ),
            (
                json!({"id": "a", "title": 42}),
                "title is a number, expected a string",
            ),
            (
                json!({"id": "a", "topic": {"name": "x"}}),
                "topic is an object, expected a string, number, boolean or an array of them",
            ),
            (
                json!({"id": "a", "topic": [["x"]]}),
                "topic[0] is an array, expected a string, number or boolean",
            ),
            (
                json!({"id": "a", "year": "soon"}),
                "year is \"soon\", expected a finite number",
            ),
            (
                json!({"id": "a", "year": true}),
                "year is a boolean, expected a number",
            ),
            (
                json!({"id": "a", "vec": [1, "2"]}),
                "vec[1] is a string, expected a number",
            ),
            (
                json!({"id": "a", "vec": "1,2"}),
                "vec is a string, expected an array of numbers",
            ),
            (json!("a"), "the record is a string, not a JSON object"),
        ];
        for (value, expected) in cases {
            let reason = mapping
                .to_document(&record(None, value.clone()))
                .expect_err(&format!("{value} is malformed"));
            assert_eq!(reason, expected, "{value}");
        }
    }

    #[test]
    fn object_key_needs_a_key() {
        let mapping =
            Mapping::parse("id = \"$key\"\n[text]\ntitle = \"title\"\n").expect("valid mapping");
        let reason = mapping
            .to_document(&record(None, json!({"title": "T"})))
            .expect_err("no key");
        assert!(reason.contains("$key"), "{reason}");
    }

    #[test]
    fn invalid_mapping_files() {
        let cases = [
            ("[text]\ntitle = \"title\"\n", "id is missing"),
            ("id = 3\n[text]\ntitle = \"title\"\n", "id must be a string"),
            ("id = \"id\"\n", "maps no fields"),
            (
                "id = \"id\"\n[txt]\ntitle = \"title\"\n",
                "unknown key \"txt\"",
            ),
            (
                "id = \"id\"\n[text]\ntitle = { from = \"t\", separator = \",\" }\n",
                "unknown option \"separator\" in text.title",
            ),
            (
                "id = \"id\"\n[tag]\ntopic = { separator = \"\" }\n",
                "tag.topic.separator must be a non-empty string",
            ),
            (
                "id = \"id\"\n[text]\ntitle = 5\n",
                "text.title must be a record field name",
            ),
            (
                "id = \"id\"\n[text]\ntitle = \"t\"\n[tag]\ntitle = \"t\"\n",
                "index field \"title\" is mapped twice",
            ),
            ("id = \"id\"\n[text\n", "TOML parse error"),
        ];
        for (text, expected) in cases {
            let message = Mapping::parse(text).expect_err(text);
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }
}
