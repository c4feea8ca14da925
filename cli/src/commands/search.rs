//! `docsearch search`: builds a SearchRequest from the options and prints the hits.

use std::path::Path;

use anyhow::Context as _;
use docsearch_proto::v1 as pb;
use serde_json::Value;

use crate::cli::{Bounds, Mode, SearchArgs};
use crate::connect::{Service, Services};
use crate::error::{CliError, Outcome};
use crate::output::{Align, Table, field_text, print_json, terminal_width};

/// TAG field that --category filters.
const CATEGORIES_FIELD: &str = "categories";
/// TAG field that --primary-category filters.
const PRIMARY_CATEGORY_FIELD: &str = "primary_category";
/// NUMERIC field that --year filters.
const YEAR_FIELD: &str = "year";

pub async fn run(services: &Services, args: SearchArgs) -> Result<Outcome, CliError> {
    let json = args.json;
    let request = build_request(&args)?;
    let mut client = services.search_client().await?;
    let response = client
        .search(services.request(request))
        .await
        .map_err(|status| {
            CliError::rpc(
                Service::Searcher,
                format!("searching index {:?}", args.index),
                status,
            )
        })?
        .into_inner();
    if json {
        print_json(&response)?;
    } else {
        print!("{}", hits_text(&response, args.offset, terminal_width()));
    }
    Ok(Outcome::Success)
}

/// Builds the request. Which query sources a mode accepts is left to the searcher, which names
/// the fix in its INVALID_ARGUMENT message.
pub fn build_request(args: &SearchArgs) -> anyhow::Result<pb::SearchRequest> {
    let vector = args.vector_file.as_deref().map(read_vector).transpose()?;
    let mode = match args.mode {
        None => pb::SearchMode::Unspecified,
        Some(Mode::Knn) => pb::SearchMode::Knn,
        Some(Mode::Range) => pb::SearchMode::Range,
        Some(Mode::Text) => pb::SearchMode::Text,
        Some(Mode::Hybrid) => pb::SearchMode::Hybrid,
    };
    let vector_options = args.distance_threshold.map(|threshold| pb::VectorOptions {
        distance_threshold: threshold,
        ..Default::default()
    });
    let text_options = args.fuzzy.map(|distance| pb::TextOptions {
        fuzzy_distance: Some(distance),
        ..Default::default()
    });
    Ok(pb::SearchRequest {
        index: args.index.clone(),
        mode: mode as i32,
        vector,
        text: args.text.clone().unwrap_or_default(),
        similar_to_id: args.similar_to.clone().unwrap_or_default(),
        exclude_similar_document: args.exclude_self,
        vector_options,
        text_options,
        filter: build_filter(args),
        k: args.k,
        offset: args.offset,
        return_fields: args.fields.clone(),
        lucky: args.lucky,
        ..Default::default()
    })
}

/// Combines the filter options with all-of; `None` without any.
pub fn build_filter(args: &SearchArgs) -> Option<pb::Filter> {
    let mut filters = Vec::new();
    if !args.categories.is_empty() {
        filters.push(tag_any_of(CATEGORIES_FIELD, args.categories.clone()));
    }
    if !args.primary_categories.is_empty() {
        filters.push(tag_any_of(
            PRIMARY_CATEGORY_FIELD,
            args.primary_categories.clone(),
        ));
    }
    if let Some(bounds) = args.year {
        filters.push(numeric_range(YEAR_FIELD, bounds));
    }
    // Values of one TAG field are any-of, in the order the fields first appear.
    let mut tag_fields: Vec<(&str, Vec<String>)> = Vec::new();
    for (field, value) in &args.tags {
        match tag_fields.iter_mut().find(|(name, _)| name == field) {
            Some((_, values)) => values.push(value.clone()),
            None => tag_fields.push((field, vec![value.clone()])),
        }
    }
    filters.extend(
        tag_fields
            .into_iter()
            .map(|(field, values)| tag_any_of(field, values)),
    );
    filters.extend(
        args.ranges
            .iter()
            .map(|(field, bounds)| numeric_range(field, *bounds)),
    );

    match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(pb::Filter {
            condition: Some(pb::filter::Condition::AllOf(pb::FilterList { filters })),
        }),
    }
}

