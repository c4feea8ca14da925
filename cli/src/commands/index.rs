//! `docsearch index create|describe|list|drop`.

use std::path::Path;

use anyhow::Context as _;
use docsearch_proto::v1 as pb;

use crate::cli::{IndexArgs, IndexCommand};
use crate::connect::{Service, Services};
use crate::error::{CliError, Outcome};
use crate::output::{Align, Table, bytes_text, count_text, print_json, timestamp_text};

pub async fn run(services: &Services, args: IndexArgs) -> Result<Outcome, CliError> {
    let IndexArgs { json, command } = args;
    let mut client = services.index_client().await?;
    let rpc_error =
        |operation: String| move |status| CliError::rpc(Service::Indexer, operation, status);
    match command {
        IndexCommand::Create { name, schema } => {
            let schema = read_schema(&schema)?;
            let request = services.request(pb::CreateIndexRequest {
                name: name.clone(),
                schema: Some(schema),
            });
            let response = client
                .create_index(request)
                .await
                .map_err(rpc_error(format!("creating index {name:?}")))?
                .into_inner();
            if json {
                print_json(&response)?;
            } else {
                println!("created index {name:?}");
                print!("{}", describe_text(&response.index.unwrap_or_default()));
            }
        }
        IndexCommand::Describe { name } => {
            let request = services.request(pb::DescribeIndexRequest { name: name.clone() });
            let response = client
                .describe_index(request)
                .await
                .map_err(rpc_error(format!("describing index {name:?}")))?
                .into_inner();
            if json {
                print_json(&response)?;
            } else {
                print!("{}", describe_text(&response.index.unwrap_or_default()));
            }
        }
        IndexCommand::List => {
            let response = client
                .list_indexes(services.request(pb::ListIndexesRequest {}))
                .await
                .map_err(rpc_error("listing indexes".to_owned()))?
                .into_inner();
            if json {
                print_json(&response)?;
            } else if response.indexes.is_empty() {
                println!("no indexes; create one with `docsearch index create NAME --schema FILE`");
            } else {
                print!("{}", list_text(&response.indexes));
            }
        }
        IndexCommand::Drop {
            name,
            delete_documents,
        } => {
            let request = services.request(pb::DropIndexRequest {
                name: name.clone(),
                delete_documents,
            });
            let response = client
                .drop_index(request)
                .await
                .map_err(rpc_error(format!("dropping index {name:?}")))?
                .into_inner();
            if json {
                print_json(&response)?;
            } else if delete_documents {
                println!("dropped index {name:?} and deleted its documents");
            } else {
                println!("dropped index {name:?}; its documents stay in Redis");
            }
        }
    }
    Ok(Outcome::Success)
}

/// Reads an IndexSchema from a proto3 JSON file.
pub fn read_schema(path: &Path) -> anyhow::Result<pb::IndexSchema> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read schema file {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("invalid IndexSchema JSON in {}", path.display()))
}

fn describe_text(info: &pb::IndexInfo) -> String {
    let indexing = if info.indexing {
        format!(
            "in progress, {:.0}% of existing keys scanned",
            info.percent_indexed * 100.0
        )
    } else {
        "done".to_owned()
    };
    let mut text = String::new();
    text.push_str(&format!("index:       {}\n", info.name));
    text.push_str(&format!("documents:   {}\n", info.num_documents));
    text.push_str(&format!("indexing:    {indexing}\n"));
    text.push_str(&format!("failures:    {}\n", info.num_indexing_failures));
    text.push_str(&format!(
        "memory:      {} (vectors {})\n",
        bytes_text(info.memory_bytes),
        bytes_text(info.vector_memory_bytes)
    ));
    text.push_str(&format!("key prefix:  {}\n", info.key_prefix));
    text.push_str(&format!(
        "created:     {}\n",
        timestamp_text(info.created_at_ms)
    ));

    let mut fields = Table::new(&[
        ("FIELD", Align::Left),
        ("TYPE", Align::Left),
        ("OPTIONS", Align::Left),
    ]);
    for field in info.schema.iter().flat_map(|schema| &schema.fields) {
        let (kind, options) = field_description(field);
        fields.push(vec![field.name.clone(), kind.to_owned(), options]);
    }
    if !fields.is_empty() {
        text.push('\n');
        text.push_str(&fields.render(None));
    }
    text
}

