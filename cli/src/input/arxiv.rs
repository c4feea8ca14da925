//! The arXiv metadata format: JSON lines as in the Kaggle snapshot of arXiv (`arxiv-metadata-oai-snapshot`),
//! with `id`, `title`, `abstract`, `authors`, `authors_parsed`, `categories` (space-separated),
//! `versions` ([{version, created}]) and `update_date`, converted to the fields of schemas/arxiv.json.
//! The vector is left out, so the indexer embeds title and abstract.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use serde_json::{Map, Value};

use super::{Record, json_type, normalize_whitespace, number_value, tags_value, text_value};

/// Index fields that converted documents may hold.
pub const FIELD_NAMES: [&str; 6] = [
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "year",
];

/// The year arXiv opened; two-digit years from 91 to 99 are 1991 to 1999.
const FIRST_YEAR: i32 = 1991;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Converts one arXiv metadata record. Null values count as missing. The record is malformed when
/// `id` or `title` is missing or empty, or when a field has the wrong JSON type.
pub fn to_document(record: &Record) -> Result<pb::Document, String> {
    let Value::Object(object) = &record.value else {
        return Err(format!(
            "the record is {}, not a JSON object",
            json_type(&record.value)
        ));
    };
    let id = required_string(object, "id")?.trim().to_owned();
    if id.is_empty() {
        return Err("the id is empty".to_owned());
    }

    let mut fields = HashMap::new();
    let title = normalize_whitespace(required_string(object, "title")?);
    if title.is_empty() {
        return Err("the title is empty".to_owned());
    }
    fields.insert("title".to_owned(), text_value(title));
    if let Some(text) = optional_string(object, "abstract")?.map(normalize_whitespace)
        && !text.is_empty()
    {
        fields.insert("abstract".to_owned(), text_value(text));
    }
    if let Some(authors) = authors(object)?
        && !authors.is_empty()
    {
        fields.insert("authors".to_owned(), text_value(authors));
    }

    let categories: Vec<String> = optional_string(object, "categories")?
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(primary) = categories.first() {
        fields.insert(
            "primary_category".to_owned(),
            tags_value(vec![primary.clone()]),
        );
        fields.insert("categories".to_owned(), tags_value(categories));
    }

    if let Some(year) = year(object, &id)? {
        fields.insert("year".to_owned(), number_value(f64::from(year)));
    }
    Ok(pb::Document {
        id,
        fields,
        vectors: HashMap::new(),
    })
}

fn optional<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn optional_string<'a>(
    object: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, String> {
    match optional(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("{name} is {}, expected a string", json_type(other))),
    }
}

fn required_string<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    optional_string(object, name)?.ok_or_else(|| format!("the record has no {name}"))
}

/// Returns the `authors` string, or else names rebuilt from `authors_parsed` ([[last, first, suffix], ...]).
fn authors(object: &Map<String, Value>) -> Result<Option<String>, String> {
    if let Some(authors) = optional_string(object, "authors")? {
        return Ok(Some(normalize_whitespace(authors)));
    }
    let Some(parsed) = optional(object, "authors_parsed") else {
        return Ok(None);
    };
    let wrong_type =
        || "authors_parsed is not an array of [last, first, suffix] string arrays".to_owned();
    let entries = parsed.as_array().ok_or_else(wrong_type)?;
    let mut names = Vec::with_capacity(entries.len());
    for entry in entries {
        let parts = entry.as_array().ok_or_else(wrong_type)?;
        let mut parts: Vec<&str> = parts
            .iter()
            .map(|part| part.as_str().ok_or_else(wrong_type))
            .collect::<Result<_, _>>()?;
        // [last, first, suffix] reads as "first last suffix".
        if parts.len() >= 2 {
            parts.swap(0, 1);
        }
        let name = normalize_whitespace(&parts.join(" "));
        if !name.is_empty() {
            names.push(name);
        }
    }
    Ok(Some(names.join(", ")))
}

