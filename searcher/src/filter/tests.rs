use super::*;
use proptest::prelude::*;

fn field(name: &str, kind: pb::field_schema::Kind, index_missing: bool) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing,
        kind: Some(kind),
    }
}

fn text_kind() -> pb::field_schema::Kind {
    pb::field_schema::Kind::Text(pb::TextField {
        weight: 0.0,
        no_stem: false,
        sortable: false,
        suggest: false,
    })
}

fn tag_kind(separator: &str) -> pb::field_schema::Kind {
    pb::field_schema::Kind::Tag(pb::TagField {
        separator: separator.to_owned(),
        case_sensitive: false,
        sortable: false,
    })
}

fn schema() -> Schema {
    Schema::from_proto(&pb::IndexSchema {
        fields: vec![
            field("title", text_kind(), false),
            field("abstract", text_kind(), false),
            field("categories", tag_kind(","), false),
            field("authors", tag_kind("|"), false),
            field("doi", tag_kind(""), true),
            field(
                "year",
                pb::field_schema::Kind::Numeric(pb::NumericField { sortable: true }),
                false,
            ),
            field(
                "location",
                pb::field_schema::Kind::Geo(pb::GeoField {}),
                false,
            ),
            field(
                "embedding",
                pb::field_schema::Kind::Vector(pb::VectorField {
                    algorithm: pb::VectorAlgorithm::Flat as i32,
                    dimension: 4,
                    metric: pb::DistanceMetric::Cosine as i32,
                    data_type: 0,
                    m: 0,
                    ef_construction: 0,
                    ef_runtime: 0,
                    model: String::new(),
                    embedding_source_fields: Vec::new(),
                }),
                false,
            ),
        ],
    })
    .unwrap()
}

fn filter(condition: Condition) -> pb::Filter {
    pb::Filter {
        condition: Some(condition),
    }
}