fn tag_any_of(field: &str, values: Vec<String>) -> pb::Filter {
    pb::Filter {
        condition: Some(pb::filter::Condition::TagAnyOf(pb::TagValues {
            field: field.to_owned(),
            values,
        })),
    }
}

fn numeric_range(field: &str, bounds: Bounds) -> pb::Filter {
    let bound = |value: Option<f64>| {
        value.map(|value| pb::NumericBound {
            value,
            exclusive: false,
        })
    };
    pb::Filter {
        condition: Some(pb::filter::Condition::NumericRange(pb::NumericRange {
            field: field.to_owned(),
            min: bound(bounds.min),
            max: bound(bounds.max),
        })),
    }
}

/// Reads a query vector: a JSON array of numbers, or a Vector in proto3 JSON.
fn read_vector(path: &Path) -> anyhow::Result<pb::Vector> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read vector file {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("invalid JSON in vector file {}", path.display()))?;
    parse_vector(&value).with_context(|| format!("invalid vector file {}", path.display()))
}

fn parse_vector(value: &Value) -> anyhow::Result<pb::Vector> {
    let elements = match value {
        Value::Array(elements) => elements,
        Value::Object(object) => match object.get("values") {
            Some(Value::Array(elements)) => elements,
            _ => anyhow::bail!(
                "the object has no \"values\" array; write [0.1, ...] or {{\"values\": [0.1, ...]}}"
            ),
        },
        _ => anyhow::bail!("expected [0.1, ...] or {{\"values\": [0.1, ...]}}"),
    };
    let values = elements
        .iter()
        .enumerate()
        .map(|(index, element)| {
            element
                .as_f64()
                .map(|number| number as f32)
                .ok_or_else(|| anyhow::anyhow!("element {index} is not a number"))
        })
        .collect::<anyhow::Result<Vec<f32>>>()?;
    anyhow::ensure!(!values.is_empty(), "the vector is empty");
    Ok(pb::Vector { values })
}

/// Formats the hits as a table: rank, id, score, year, a title column and a tag column, then a line
/// with the total. The title column shows `title`, or else the first TEXT field by name; the tag
/// column shows `categories`, or else every TAG field. Each column is headed by the field it shows,
/// or by TAGS when it joins several, and a column that no hit has a value for is left out.
pub fn hits_text(response: &pb::SearchResponse, offset: u32, width: Option<usize>) -> String {
    let mode = pb::SearchMode::try_from(response.mode).unwrap_or_default();
    let mode_name = mode.as_str_name().trim_start_matches("SEARCH_MODE_");
    if response.hits.is_empty() {
        return format!(
            "no hits ({} matching documents, mode {mode_name})\n",
            response.total
        );
    }

    let has_year = response
        .hits
        .iter()
        .any(|hit| hit.fields.contains_key(YEAR_FIELD));
    let title_field = title_field(&response.hits);
    let tag_fields = tag_fields(&response.hits);
    let title_header = title_field.as_deref().map(column_header);
    let tag_header = match tag_fields.as_slice() {
        [] => None,
        [field] => Some(column_header(field)),
        _ => Some("TAGS".to_owned()),
    };

    let mut columns: Vec<(String, Align)> = vec![
        ("RANK".to_owned(), Align::Right),
        ("ID".to_owned(), Align::Left),
        ("SCORE".to_owned(), Align::Right),
    ];
    if has_year {
        columns.push(("YEAR".to_owned(), Align::Right));
    }
    if let Some(header) = &title_header {
        columns.push((header.clone(), Align::Left));
    }
    if let Some(header) = &tag_header {
        columns.push((header.clone(), Align::Left));
    }
    let mut table = Table::new(&columns);
    if let Some(header) = &title_header {
        table = table.flexible(header);
    }

    for (index, hit) in response.hits.iter().enumerate() {
        let mut row = vec![
            (u64::from(offset) + index as u64 + 1).to_string(),
            hit.id.clone(),
            format!("{:.4}", hit.score),
        ];
        if has_year {
            row.push(
                hit.fields
                    .get(YEAR_FIELD)
                    .map(field_text)
                    .unwrap_or_default(),
            );
        }
        if let Some(field) = &title_field {
            let title = hit.fields.get(field).map(field_text).unwrap_or_default();
            row.push(crate::input::normalize_whitespace(&title));
        }
        if !tag_fields.is_empty() {
            let tags: Vec<String> = tag_fields
                .iter()
                .filter_map(|field| hit.fields.get(field))
                .map(field_text)
                .filter(|text| !text.is_empty())
                .collect();
            row.push(tags.join(", "));
        }
        table.push(row);
    }

    let mut text = table.render(width);
    let first = u64::from(offset) + 1;
    let last = u64::from(offset) + response.hits.len() as u64;
    text.push_str(&format!(
        "hits {first}-{last} of {} matching documents (mode {mode_name})\n",
        response.total
    ));
    text
}