/// Finds the publication year: from the first version's date, else from the id, else from `update_date`,
/// which changes with every revision.
fn year(object: &Map<String, Value>, id: &str) -> Result<Option<i32>, String> {
    let first_version_date = match optional(object, "versions") {
        None => None,
        Some(Value::Array(versions)) => match versions.first() {
            None => None,
            Some(Value::Object(version)) => optional_string(version, "created")
                .map_err(|reason| format!("versions[0].{reason}"))?,
            Some(other) => {
                return Err(format!(
                    "versions[0] is {}, expected an object",
                    json_type(other)
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "versions is {}, expected an array",
                json_type(other)
            ));
        }
    };
    if let Some(year) = first_version_date.and_then(year_from_version_date) {
        return Ok(Some(year));
    }
    if let Some(year) = year_from_id(id) {
        return Ok(Some(year));
    }
    Ok(optional_string(object, "update_date")?.and_then(year_from_update_date))
}

/// Reads the year of an RFC 2822 date as arXiv writes it, such as "Mon, 2 Apr 2007 19:18:42 GMT".
pub fn year_from_version_date(date: &str) -> Option<i32> {
    let mut tokens = date.split_whitespace().peekable();
    if tokens.peek()?.ends_with(',') {
        tokens.next();
    }
    let day: u32 = tokens.next()?.parse().ok()?;
    let month = tokens.next()?;
    let year: i32 = tokens.next()?.parse().ok()?;
    let valid =
        (1..=31).contains(&day) && MONTHS.contains(&month) && (FIRST_YEAR..=9999).contains(&year);
    valid.then_some(year)
}

/// Reads the year an arXiv id was assigned. New-style ids ("0704.0001", "1501.00001v2") start with
/// YYMM, all in the 2000s. Old-style ids ("hep-th/9901001", "math.AG/0101001") carry YYMM after the
/// slash, where YY from 91 is 19YY and below 91 is 20YY.
pub fn year_from_id(id: &str) -> Option<i32> {
    let id = id.strip_prefix("arXiv:").unwrap_or(id);
    let id = strip_version(id);
    let all_digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    let (yymm, old_style) = match id.split_once('/') {
        Some((archive, number))
            if !archive.is_empty() && number.len() == 7 && all_digits(number) =>
        {
            (&number[..4], true)
        }
        Some(_) => return None,
        None => match id.split_once('.') {
            Some((prefix, number))
                if prefix.len() == 4
                    && all_digits(prefix)
                    && (4..=5).contains(&number.len())
                    && all_digits(number) =>
            {
                (prefix, false)
            }
            _ => return None,
        },
    };
    let two_digit_year: i32 = yymm[..2].parse().ok()?;
    let month: u32 = yymm[2..].parse().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if old_style && two_digit_year >= FIRST_YEAR % 100 {
        Some(1900 + two_digit_year)
    } else {
        Some(2000 + two_digit_year)
    }
}

/// Removes a version suffix such as "v2".
fn strip_version(id: &str) -> &str {
    match id.rfind('v') {
        Some(index)
            if index + 1 < id.len()
                && id[index + 1..].bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            &id[..index]
        }
        _ => id,
    }
}