fn tag_any_of(field: &str, values: &[&str]) -> pb::Filter {
    filter(Condition::TagAnyOf(pb::TagValues {
        field: field.to_owned(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }))
}

fn tag_none_of(field: &str, values: &[&str]) -> pb::Filter {
    filter(Condition::TagNoneOf(pb::TagValues {
        field: field.to_owned(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }))
}

fn tag_prefix(field: &str, prefix: &str) -> pb::Filter {
    filter(Condition::TagPrefix(pb::TagPrefix {
        field: field.to_owned(),
        prefix: prefix.to_owned(),
    }))
}

fn bound(value: f64, exclusive: bool) -> Option<pb::NumericBound> {
    Some(pb::NumericBound { value, exclusive })
}

fn numeric_range(
    field: &str,
    min: Option<pb::NumericBound>,
    max: Option<pb::NumericBound>,
) -> pb::Filter {
    filter(Condition::NumericRange(pb::NumericRange {
        field: field.to_owned(),
        min,
        max,
    }))
}

fn text_phrase(field: &str, phrase: &str) -> pb::Filter {
    filter(Condition::TextPhrase(pb::TextPhrase {
        field: field.to_owned(),
        phrase: phrase.to_owned(),
    }))
}

fn text_any_of(field: &str, terms: &[&str]) -> pb::Filter {
    filter(Condition::TextAnyOf(pb::TextTerms {
        field: field.to_owned(),
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
    }))
}

fn text_prefix(field: &str, prefix: &str) -> pb::Filter {
    filter(Condition::TextPrefix(pb::TextPrefix {
        field: field.to_owned(),
        prefix: prefix.to_owned(),
    }))
}

fn text_fuzzy(field: &str, term: &str, distance: u32) -> pb::Filter {
    filter(Condition::TextFuzzy(pb::TextFuzzy {
        field: field.to_owned(),
        term: term.to_owned(),
        distance,
    }))
}

fn geo_radius(latitude: f64, radius: f64, unit: pb::DistanceUnit) -> pb::Filter {
    filter(Condition::GeoRadius(pb::GeoRadius {
        field: "location".to_owned(),
        longitude: 2.35,
        latitude,
        radius,
        unit: unit as i32,
    }))
}

fn missing(field: &str) -> pb::Filter {
    filter(Condition::Missing(pb::FieldMissing {
        field: field.to_owned(),
    }))
}

fn all_of(filters: Vec<pb::Filter>) -> pb::Filter {
    filter(Condition::AllOf(pb::FilterList { filters }))
}

fn any_of(filters: Vec<pb::Filter>) -> pb::Filter {
    filter(Condition::AnyOf(pb::FilterList { filters }))
}

fn not(inner: pb::Filter) -> pb::Filter {
    filter(Condition::Not(Box::new(inner)))
}

fn compiled(filter: &pb::Filter) -> String {
    compile(filter, &schema())
        .unwrap_or_else(|error| panic!("{error}"))
        .expect("the filter has a condition")
}

fn rejected(filter: &pb::Filter) -> InvalidValue {
    match compile(filter, &schema()) {
        Ok(query) => panic!("expected a rejection, got {query:?}"),
        Err(error) => error,
    }
}

// Exact queries, one per condition kind.

#[test]
fn empty_filter_compiles_to_none() {
    assert_eq!(
        compile(&pb::Filter { condition: None }, &schema()),
        Ok(None)
    );
}

#[test]
fn tag_any_of_escapes_values() {
    assert_eq!(
        compiled(&tag_any_of("categories", &["cs.LG", "stat ML"])),
        r"@categories:{cs\.LG|stat\ ML}"
    );
}

#[test]
fn tag_none_of_negates() {
    assert_eq!(
        compiled(&tag_none_of("categories", &["cs.LG"])),
        r"-@categories:{cs\.LG}"
    );
}

#[test]
fn tag_prefix_appends_star() {
    assert_eq!(
        compiled(&tag_prefix("categories", "cs.")),
        r"@categories:{cs\.*}"
    );
}

#[test]
fn numeric_range_inclusive_and_exclusive() {
    let filter = numeric_range("year", bound(2019.0, false), bound(2021.0, true));
    assert_eq!(compiled(&filter), "@year:[2019 (2021]");
}

#[test]
fn numeric_range_open_min() {
    let filter = numeric_range("year", None, bound(-0.5, false));
    assert_eq!(compiled(&filter), "@year:[-inf -0.5]");
}

#[test]
fn numeric_range_open_max() {
    let filter = numeric_range("year", bound(2019.0, true), None);
    assert_eq!(compiled(&filter), "@year:[(2019 +inf]");
}

#[test]
fn numeric_range_open_both() {
    assert_eq!(
        compiled(&numeric_range("year", None, None)),
        "@year:[-inf +inf]"
    );
}

#[test]
fn numeric_range_large_bound_uses_exponent() {
    let filter = numeric_range("year", bound(1e300, false), bound(f64::INFINITY, false));
    assert_eq!(compiled(&filter), "@year:[1e300 +inf]");
}

#[test]
fn text_phrase_drops_stopwords() {
    assert_eq!(
        compiled(&text_phrase("title", "Attention is all you need")),
        r#"@title:"attention all you need""#
    );
}

#[test]
fn text_phrase_any_field() {
    assert_eq!(
        compiled(&text_phrase("", "graph")),
        r#"@title|abstract:"graph""#
    );
}

#[test]
fn text_any_of_quotes_multiword_terms() {
    assert_eq!(
        compiled(&text_any_of(
            "title",
            &["transformer", "state-of-the-art", "x_y"]
        )),
        r#"@title:(transformer|"state art"|x\_y)"#
    );
}

#[test]
fn fieldless_text_any_of_lists_text_fields() {
    assert_eq!(
        compiled(&text_any_of("", &["graph", "ISMISSING", "Inf", "1E5"])),
        "@title|abstract:(graph|ismissing|inf|1e5)"
    );
}

#[test]
fn text_prefix_appends_star() {
    assert_eq!(compiled(&text_prefix("title", "transf")), "@title:transf*");
}

#[test]
fn text_fuzzy_repeats_percent() {
    assert_eq!(
        compiled(&text_fuzzy("title", "netwrk", 2)),
        "@title:%%netwrk%%"
    );
}

#[test]
fn text_fuzzy_any_field() {
    assert_eq!(
        compiled(&text_fuzzy("", "netwrk", 1)),
        "@title|abstract:%netwrk%"
    );
}

#[test]
fn geo_radius_names_unit() {
    let filter = geo_radius(48.85, 10.0, pb::DistanceUnit::Kilometers);
    assert_eq!(compiled(&filter), "@location:[2.35 48.85 10 km]");
}

#[test]
fn geo_radius_defaults_to_meters() {
    let filter = geo_radius(-33.5, 250.5, pb::DistanceUnit::Unspecified);
    assert_eq!(compiled(&filter), "@location:[2.35 -33.5 250.5 m]");
}

#[test]
fn missing_uses_ismissing() {
    assert_eq!(compiled(&missing("doi")), "ismissing(@doi)");
}

#[test]
fn all_of_groups_members() {
    let filter = all_of(vec![
        tag_any_of("categories", &["cs.LG"]),
        numeric_range("year", bound(2019.0, false), None),
    ]);
    assert_eq!(
        compiled(&filter),
        r"((@categories:{cs\.LG}) (@year:[2019 +inf]))"
    );
}

#[test]
fn any_of_groups_members() {
    let filter = any_of(vec![
        tag_any_of("categories", &["cs.LG"]),
        text_prefix("title", "graph"),
    ]);
    assert_eq!(
        compiled(&filter),
        r"((@categories:{cs\.LG}) | (@title:graph*))"
    );
}

#[test]
fn not_wraps_leaf() {
    assert_eq!(
        compiled(&not(tag_any_of("categories", &["cs.LG"]))),
        r"-(@categories:{cs\.LG})"
    );
}

#[test]
fn not_wraps_group_once() {
    let filter = not(all_of(vec![
        missing("doi"),
        tag_none_of("authors", &["Ng"]),
    ]));
    assert_eq!(compiled(&filter), "-((ismissing(@doi)) (-@authors:{Ng}))");
}

#[test]
fn single_member_list_is_member() {
    let filter = all_of(vec![missing("doi")]);
    assert_eq!(compiled(&filter), "ismissing(@doi)");
}

#[test]
fn nested_lists_keep_structure() {
    let filter = all_of(vec![
        any_of(vec![missing("doi"), text_fuzzy("", "graph", 1)]),
        not(tag_prefix("authors", "Le")),
    ]);
    assert_eq!(
        compiled(&filter),
        "(((ismissing(@doi)) | (@title|abstract:%graph%)) (-(@authors:{Le*})))"
    );
}

// Rejections, each naming the path of the bad value.

#[test]
fn tag_condition_on_numeric_field_rejected() {
    let filter = all_of(vec![missing("doi"), tag_any_of("year", &["2019"])]);
    let error = rejected(&filter);
    assert_eq!(error.field, "filter.all_of.filters[1].tag_any_of.field");
    assert_eq!(
        error.message,
        "\"year\" is a NUMERIC field; tag_any_of needs a TAG field"
    );
}

#[test]
fn unknown_field_rejected() {
    let error = rejected(&numeric_range("published", None, None));
    assert_eq!(error.field, "filter.numeric_range.field");
    assert!(
        error
            .message
            .contains("\"published\" is not a field of the index"),
        "{error}"
    );
}

#[test]
fn empty_field_name_rejected() {
    let error = rejected(&tag_any_of("", &["x"]));
    assert_eq!(error.field, "filter.tag_any_of.field");
}

#[test]
fn vector_field_rejected_for_missing() {
    let error = rejected(&missing("embedding"));
    assert_eq!(error.field, "filter.missing.field");
    assert!(error.message.contains("VECTOR"), "{error}");
}

#[test]
fn missing_without_index_missing_rejected() {
    let error = rejected(&missing("year"));
    assert_eq!(error.field, "filter.missing.field");
    assert!(error.message.contains("index_missing"), "{error}");
}

#[test]
fn empty_tag_list_rejected() {
    let error = rejected(&tag_any_of("categories", &[]));
    assert_eq!(error.field, "filter.tag_any_of.values");
}

#[test]
fn empty_tag_value_rejected() {
    let error = rejected(&tag_none_of("categories", &["cs.LG", ""]));
    assert_eq!(error.field, "filter.tag_none_of.values[1]");
}

#[test]
fn tag_value_with_separator_rejected() {
    let error = rejected(&tag_any_of("categories", &["a,b"]));
    assert_eq!(error.field, "filter.tag_any_of.values[0]");
    assert!(error.message.contains("separator ','"), "{error}");
}

#[test]
fn padded_tag_value_rejected() {
    let error = rejected(&tag_any_of("categories", &[" cs.LG"]));
    assert_eq!(error.field, "filter.tag_any_of.values[0]");
}

#[test]
fn control_character_rejected() {
    let error = rejected(&tag_any_of("categories", &["a\u{1}b"]));
    assert_eq!(error.field, "filter.tag_any_of.values[0]");
    assert!(error.message.contains("U+0001"), "{error}");
}

#[test]
fn too_many_values_rejected() {
    let values: Vec<String> = (0..=MAX_VALUES).map(|n| format!("v{n}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let error = rejected(&tag_any_of("categories", &values));
    assert_eq!(error.field, "filter.tag_any_of.values");
}

#[test]
fn short_tag_prefix_rejected() {
    let error = rejected(&tag_prefix("categories", "c"));
    assert_eq!(error.field, "filter.tag_prefix.prefix");
    assert!(error.message.contains("at least 2"), "{error}");
}

#[test]
fn tag_prefix_with_final_backslash_rejected() {
    let error = rejected(&tag_prefix("categories", "a\\"));
    assert_eq!(error.field, "filter.tag_prefix.prefix");
    assert!(error.message.contains("ends with a backslash"), "{error}");
}

#[test]
fn tag_prefix_keeps_final_space() {
    assert_eq!(
        compiled(&tag_prefix("categories", "a ")),
        r"@categories:{a\ *}"
    );
}

#[test]
fn tag_prefix_with_leading_space_rejected() {
    let error = rejected(&tag_prefix("categories", " ab"));
    assert_eq!(error.field, "filter.tag_prefix.prefix");
}

#[test]
fn short_text_prefix_rejected() {
    let error = rejected(&text_prefix("title", "é"));
    assert_eq!(error.field, "filter.text_prefix.prefix");
}

#[test]
fn multiword_text_prefix_rejected() {
    let error = rejected(&text_prefix("title", "graph net"));
    assert_eq!(error.field, "filter.text_prefix.prefix");
    assert!(error.message.contains("not one word"), "{error}");
}

#[test]
fn fuzzy_distance_zero_rejected() {
    let error = rejected(&text_fuzzy("title", "graph", 0));
    assert_eq!(error.field, "filter.text_fuzzy.distance");
}

#[test]
fn fuzzy_distance_four_rejected() {
    let error = rejected(&text_fuzzy("title", "graph", 4));
    assert_eq!(error.field, "filter.text_fuzzy.distance");
}

#[test]
fn fuzzy_empty_term_rejected() {
    let error = rejected(&text_fuzzy("title", "", 1));
    assert_eq!(error.field, "filter.text_fuzzy.term");
}

#[test]
fn text_on_tag_field_rejected() {
    let error = rejected(&text_phrase("categories", "graph"));
    assert_eq!(error.field, "filter.text_phrase.field");
    assert!(error.message.contains("is a TAG field"), "{error}");
}

#[test]
fn stopword_only_term_rejected() {
    let error = rejected(&text_any_of("title", &["graph", "The"]));
    assert_eq!(error.field, "filter.text_any_of.terms[1]");
    assert!(error.message.contains("stop words"), "{error}");
}

#[test]
fn separator_only_phrase_rejected() {
    let error = rejected(&text_phrase("title", "--- ..."));
    assert_eq!(error.field, "filter.text_phrase.phrase");
}

#[test]
fn min_above_max_rejected() {
    let error = rejected(&numeric_range(
        "year",
        bound(2021.0, false),
        bound(2019.0, false),
    ));
    assert_eq!(error.field, "filter.numeric_range.min.value");
    assert!(error.message.contains("greater than max"), "{error}");
}

#[test]
fn huge_bounds_printed_compactly() {
    let error = rejected(&numeric_range(
        "year",
        bound(1e308, false),
        bound(-1e300, false),
    ));
    assert_eq!(
        error.message,
        "min 1e308 is greater than max -1e300; swap the bounds"
    );
    let error = rejected(&geo_radius(48.85, -1e308, pb::DistanceUnit::Meters));
    assert!(
        error.message.starts_with("-1e308 is not a valid radius"),
        "{error}"
    );
}

#[test]
fn short_prefix_counts_characters() {
    let error = rejected(&text_prefix("title", "b"));
    assert_eq!(
        error.message,
        "\"b\" has 1 character; a prefix needs at least 2"
    );
}

#[test]
fn nan_bound_rejected() {
    let error = rejected(&numeric_range("year", None, bound(f64::NAN, false)));
    assert_eq!(error.field, "filter.numeric_range.max.value");
}

#[test]
fn empty_exclusive_range_rejected() {
    let error = rejected(&numeric_range(
        "year",
        bound(2019.0, true),
        bound(2019.0, false),
    ));
    assert_eq!(error.field, "filter.numeric_range");
}

#[test]
fn equal_inclusive_bounds_accepted() {
    let filter = numeric_range("year", bound(2019.0, false), bound(2019.0, false));
    assert_eq!(compiled(&filter), "@year:[2019 2019]");
}

#[test]
fn latitude_out_of_range_rejected() {
    let error = rejected(&geo_radius(89.0, 1.0, pb::DistanceUnit::Meters));
    assert_eq!(error.field, "filter.geo_radius.latitude");
}

#[test]
fn zero_radius_rejected() {
    let error = rejected(&geo_radius(0.0, 0.0, pb::DistanceUnit::Meters));
    assert_eq!(error.field, "filter.geo_radius.radius");
}

#[test]
fn unknown_unit_rejected() {
    let mut filter = geo_radius(0.0, 1.0, pb::DistanceUnit::Meters);
    if let Some(Condition::GeoRadius(radius)) = &mut filter.condition {
        radius.unit = 42;
    }
    let error = rejected(&filter);
    assert_eq!(error.field, "filter.geo_radius.unit");
}

#[test]
fn empty_list_rejected() {
    let error = rejected(&any_of(vec![]));
    assert_eq!(error.field, "filter.any_of.filters");
}

#[test]
fn empty_nested_filter_rejected() {
    let error = rejected(&not(pb::Filter { condition: None }));
    assert_eq!(error.field, "filter.not");
    assert!(error.message.contains("empty"), "{error}");
}

#[test]
fn deep_nesting_rejected() {
    let mut filter = missing("doi");
    for _ in 0..MAX_DEPTH {
        filter = not(filter);
    }
    let error = rejected(&filter);
    assert_eq!(error.field, format!("filter{}", ".not".repeat(MAX_DEPTH)));
    assert!(error.message.contains("deeper than 16"), "{error}");
}

#[test]
fn max_depth_accepted() {
    let mut filter = missing("doi");
    for _ in 1..MAX_DEPTH {
        filter = not(filter);
    }
    assert!(compile(&filter, &schema()).is_ok());
}

#[test]
fn too_many_conditions_rejected() {
    let members: Vec<pb::Filter> = (0..MAX_CONDITIONS).map(|_| missing("doi")).collect();
    let error = rejected(&all_of(members));
    assert_eq!(error.field, "filter");
}

#[test]
fn text_without_text_fields_rejected() {
    let schema = Schema::from_proto(&pb::IndexSchema {
        fields: vec![field("categories", tag_kind(","), false)],
    })
    .unwrap();
    let error = compile(&text_any_of("", &["graph"]), &schema).unwrap_err();
    assert_eq!(error.field, "filter.text_any_of.field");
}

#[test]
fn every_special_character_escaped() {
    let value = r#"a.-|{}\"'*?@:;,/()[]~!$%^&=+<>`# é"#;
    assert_eq!(
        escape(value),
        r#"a\.\-\|\{\}\\\"\'\*\?\@\:\;\,\/\(\)\[\]\~\!\$\%\^\&\=\+\<\>\`\#\ é"#
    );
}

#[test]
fn words_split_like_indexer() {
    let words = split_words("state-of-the-art\tnets, x_y\nz");
    assert_eq!(words, ["state", "of", "the", "art", "nets", "x_y", "z"]);
}

#[test]
fn words_split_at_any_white_space() {
    let words = split_words("alpha\nbeta\r\ngamma\u{0B}delta\u{0C}epsilon\u{A0}zeta\u{2028}eta");
    assert_eq!(
        words,
        ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    );
}

#[test]
fn backslashes_dropped_like_indexer() {
    // Terms that RediSearch 2.10.5 indexes for these words, read with FT.DEBUG DUMP_TERMS.
    let cases: [(&str, &[&str]); 7] = [
        (r"foo\bar", &["foobar"]),
        (r"C:\temp\file", &["c", "tempfile"]),
        (r"\alpha + \beta_{1}", &["alpha", "beta_", "1"]),
        (r"x\,y", &["x,y"]),
        (r"a\\b", &[r"a\b"]),
        (r"trail\ q", &["trail q"]),
        (r"end\ \", &["end "]),
    ];
    for (text, expected) in cases {
        assert_eq!(split_words(text), expected, "{text:?}");
    }
}

#[test]
fn escaped_tab_dropped_like_indexer() {
    assert_eq!(split_words("foo\\\tbar"), ["foobar"]);
}

#[test]
fn long_words_cut_like_indexer() {
    let long = "A".repeat(300);
    assert_eq!(split_words(&long), ["a".repeat(MAX_TERM_BYTES)]);

    // The cut counts the bytes of backslashes, which are dropped after it.
    let escaped = r"b\".repeat(100);
    assert_eq!(split_words(&escaped), ["b".repeat(MAX_TERM_BYTES / 2)]);

    let two_byte = "é".repeat(100);
    assert_eq!(split_words(&two_byte), ["é".repeat(MAX_TERM_BYTES / 2)]);
}

#[test]
fn long_word_cut_at_character_boundary() {
    let word = format!("{}é", "q".repeat(MAX_TERM_BYTES - 1));
    assert_eq!(split_words(&word), ["q".repeat(MAX_TERM_BYTES - 1)]);
}

#[test]
fn text_any_of_drops_backslash() {
    assert_eq!(
        compiled(&text_any_of("title", &[r"foo\bar", r"x\,y"])),
        r"@title:(foobar|x\,y)"
    );
}

#[test]
fn text_prefix_drops_backslash() {
    assert_eq!(compiled(&text_prefix("title", r"\alp")), "@title:alp*");
}

#[test]
fn text_prefix_short_without_backslash_rejected() {
    let error = rejected(&text_prefix("title", r"\a"));
    assert_eq!(error.field, "filter.text_prefix.prefix");
    assert!(error.message.contains("at least 2"), "{error}");
}

#[test]
fn text_fuzzy_rejects_line_break() {
    let error = rejected(&text_fuzzy("title", "graph\nnetworks", 1));
    assert_eq!(error.field, "filter.text_fuzzy.term");
}

// Structure: what the query lexer reads as operators.

/// A lexical unit of a compiled query, as far as structure goes.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of term characters and escaped characters, or a whole quoted phrase of such runs.
    Term,
    /// An unescaped ASCII punctuation or white-space character.
    Operator(char),
}

fn is_operator(c: char) -> bool {
    c.is_ascii_punctuation() || is_lexer_space(c) || c.is_ascii_control()
}

/// Returns whether a backslash turns `c` into a term character.
fn is_escapable(c: char) -> bool {
    c.is_ascii_punctuation() || is_lexer_space(c)
}

/// Splits a query into terms and operators the way the RediSearch lexer classifies characters. A
/// backslash makes the next punctuation or white-space character part of a term. Other ASCII
/// punctuation, white space and control characters are operators, and every other character belongs
/// to a term. A quoted span that contains only terms separated by spaces counts as one term, so that a
/// multi-word phrase and a single word have the same structure.
fn structure(query: &str) -> Vec<Token> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut position = 0;
    while position < chars.len() {
        let c = chars[position];
        if c == '"'
            && let Some(end) = closing_quote(&chars, position + 1)
        {
            tokens.push(Token::Term);
            position = end + 1;
            continue;
        }
        if c == '\\'
            && chars
                .get(position + 1)
                .is_some_and(|&next| is_escapable(next))
        {
            push_term(&mut tokens);
            position += 2;
        } else if is_operator(c) {
            tokens.push(Token::Operator(c));
            position += 1;
        } else {
            push_term(&mut tokens);
            position += 1;
        }
    }
    tokens
}

fn push_term(tokens: &mut Vec<Token>) {
    if tokens.last() != Some(&Token::Term) {
        tokens.push(Token::Term);
    }
}

/// Finds the closing quote of a phrase that holds only terms and single spaces between them.
fn closing_quote(chars: &[char], start: usize) -> Option<usize> {
    let mut position = start;
    let mut previous_was_space = true;
    while position < chars.len() {
        match chars[position] {
            '"' if !previous_was_space => return Some(position),
            '\\' if chars
                .get(position + 1)
                .is_some_and(|&next| is_escapable(next)) =>
            {
                position += 2;
                previous_was_space = false;
            }
            ' ' if !previous_was_space => {
                position += 1;
                previous_was_space = true;
            }
            c if !is_operator(c) => {
                position += 1;
                previous_was_space = false;
            }
            _ => return None,
        }
    }
    None
}

/// Words that the RediSearch 2.10 query lexer reads as keywords or numbers, in mixed case.
const LEXER_WORDS: [&str; 8] = [
    "ismissing",
    "IsMissing",
    "inf",
    "INF",
    "1E5",
    "as",
    "Exists",
    "isempty",
];

/// Characters that mean something in query syntax, and others that stress escaping.
const SPECIAL_CHARACTERS: &str =
    "{}|()[]\"'\\@:*?~-!$%;,/ .=+<>^&#`_\t\n\r\u{0B}\u{0C}\u{1}\u{7F}é€𝄞";

fn value_strategy() -> impl Strategy<Value = String> {
    let special: Vec<char> = SPECIAL_CHARACTERS.chars().collect();
    let character = prop_oneof![
        3 => prop::sample::select(special),
        2 => prop::char::range('a', 'z'),
        1 => any::<char>(),
    ];
    let characters = prop::collection::vec(character, 0..24).prop_map(String::from_iter);
    prop_oneof![
        4 => characters,
        1 => prop::sample::select(LEXER_WORDS.to_vec()).prop_map(str::to_owned),
    ]
}

/// Filters that put one caller value next to a fixed structure, with the path the value sits at.
fn filters_around(value: &str) -> Vec<(pb::Filter, &'static str)> {
    let around = |inner: pb::Filter| {
        all_of(vec![
            numeric_range("year", bound(2000.0, false), None),
            not(inner),
            tag_any_of("doi", &["fixed"]),
        ])
    };
    vec![
        (
            around(tag_any_of("categories", &["fixed", value])),
            "filter.all_of.filters[1].not.tag_any_of.values[1]",
        ),
        (
            around(tag_none_of("authors", &[value])),
            "filter.all_of.filters[1].not.tag_none_of.values[0]",
        ),
        (
            around(tag_prefix("categories", value)),
            "filter.all_of.filters[1].not.tag_prefix.prefix",
        ),
        (
            around(text_phrase("title", value)),
            "filter.all_of.filters[1].not.text_phrase.phrase",
        ),
        (
            around(text_any_of("", &["fixed", value])),
            "filter.all_of.filters[1].not.text_any_of.terms[1]",
        ),
        (
            around(text_prefix("abstract", value)),
            "filter.all_of.filters[1].not.text_prefix.prefix",
        ),
        (
            around(text_fuzzy("title", value, 3)),
            "filter.all_of.filters[1].not.text_fuzzy.term",
        ),
    ]
}

/// Reverses `escape` as RediSearch does for tag values: a backslash before ASCII punctuation or white
/// space is dropped and the character after it is kept as it is.
fn unescape(query_value: &str) -> String {
    let mut value = String::new();
    let mut chars = query_value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && is_escapable(next)
        {
            value.push(next);
            chars.next();
            continue;
        }
        value.push(c);
    }
    value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn value_cannot_change_structure(value in value_strategy()) {
        let schema = schema();
        let skeletons = filters_around("xx");
        for ((filter, value_path), (skeleton, _)) in filters_around(&value).iter().zip(&skeletons) {
            let expected = structure(&compile(skeleton, &schema).unwrap().unwrap());
            match compile(filter, &schema) {
                Ok(query) => prop_assert_eq!(
                    structure(query.as_ref().unwrap()),
                    expected,
                    "value {:?} compiled to {:?}",
                    value,
                    query
                ),
                Err(error) => prop_assert_eq!(
                    error.field.as_str(),
                    *value_path,
                    "value {:?} was rejected at another path: {}",
                    value,
                    error
                ),
            }
        }
    }

    #[test]
    fn free_text_words_follow_field_modifier(value in value_strategy()) {
        // A keyword such as `ismissing` is read as a term only after a field modifier, and the lexer
        // matches numbers such as `INF` without folding case, so every word must be lower case.
        let filter = text_any_of("", &[value.as_str()]);
        if let Ok(Some(query)) = compile(&filter, &schema()) {
            prop_assert!(
                query.starts_with("@title|abstract:("),
                "value {:?} compiled to {:?}",
                value,
                query
            );
            prop_assert!(
                !query.chars().any(|c| c.is_ascii_uppercase()),
                "value {:?} compiled to {:?}",
                value,
                query
            );
        }
    }

    #[test]
    fn escape_round_trips(value in value_strategy()) {
        prop_assert_eq!(unescape(&escape(&value)), value);
    }

    #[test]
    fn numbers_parse_back_exactly(value in any::<f64>().prop_filter("NaN", |v| !v.is_nan())) {
        let text = format_number(value);
        prop_assert_eq!(text.parse::<f64>().unwrap(), value, "{}", text);
        prop_assert!(matches_lexer_number(&text), "{} is not a lexer number", text);
    }
}

/// Matches the lexer's number syntax: `-? digits (. digits)? ([eE] -? digits)?`, or `±inf`.
fn matches_lexer_number(text: &str) -> bool {
    if text == "+inf" || text == "-inf" {
        return true;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(mantissa),
    };
    let exponent_ok =
        exponent.is_none_or(|exponent| digits(exponent.strip_prefix('-').unwrap_or(exponent)));
    mantissa_ok && exponent_ok
}

#[test]
fn value_with_every_operator_compiles() {
    let value = r#"a{}|()[]"'\@:*?~-!$%;/ .b"#;
    let query = compiled(&tag_any_of("categories", &[value]));
    assert_eq!(
        structure(&query),
        structure(&compiled(&tag_any_of("categories", &["xx"])))
    );
}

#[test]
fn structure_sees_unescaped_operator() {
    assert_ne!(structure("@f:{a|b}"), structure(r"@f:{a\|b}"));
}