/// Returns the header of a column that shows one field: its name in capitals, as in "TOPIC".
fn column_header(field: &str) -> String {
    field.to_uppercase()
}

/// Returns `title` when a hit has it, or else the first TEXT field by name of any hit.
fn title_field(hits: &[pb::SearchHit]) -> Option<String> {
    if hits.iter().any(|hit| hit.fields.contains_key("title")) {
        return Some("title".to_owned());
    }
    hits.iter()
        .flat_map(|hit| &hit.fields)
        .filter(|(_, value)| matches!(value.kind, Some(pb::field_value::Kind::Text(_))))
        .map(|(name, _)| name)
        .min()
        .cloned()
}

/// Returns `categories` when a hit has it, or else the TAG fields of any hit, by name.
fn tag_fields(hits: &[pb::SearchHit]) -> Vec<String> {
    if hits
        .iter()
        .any(|hit| hit.fields.contains_key(CATEGORIES_FIELD))
    {
        return vec![CATEGORIES_FIELD.to_owned()];
    }
    let mut names: Vec<String> = hits
        .iter()
        .flat_map(|hit| &hit.fields)
        .filter(|(_, value)| matches!(value.kind, Some(pb::field_value::Kind::Tags(_))))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn search_args(arguments: &[&str]) -> SearchArgs {
        let mut command_line = vec!["docsearch", "search"];
        command_line.extend_from_slice(arguments);
        match Cli::try_parse_from(command_line)
            .expect("valid command line")
            .command
        {
            Command::Search(args) => args,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn text_query_defaults() {
        let request = build_request(&search_args(&[
            "graph neural networks",
            "--index",
            "papers",
        ]))
        .expect("valid request");
        assert_eq!(request.index, "papers");
        assert_eq!(request.text, "graph neural networks");
        assert_eq!(request.k, 10);
        assert_eq!(request.mode, pb::SearchMode::Unspecified as i32);
        assert!(request.filter.is_none());
        assert!(
            request.text_options.is_none(),
            "text options are only sent with --fuzzy"
        );
    }

    #[test]
    fn similar_to_and_mode() {
        let args = search_args(&[
            "--index",
            "papers",
            "--similar-to",
            "0704.0001",
            "--exclude-self",
            "--mode",
            "range",
            "--distance-threshold",
            "0.4",
            "-k",
            "3",
        ]);
        let request = build_request(&args).expect("valid request");
        assert_eq!(request.similar_to_id, "0704.0001");
        assert!(request.exclude_similar_document);
        assert_eq!(request.mode, pb::SearchMode::Range as i32);
        assert_eq!(
            request
                .vector_options
                .expect("vector options")
                .distance_threshold,
            0.4
        );
        assert_eq!(request.k, 3);
    }

    #[test]
    fn one_filter_stays_single() {
        let filter = build_filter(&search_args(&[
            "q",
            "--index",
            "p",
            "--category",
            "hep-th",
            "--category",
            "gr-qc",
        ]))
        .expect("filter");
        assert_eq!(
            filter.condition,
            Some(pb::filter::Condition::TagAnyOf(pb::TagValues {
                field: "categories".to_owned(),
                values: vec!["hep-th".to_owned(), "gr-qc".to_owned()],
            }))
        );
    }

    #[test]
    fn several_filters_become_all_of() {
        let args = search_args(&[
            "q",
            "--index",
            "p",
            "--year",
            "2015..",
            "--primary-category",
            "cs.LG",
            "--tag",
            "topic=Arts",
            "--tag",
            "lang=en",
            "--tag",
            "topic=History",
            "--range",
            "pages=..20",
        ]);
        let Some(pb::filter::Condition::AllOf(list)) =
            build_filter(&args).and_then(|filter| filter.condition)
        else {
            panic!("expected all_of");
        };
        let conditions: Vec<pb::filter::Condition> = list
            .filters
            .into_iter()
            .filter_map(|filter| filter.condition)
            .collect();
        assert_eq!(conditions.len(), 5);
        assert_eq!(
            conditions[0],
            pb::filter::Condition::TagAnyOf(pb::TagValues {
                field: "primary_category".to_owned(),
                values: vec!["cs.LG".to_owned()],
            })
        );
        assert_eq!(
            conditions[1],
            pb::filter::Condition::NumericRange(pb::NumericRange {
                field: "year".to_owned(),
                min: Some(pb::NumericBound {
                    value: 2015.0,
                    exclusive: false
                }),
                max: None,
            })
        );
        assert_eq!(
            conditions[2],
            pb::filter::Condition::TagAnyOf(pb::TagValues {
                field: "topic".to_owned(),
                values: vec!["Arts".to_owned(), "History".to_owned()],
            })
        );
        assert_eq!(
            conditions[3],
            pb::filter::Condition::TagAnyOf(pb::TagValues {
                field: "lang".to_owned(),
                values: vec!["en".to_owned()],
            })
        );
        assert_eq!(
            conditions[4],
            pb::filter::Condition::NumericRange(pb::NumericRange {
                field: "pages".to_owned(),
                min: None,
                max: Some(pb::NumericBound {
                    value: 20.0,
                    exclusive: false
                }),
            })
        );
    }

    #[test]
    fn fuzzy_sets_text_options() {
        let request = build_request(&search_args(&[
            "grpah", "--index", "p", "--mode", "text", "--fuzzy", "2",
        ]))
        .expect("valid");
        assert_eq!(
            request.text_options.expect("text options").fuzzy_distance,
            Some(2)
        );
        assert_eq!(request.mode, pb::SearchMode::Text as i32);
    }

    #[test]
    fn vector_file_forms() {
        assert_eq!(
            parse_vector(&serde_json::json!([0.5, 1]))
                .expect("array")
                .values,
            vec![0.5, 1.0]
        );
        assert_eq!(
            parse_vector(&serde_json::json!({"values": [2]}))
                .expect("object")
                .values,
            vec![2.0]
        );
        assert!(parse_vector(&serde_json::json!([])).is_err());
        assert!(parse_vector(&serde_json::json!(["a"])).is_err());
        assert!(parse_vector(&serde_json::json!({"vector": [1]})).is_err());
    }

    fn hit(id: &str, score: f64, fields: Vec<(&str, pb::field_value::Kind)>) -> pb::SearchHit {
        pb::SearchHit {
            id: id.to_owned(),
            score,
            fields: fields
                .into_iter()
                .map(|(name, kind)| (name.to_owned(), pb::FieldValue { kind: Some(kind) }))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn hits_table_for_papers() {
        use pb::field_value::Kind;
        let response = pb::SearchResponse {
            hits: vec![hit(
                "hep-th/9901001",
                0.81234,
                vec![
                    ("title", Kind::Text("Strings\n  on branes".to_owned())),
                    ("year", Kind::Number(1999.0)),
                    (
                        "categories",
                        Kind::Tags(pb::TagList {
                            values: vec!["hep-th".to_owned(), "gr-qc".to_owned()],
                        }),
                    ),
                ],
            )],
            total: 42,
            facets: Vec::new(),
            mode: pb::SearchMode::Knn as i32,
        };
        let text = hits_text(&response, 0, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "RANK  ID               SCORE  YEAR  TITLE              CATEGORIES"
        );
        assert_eq!(
            lines[1],
            "   1  hep-th/9901001  0.8123  1999  Strings on branes  hep-th, gr-qc"
        );
        assert_eq!(lines[2], "hits 1-1 of 42 matching documents (mode KNN)");
    }

    #[test]
    fn hits_table_for_other_indexes() {
        use pb::field_value::Kind;
        let response = pb::SearchResponse {
            hits: vec![hit(
                "Ada Lovelace",
                0.5,
                vec![
                    ("extract", Kind::Text("Mathematician.".to_owned())),
                    (
                        "topic",
                        Kind::Tags(pb::TagList {
                            values: vec!["People".to_owned()],
                        }),
                    ),
                ],
            )],
            total: 1,
            facets: Vec::new(),
            mode: pb::SearchMode::Knn as i32,
        };
        let text = hits_text(&response, 20, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "RANK  ID             SCORE  EXTRACT         TOPIC",
            "the headers name the fields shown"
        );
        assert_eq!(
            lines[1],
            "  21  Ada Lovelace  0.5000  Mathematician.  People"
        );
    }

    #[test]
    fn hits_table_joins_several_tag_fields() {
        use pb::field_value::Kind;
        let tags = |values: &[&str]| {
            Kind::Tags(pb::TagList {
                values: values.iter().map(|value| (*value).to_owned()).collect(),
            })
        };
        let response = pb::SearchResponse {
            hits: vec![
                hit(
                    "a",
                    0.9,
                    vec![
                        ("title", Kind::Text("First".to_owned())),
                        ("topic", tags(&["Arts"])),
                        ("lang", tags(&["en"])),
                    ],
                ),
                hit("b", 0.8, vec![("title", Kind::Text("Second".to_owned()))]),
            ],
            total: 2,
            facets: Vec::new(),
            mode: pb::SearchMode::Text as i32,
        };
        let text = hits_text(&response, 0, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "RANK  ID   SCORE  TITLE   TAGS");
        assert_eq!(lines[1], "   1  a   0.9000  First   en, Arts");
        assert_eq!(lines[2], "   2  b   0.8000  Second");
    }

    #[test]
    fn hits_table_without_tags_has_no_tag_column() {
        use pb::field_value::Kind;
        let response = pb::SearchResponse {
            hits: vec![hit(
                "a",
                0.9,
                vec![("title", Kind::Text("Only".to_owned()))],
            )],
            total: 1,
            facets: Vec::new(),
            mode: pb::SearchMode::Knn as i32,
        };
        let text = hits_text(&response, 0, None);
        assert!(text.starts_with("RANK  ID   SCORE  TITLE\n"), "{text}");
    }

    #[test]
    fn no_hits_line() {
        let response = pb::SearchResponse {
            mode: pb::SearchMode::Knn as i32,
            ..Default::default()
        };
        assert_eq!(
            hits_text(&response, 0, None),
            "no hits (0 matching documents, mode KNN)\n"
        );
    }
}