/// Reads the year of a "YYYY-MM-DD" date.
pub fn year_from_update_date(date: &str) -> Option<i32> {
    let year = date.trim().get(0..4)?;
    let year: i32 = year.parse().ok()?;
    (FIRST_YEAR..=9999).contains(&year).then_some(year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        Record {
            line: 1,
            key: None,
            value,
        }
    }

    fn text_of(document: &pb::Document, field: &str) -> Option<String> {
        match document.fields.get(field)?.kind.as_ref()? {
            pb::field_value::Kind::Text(text) => Some(text.clone()),
            _ => None,
        }
    }

    fn tags_of(document: &pb::Document, field: &str) -> Option<Vec<String>> {
        match document.fields.get(field)?.kind.as_ref()? {
            pb::field_value::Kind::Tags(tags) => Some(tags.values.clone()),
            _ => None,
        }
    }

    fn year_of(document: &pb::Document) -> Option<f64> {
        match document.fields.get("year")?.kind.as_ref()? {
            pb::field_value::Kind::Number(number) => Some(*number),
            _ => None,
        }
    }

    #[test]
    fn kaggle_record_converts() {
        let value = json!({
            "id": "0704.0001",
            "submitter": "Pavel Nadolsky",
            "authors": "C. Bal\\'azs, E. L. Berger,\n  P. M. Nadolsky",
            "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
            "categories": "hep-ph  hep-ex",
            "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n",
            "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
            "update_date": "2008-11-13",
            "journal-ref": null,
        });
        let document = to_document(&record(value)).expect("valid record");
        assert_eq!(document.id, "0704.0001");
        assert_eq!(
            text_of(&document, "title").as_deref(),
            Some(
                "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
            )
        );
        assert_eq!(
            text_of(&document, "abstract").as_deref(),
            Some(
                "A fully differential calculation in perturbative quantum chromodynamics is presented."
            )
        );
        assert_eq!(
            text_of(&document, "authors").as_deref(),
            Some("C. Bal\\'azs, E. L. Berger, P. M. Nadolsky")
        );
        assert_eq!(
            tags_of(&document, "categories"),
            Some(vec!["hep-ph".to_owned(), "hep-ex".to_owned()])
        );
        assert_eq!(
            tags_of(&document, "primary_category"),
            Some(vec!["hep-ph".to_owned()])
        );
        assert_eq!(year_of(&document), Some(2007.0));
        assert!(
            document.vectors.is_empty(),
            "the indexer embeds arXiv records"
        );
    }

    #[test]
    fn year_prefers_first_version() {
        let value = json!({
            "id": "hep-th/9901001", "title": "T",
            "versions": [
                {"version": "v1", "created": "Fri, 1 Jan 1999 10:00:00 GMT"},
                {"version": "v2", "created": "Tue, 3 Apr 2001 10:00:00 GMT"}
            ],
            "update_date": "2010-05-01"
        });
        assert_eq!(
            year_of(&to_document(&record(value)).expect("valid")),
            Some(1999.0)
        );
    }

    #[test]
    fn year_falls_back_to_id_then_update_date() {
        let from_id = json!({"id": "1501.00001", "title": "T", "update_date": "2019-02-03"});
        assert_eq!(
            year_of(&to_document(&record(from_id)).expect("valid")),
            Some(2015.0)
        );
        let unreadable_date =
            json!({"id": "0712.1234", "title": "T", "versions": [{"created": "someday"}]});
        assert_eq!(
            year_of(&to_document(&record(unreadable_date)).expect("valid")),
            Some(2007.0)
        );
        let from_update = json!({"id": "legacy-id-7", "title": "T", "update_date": "2012-07-30"});
        assert_eq!(
            year_of(&to_document(&record(from_update)).expect("valid")),
            Some(2012.0)
        );
        let none = json!({"id": "legacy-id-7", "title": "T"});
        assert_eq!(year_of(&to_document(&record(none)).expect("valid")), None);
    }

    #[test]
    fn new_style_ids() {
        assert_eq!(year_from_id("0704.0001"), Some(2007));
        assert_eq!(year_from_id("1501.00001"), Some(2015));
        assert_eq!(year_from_id("2312.12345v3"), Some(2023));
        assert_eq!(year_from_id("arXiv:1706.03762"), Some(2017));
        assert_eq!(year_from_id("1513.00001"), None, "month 13");
        assert_eq!(year_from_id("07041.0001"), None);
        assert_eq!(year_from_id("0704.01"), None);
    }

    #[test]
    fn old_style_ids_split_centuries_at_91() {
        assert_eq!(year_from_id("hep-th/9901001"), Some(1999));
        assert_eq!(year_from_id("hep-ph/9108001"), Some(1991));
        assert_eq!(year_from_id("math.AG/0101001"), Some(2001));
        assert_eq!(year_from_id("cond-mat/0703123v2"), Some(2007));
        assert_eq!(year_from_id("astro-ph/9000001"), None, "month 00");
        assert_eq!(year_from_id("hep-th/99010"), None);
        assert_eq!(year_from_id("/9901001"), None);
    }

    #[test]
    fn version_dates() {
        assert_eq!(
            year_from_version_date("Mon, 2 Apr 2007 19:18:42 GMT"),
            Some(2007)
        );
        assert_eq!(
            year_from_version_date("2 Apr 2007 19:18:42 GMT"),
            Some(2007)
        );
        assert_eq!(year_from_version_date("Mon, 2 Foo 2007 19:18:42 GMT"), None);
        assert_eq!(
            year_from_version_date("Mon, 2 Apr 1970 00:00:00 GMT"),
            None,
            "before arXiv"
        );
        assert_eq!(year_from_version_date(""), None);
    }

    #[test]
    fn update_dates() {
        assert_eq!(year_from_update_date("2008-11-13"), Some(2008));
        assert_eq!(year_from_update_date("13.11.2008"), None);
        assert_eq!(year_from_update_date(""), None);
    }

    #[test]
    fn authors_from_parsed_names() {
        let value = json!({
            "id": "0704.0002", "title": "T",
            "authors_parsed": [["Streinu", "Ileana", ""], ["Theran", "Louis", "Jr."]]
        });
        let document = to_document(&record(value)).expect("valid");
        assert_eq!(
            text_of(&document, "authors").as_deref(),
            Some("Ileana Streinu, Louis Theran Jr.")
        );
    }

    #[test]
    fn missing_categories_leave_tags_out() {
        let document = to_document(&record(
            json!({"id": "0704.0003", "title": "T", "categories": "  "}),
        ))
        .expect("valid");
        assert!(!document.fields.contains_key("categories"));
        assert!(!document.fields.contains_key("primary_category"));
    }

    #[test]
    fn malformed_records() {
        let cases = [
            (json!({"title": "No id"}), "the record has no id"),
            (
                json!({"id": null, "title": "Null id"}),
                "the record has no id",
            ),
            (json!({"id": "  ", "title": "Blank id"}), "the id is empty"),
            (
                json!({"id": 704.0001, "title": "Numeric id"}),
                "id is a number, expected a string",
            ),
            (json!({"id": "0704.0004"}), "the record has no title"),
            (
                json!({"id": "0704.0004", "title": 42}),
                "title is a number, expected a string",
            ),
            (
                json!({"id": "0704.0004", "title": " \n "}),
                "the title is empty",
            ),
            (
                json!({"id": "0704.0004", "title": "T", "categories": ["hep-th"]}),
                "categories is an array, expected a string",
            ),
            (
                json!({"id": "0704.0004", "title": "T", "versions": "v1"}),
                "versions is a string, expected an array",
            ),
            (
                json!({"id": "0704.0004", "title": "T", "versions": [{"created": 5}]}),
                "versions[0].created is a number, expected a string",
            ),
            (
                json!({"id": "0704.0004", "title": "T", "authors_parsed": [["A", 1]]}),
                "authors_parsed is not an array of [last, first, suffix] string arrays",
            ),
            (
                json!(["0704.0004"]),
                "the record is an array, not a JSON object",
            ),
        ];
        for (value, expected) in cases {
            let reason =
                to_document(&record(value.clone())).expect_err(&format!("{value} is malformed"));
            assert_eq!(reason, expected, "{value}");
        }
    }
}
