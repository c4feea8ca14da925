//! `docsearch suggest` and `docsearch get`: thin wrappers of Suggest and Get.

use docsearch_proto::v1 as pb;

use crate::cli::{GetArgs, SuggestArgs};
use crate::connect::{Service, Services};
use crate::error::{CliError, Outcome};
use crate::output::{Align, Table, count_text, field_text, print_json, terminal_width};

pub async fn suggest(services: &Services, args: SuggestArgs) -> Result<Outcome, CliError> {
    let SuggestArgs {
        prefix,
        index,
        fuzzy,
        limit,
        json,
    } = args;
    let mut client = services.search_client().await?;
    let request = services.request(pb::SuggestRequest {
        index: index.clone(),
        prefix,
        limit: limit.unwrap_or(0),
        fuzzy,
    });
    let response = client
        .suggest(request)
        .await
        .map_err(|status| {
            CliError::rpc(
                Service::Searcher,
                format!("suggesting from index {index:?}"),
                status,
            )
        })?
        .into_inner();
    if json {
        print_json(&response)?;
    } else if response.suggestions.is_empty() {
        println!("no suggestions");
    } else {
        let mut table = Table::new(&[
            ("SUGGESTION", Align::Left),
            ("SCORE", Align::Right),
            ("DOCUMENT", Align::Left),
        ])
        .flexible("SUGGESTION");
        for suggestion in &response.suggestions {
            table.push(vec![
                suggestion.text.clone(),
                format!("{:.4}", suggestion.score),
                suggestion.document_id.clone(),
            ]);
        }
        print!("{}", table.render(terminal_width()));
    }
    Ok(Outcome::Success)
}

pub async fn get(services: &Services, args: GetArgs) -> Result<Outcome, CliError> {
    let GetArgs {
        ids,
        index,
        fields,
        vectors,
        json,
    } = args;
    let mut client = services.search_client().await?;
    let request = services.request(pb::GetRequest {
        index: index.clone(),
        ids,
        return_fields: fields,
        include_vectors: vectors,
    });
    let response = client
        .get(request)
        .await
        .map_err(|status| {
            CliError::rpc(
                Service::Searcher,
                format!("getting documents from index {index:?}"),
                status,
            )
        })?
        .into_inner();
    if json {
        print_json(&response)?;
    } else {
        let listings: Vec<String> = response.documents.iter().map(document_text).collect();
        print!("{}", listings.join("\n"));
    }
    Ok(Outcome::Success)
}

/// Formats a document as its id, then one indented line per field and vector, sorted by name.
fn document_text(document: &pb::Document) -> String {
    let mut text = format!("{}\n", document.id);
    let mut fields: Vec<(&String, &pb::FieldValue)> = document.fields.iter().collect();
    fields.sort_by_key(|(name, _)| *name);
    for (name, value) in fields {
        text.push_str(&format!("  {name}: {}\n", field_text(value)));
    }
    let mut vectors: Vec<(&String, &pb::Vector)> = document.vectors.iter().collect();
    vectors.sort_by_key(|(name, _)| *name);
    for (name, vector) in vectors {
        let head: Vec<String> = vector
            .values
            .iter()
            .take(4)
            .map(|value| format!("{value:.4}"))
            .collect();
        let ellipsis = if vector.values.len() > 4 { ", …" } else { "" };
        text.push_str(&format!(
            "  {name}: {} [{}{ellipsis}]\n",
            count_text(vector.values.len() as u64, "value", "values"),
            head.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_listing_sorts_fields() {
        let mut document = pb::Document {
            id: "0704.0001".to_owned(),
            ..Default::default()
        };
        document.fields.insert(
            "year".to_owned(),
            pb::FieldValue {
                kind: Some(pb::field_value::Kind::Number(2007.0)),
            },
        );
        document.fields.insert(
            "title".to_owned(),
            pb::FieldValue {
                kind: Some(pb::field_value::Kind::Text("Diphotons".to_owned())),
            },
        );
        document.vectors.insert(
            "embedding".to_owned(),
            pb::Vector {
                values: vec![0.1, 0.2, 0.3, 0.4, 0.5],
            },
        );
        assert_eq!(
            document_text(&document),
            "0704.0001\n  title: Diphotons\n  year: 2007\n  embedding: 5 values [0.1000, 0.2000, 0.3000, 0.4000, …]\n"
        );
    }
}
