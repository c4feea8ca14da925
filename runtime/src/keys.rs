//! Redis key layout. Every key the services write starts with a namespace, so that several deployments
//! (or test runs) can share one Redis without seeing each other's indexes.
//!
//! For namespace `docsearch` and index `papers`:
//!
//! | key                                  | type    | holds                                        |
//! |--------------------------------------|---------|----------------------------------------------|
//! | `docsearch:indexes`                  | set     | names of the indexes in the catalog          |
//! | `docsearch:index:papers`             | hash    | the catalog entry: schema and creation time  |
//! | `docsearch:idx:papers`               | FT index| the RediSearch index over the documents      |
//! | `docsearch:doc:papers:<id>`          | hash    | one document                                 |
//! | `docsearch:suggest:papers`           | FT.SUG  | the suggestion dictionary                    |
//! | `docsearch:suggest-refs:papers`      | hash    | suggestion text → number of documents with it|
//!
//! Namespaces and index names cannot contain `:`, so one index's document prefix is never a prefix of
//! another index's keys.

use crate::validate::{InvalidValue, check_identifier, quote};

/// Maximum length of a namespace.
pub const MAX_NAMESPACE_LEN: usize = 32;
/// Maximum length of an index name.
pub const MAX_INDEX_NAME_LEN: usize = 64;

/// Maximum length of a document id, in bytes.
pub const MAX_DOCUMENT_ID_BYTES: usize = 512;

/// Checks a document id: 1 to [`MAX_DOCUMENT_ID_BYTES`] bytes without control characters. Writes,
/// deletes and reads share it, so an id that cannot be written is rejected everywhere. The error is
/// the reason and the fix.
pub fn check_document_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        Err(format!(
            "the id is empty; use an id of 1 to {MAX_DOCUMENT_ID_BYTES} bytes"
        ))
    } else if id.len() > MAX_DOCUMENT_ID_BYTES {
        Err(format!(
            "the id is {} bytes long; use at most {MAX_DOCUMENT_ID_BYTES} bytes",
            id.len()
        ))
    } else if id.chars().any(char::is_control) {
        Err(format!(
            "the id {} contains control characters; remove them",
            quote(id)
        ))
    } else {
        Ok(())
    }
}

/// Builds the Redis keys of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    namespace: String,
}

impl KeyLayout {
    /// Creates the layout of `namespace`: 1 to 32 characters from `[A-Za-z0-9_-]`.
    pub fn new(namespace: &str) -> Result<Self, InvalidValue> {
        check_identifier("namespace", namespace, MAX_NAMESPACE_LEN)?;
        Ok(Self {
            namespace: namespace.to_owned(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The set of index names in the catalog.
    pub fn catalog_set(&self) -> String {
        format!("{}:indexes", self.namespace)
    }

    /// The catalog entry (hash) of an index.
    pub fn catalog_entry(&self, index: &str) -> String {
        format!("{}:index:{index}", self.namespace)
    }

    /// The RediSearch index name.
    pub fn search_index(&self, index: &str) -> String {
        format!("{}:idx:{index}", self.namespace)
    }

    /// The key prefix of an index's document hashes.
    pub fn document_prefix(&self, index: &str) -> String {
        format!("{}:doc:{index}:", self.namespace)
    }

    /// The key of one document.
    pub fn document_key(&self, index: &str, document_id: &str) -> String {
        format!("{}:doc:{index}:{document_id}", self.namespace)
    }

    /// The suggestion dictionary (FT.SUGADD / FT.SUGGET) of an index.
    pub fn suggestions(&self, index: &str) -> String {
        format!("{}:suggest:{index}", self.namespace)
    }

    /// The hash counting, per suggestion text, the documents that carry it, so that deleting one of two
    /// documents with the same title keeps the suggestion.
    pub fn suggestion_refs(&self, index: &str) -> String {
        format!("{}:suggest-refs:{index}", self.namespace)
    }
}

/// Checks an index name held in a request field named `index`: 1 to 64 characters from `[A-Za-z0-9_-]`.
pub fn check_index_name(name: &str) -> Result<(), InvalidValue> {
    check_index_name_in("index", name)
}

/// Checks an index name held in the request field `field`, such as `name` in CreateIndexRequest, so
/// that the error names that field.
pub fn check_index_name_in(field: &str, name: &str) -> Result<(), InvalidValue> {
    check_identifier(field, name, MAX_INDEX_NAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keys_for_index() {
        let layout = KeyLayout::new("docsearch").unwrap();
        assert_eq!(layout.search_index("papers"), "docsearch:idx:papers");
        assert_eq!(layout.document_prefix("papers"), "docsearch:doc:papers:");
        assert_eq!(
            layout.document_key("papers", "hep-th/9901001"),
            "docsearch:doc:papers:hep-th/9901001"
        );
        assert_eq!(layout.catalog_entry("papers"), "docsearch:index:papers");
    }

    #[test]
    fn namespace_rejects_colon() {
        let error = KeyLayout::new("a:b").unwrap_err();
        assert_eq!(error.field, "namespace");
        assert!(error.to_string().contains("\"a:b\""), "{error}");
    }

    #[test]
    fn index_name_limits() {
        assert!(check_index_name("papers_2024-v1").is_ok());
        assert!(check_index_name("").is_err());
        assert!(check_index_name(&"x".repeat(65)).is_err());
        assert!(check_index_name("has space").is_err());
    }

    #[test]
    fn index_name_error_names_field() {
        assert_eq!(check_index_name("").unwrap_err().field, "index");
        let error = check_index_name_in("name", "").unwrap_err();
        assert_eq!(error.field, "name");
        assert!(
            error.to_string().starts_with("invalid name: name is empty"),
            "{error}"
        );
    }
}