/// Describes a field's type and its options, such as ("VECTOR", "HNSW, 384 dimensions, COSINE, ...").
fn field_description(field: &pb::FieldSchema) -> (&'static str, String) {
    use pb::field_schema::Kind;
    let mut options = Vec::new();
    let kind = match &field.kind {
        Some(Kind::Text(text)) => {
            if text.weight != 0.0 {
                options.push(format!("weight {}", text.weight));
            }
            push_flag(&mut options, text.no_stem, "no stemming");
            push_flag(&mut options, text.sortable, "sortable");
            push_flag(&mut options, text.suggest, "suggestions");
            "TEXT"
        }
        Some(Kind::Tag(tag)) => {
            options.push(format!(
                "separator {:?}",
                if tag.separator.is_empty() {
                    ","
                } else {
                    &tag.separator
                }
            ));
            push_flag(&mut options, tag.case_sensitive, "case-sensitive");
            push_flag(&mut options, tag.sortable, "sortable");
            "TAG"
        }
        Some(Kind::Numeric(numeric)) => {
            push_flag(&mut options, numeric.sortable, "sortable");
            "NUMERIC"
        }
        Some(Kind::Geo(_)) => "GEO",
        Some(Kind::Vector(vector)) => {
            let algorithm = pb::VectorAlgorithm::try_from(vector.algorithm).unwrap_or_default();
            let metric = pb::DistanceMetric::try_from(vector.metric).unwrap_or_default();
            options.push(
                algorithm
                    .as_str_name()
                    .trim_start_matches("VECTOR_ALGORITHM_")
                    .to_owned(),
            );
            options.push(count_text(
                u64::from(vector.dimension),
                "dimension",
                "dimensions",
            ));
            options.push(
                metric
                    .as_str_name()
                    .trim_start_matches("DISTANCE_METRIC_")
                    .to_owned(),
            );
            if !vector.model.is_empty() {
                options.push(format!("model {}", vector.model));
            }
            if !vector.embedding_source_fields.is_empty() {
                options.push(format!(
                    "embeds {}",
                    vector.embedding_source_fields.join(" + ")
                ));
            }
            "VECTOR"
        }
        None => "UNKNOWN",
    };
    push_flag(&mut options, field.index_missing, "indexes missing values");
    (kind, options.join(", "))
}

fn push_flag(options: &mut Vec<String>, flag: bool, name: &str) {
    if flag {
        options.push(name.to_owned());
    }
}

fn list_text(indexes: &[pb::IndexInfo]) -> String {
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("DOCUMENTS", Align::Right),
        ("MEMORY", Align::Right),
        ("INDEXING", Align::Left),
        ("CREATED", Align::Left),
    ]);
    for info in indexes {
        let indexing = if info.indexing {
            format!("{:.0}%", info.percent_indexed * 100.0)
        } else {
            "done".to_owned()
        };
        table.push(vec![
            info.name.clone(),
            info.num_documents.to_string(),
            bytes_text(info.memory_bytes),
            indexing,
            timestamp_text(info.created_at_ms),
        ]);
    }
    table.render(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_schema(name: &str) -> pb::IndexSchema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas")
            .join(name);
        read_schema(&path).expect("the shipped schemas parse")
    }

    #[test]
    fn arxiv_schema_describes() {
        let info = pb::IndexInfo {
            name: "papers".to_owned(),
            schema: Some(shipped_schema("arxiv.json")),
            num_documents: 12,
            created_at_ms: 1_700_000_000_000,
            ..Default::default()
        };
        let text = describe_text(&info);
        assert!(text.contains("documents:   12\n"), "{text}");
        assert!(
            text.contains("title             TEXT     weight 2, suggestions"),
            "{text}"
        );
        assert!(
            text.contains("embedding         VECTOR   HNSW, 384 dimensions, COSINE, model all-MiniLM-L6-v2, embeds title + abstract"),
            "{text}"
        );
    }

    #[test]
    fn wikipedia_schema_parses() {
        let schema = shipped_schema("wikipedia.json");
        let names: Vec<&str> = schema
            .fields
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec!["title", "description", "extract", "topic", "embedding"]
        );
    }

    #[test]
    fn list_has_one_row_per_index() {
        let indexes = vec![
            pb::IndexInfo {
                name: "papers".to_owned(),
                num_documents: 16000,
                memory_bytes: 3 << 20,
                ..Default::default()
            },
            pb::IndexInfo {
                name: "wiki".to_owned(),
                indexing: true,
                percent_indexed: 0.5,
                ..Default::default()
            },
        ];
        let text = list_text(&indexes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[1].starts_with("papers      16000  3.0 MiB  done"),
            "{text}"
        );
        assert!(lines[2].contains("50%"), "{text}");
    }
}
