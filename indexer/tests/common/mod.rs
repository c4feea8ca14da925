//! Documents and schemas shared by the indexer's integration tests.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;

/// Builds a schema with one `title` TEXT field that feeds the suggestion dictionary.
pub fn titles_schema() -> pb::IndexSchema {
    pb::IndexSchema {
        fields: vec![pb::FieldSchema {
            name: "title".to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Text(pb::TextField {
                suggest: true,
                ..Default::default()
            })),
        }],
    }
}

/// Builds a document with only a title.
pub fn titled(id: &str, title: &str) -> pb::Document {
    let mut fields = HashMap::new();
    fields.insert(
        "title".to_owned(),
        pb::FieldValue {
            kind: Some(pb::field_value::Kind::Text(title.to_owned())),
        },
    );
    pb::Document {
        id: id.to_owned(),
        fields,
        vectors: HashMap::new(),
    }
}
