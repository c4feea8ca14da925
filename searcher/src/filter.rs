//! Compiles a `docsearch.v1.Filter` to RediSearch query syntax (DIALECT 2), after checking every
//! condition against the index schema.
//!
//! Each condition compiles to one operand:
//!
//! | condition       | query                                            |
//! |-----------------|--------------------------------------------------|
//! | `tag_any_of`    | `@f:{a|b}`                                       |
//! | `tag_none_of`   | `-@f:{a|b}`                                      |
//! | `tag_prefix`    | `@f:{ab*}`                                       |
//! | `numeric_range` | `@f:[min max]`, `(` before an exclusive bound, `-inf`/`+inf` for an open end |
//! | `text_phrase`   | `@f:"w1 w2"`                                     |
//! | `text_any_of`   | `@f:(t1|t2|"w1 w2")`                             |
//! | `text_prefix`   | `@f:ab*`                                         |
//! | `text_fuzzy`    | `@f:%term%`, with one `%` per unit of distance   |
//! | `geo_radius`    | `@f:[lon lat radius unit]`                       |
//! | `missing`       | `ismissing(@f)`                                  |
//! | `all_of`        | `((a) (b))`                                      |
//! | `any_of`        | `((a) | (b))`                                    |
//! | `not`           | `-(a)`, or `-((a) (b))` for a list               |
//!
//! A text condition without a field lists every TEXT field of the index in its modifier, `@f1|f2:`,
//! instead of leaving the modifier out. Where a clause may start, RediSearch 2.10.5 reads a word
//! `ismissing` (in any case) as the `ismissing(@f)` function and fails with a syntax error. After a
//! field modifier it reads the word as a term. [`escape_word`] sets the case of the words.
//!
//! Lists put each member in parentheses. Without them, operator precedence in the DIALECT 2 grammar
//! lets a `-` or a field modifier reach into the next member when that member is a fuzzy term or a
//! prefix: RediSearch 2.10 reads `-@a:{x} %%y%%` as the negation of both.
//!
//! Caller values never reach the query unescaped. Inside a term, the RediSearch query lexer reads
//! ASCII punctuation (except `_`) and white space as operators unless a backslash precedes them, and
//! letters, digits and non-ASCII characters as part of the term. So every ASCII punctuation and
//! white-space character of a value gets a backslash, `_` included. Values with other control
//! characters, which the lexer skips and which no backslash can protect, are rejected. Field names come
//! from the validated schema (`[A-Za-z0-9_]`) and numbers are formatted by this module.
//!
//! Text values are first turned into the terms that RediSearch would index for them (see
//! [`split_words`]), so that a query word can equal an indexed word. Default stop words are dropped
//! from phrases, and terms made only of stop words are rejected, because RediSearch drops a clause that
//! is only a stop word, which would widen an `all_of`.

use std::ops::Range;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use docsearch_runtime::InvalidValue;
use docsearch_runtime::fields::separate_words;
use docsearch_runtime::schema::{Field, FieldKind, Schema};
use docsearch_runtime::validate::quote;

use crate::error::{count_of, display_number};

/// Maximum nesting of `all_of`, `any_of` and `not`, counting the top-level filter as 1.
pub const MAX_DEPTH: usize = 16;
/// Maximum number of conditions in one filter, lists and negations included.
pub const MAX_CONDITIONS: usize = 1024;
/// Maximum number of values or terms in one condition.
pub const MAX_VALUES: usize = 1024;
/// Maximum length of an indexed term, in bytes. RediSearch 2.10.5 cuts a longer word at this length
/// before it drops backslashes and control characters from it.
pub const MAX_TERM_BYTES: usize = 128;
/// Minimum length of a prefix in characters; RediSearch's MINPREFIX defaults to 2.
pub const MIN_PREFIX_CHARS: usize = 2;

/// Characters besides white space at which RediSearch 2.10 splits TEXT fields into words, by default.
pub const TEXT_SEPARATORS: &str = ",./(){}[]:;~!@#$%^&*-=+|'`\"<>?";

/// RediSearch's default stop words, which a TEXT field created without STOPWORDS does not index.
const DEFAULT_STOPWORDS: [&str; 33] = [
    "a", "is", "the", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
    "it", "no", "not", "of", "on", "or", "such", "that", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with",
];

/// Compiles the filter of a search request; `Ok(None)` when the filter has no condition, which passes
/// every document. Errors name the offending value by its path under `filter`.
pub fn compile(filter: &pb::Filter, schema: &Schema) -> Result<Option<String>, InvalidValue> {
    if filter.condition.is_none() {
        return Ok(None);
    }
    let mut compiler = Compiler {
        schema,
        num_conditions: 0,
    };
    compiler
        .filter(filter, "filter", 1)
        .map(|operand| Some(operand.query))
}

/// A compiled condition.
struct Operand {
    query: String,
    /// The whole query is one parenthesized group, so it needs no more parentheses to stand alone.
    grouped: bool,
}

impl Operand {
    fn ungrouped(query: String) -> Self {
        Self {
            query,
            grouped: false,
        }
    }

    fn grouped_query(self) -> String {
        if self.grouped {
            self.query
        } else {
            format!("({})", self.query)
        }
    }
}

struct Compiler<'a> {
    schema: &'a Schema,
    num_conditions: usize,
}

impl Compiler<'_> {
    fn filter(
        &mut self,
        filter: &pb::Filter,
        path: &str,
        depth: usize,
    ) -> Result<Operand, InvalidValue> {
        self.num_conditions += 1;
        if self.num_conditions > MAX_CONDITIONS {
            return Err(InvalidValue::new(
                "filter",
                format!("the filter has more than {MAX_CONDITIONS} conditions; simplify it"),
            ));
        }
        if depth > MAX_DEPTH {
            return Err(InvalidValue::new(
                path,
                format!("the filter nests deeper than {MAX_DEPTH} levels; flatten it"),
            ));
        }
        let Some(condition) = &filter.condition else {
            return Err(InvalidValue::new(
                path,
                "the filter is empty; set one condition, such as tag_any_of, or remove it",
            ));
        };

        let query = match condition {
            Condition::TagAnyOf(values) => {
                let path = format!("{path}.tag_any_of");
                let (field, values) = self.tag_values(values, &path)?;
                format!("@{field}:{{{values}}}")
            }
            Condition::TagNoneOf(values) => {
                let path = format!("{path}.tag_none_of");
                let (field, values) = self.tag_values(values, &path)?;
                format!("-@{field}:{{{values}}}")
            }
            Condition::TagPrefix(prefix) => {
                self.tag_prefix(prefix, &format!("{path}.tag_prefix"))?
            }
            Condition::NumericRange(range) => {
                self.numeric_range(range, &format!("{path}.numeric_range"))?
            }
            Condition::TextPhrase(phrase) => {
                self.text_phrase(phrase, &format!("{path}.text_phrase"))?
            }
            Condition::TextAnyOf(terms) => {
                self.text_any_of(terms, &format!("{path}.text_any_of"))?
            }
            Condition::TextPrefix(prefix) => {
                self.text_prefix(prefix, &format!("{path}.text_prefix"))?
            }
            Condition::TextFuzzy(fuzzy) => self.text_fuzzy(fuzzy, &format!("{path}.text_fuzzy"))?,
            Condition::GeoRadius(radius) => {
                self.geo_radius(radius, &format!("{path}.geo_radius"))?
            }
            Condition::Missing(missing) => self.missing(missing, &format!("{path}.missing"))?,
            Condition::AllOf(list) => {
                let members = self.list(list, &format!("{path}.all_of"), depth)?;
                return Ok(group(members, " "));
            }
            Condition::AnyOf(list) => {
                let members = self.list(list, &format!("{path}.any_of"), depth)?;
                return Ok(group(members, " | "));
            }
            Condition::Not(inner) => {
                let operand = self.filter(inner, &format!("{path}.not"), depth + 1)?;
                format!("-{}", operand.grouped_query())
            }
        };
        Ok(Operand::ungrouped(query))
    }

    fn list(
        &mut self,
        list: &pb::FilterList,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Operand>, InvalidValue> {
        if list.filters.is_empty() {
            return Err(InvalidValue::new(
                format!("{path}.filters"),
                "the list is empty; add at least one filter",
            ));
        }
        list.filters
            .iter()
            .enumerate()
            .map(|(position, filter)| {
                self.filter(filter, &format!("{path}.filters[{position}]"), depth + 1)
            })
            .collect()
    }

    /// Checks and escapes the values of a tag condition; returns the field name and `v1|v2`.
    ///
    /// NOTE: RediSearch 2.10 folds only ASCII letters in TAG fields that are not case-sensitive, when it
    /// indexes and when it queries. So "É" and "é" stay different values even in such a field.
    fn tag_values(
        &self,
        values: &pb::TagValues,
        path: &str,
    ) -> Result<(String, String), InvalidValue> {
        let field = self.field(&values.field, path, FieldType::Tag)?;
        let FieldKind::Tag(options) = &field.kind else {
            unreachable!("field() checked the type");
        };
        check_count(values.values.len(), &format!("{path}.values"), "value")?;

        let mut escaped = Vec::with_capacity(values.values.len());
        for (position, value) in values.values.iter().enumerate() {
            let value_path = format!("{path}.values[{position}]");
            check_tag_text(value, options.separator, &value_path, TagText::Value)?;
            escaped.push(escape(value));
        }
        Ok((field.name.clone(), escaped.join("|")))
    }

    fn tag_prefix(&self, prefix: &pb::TagPrefix, path: &str) -> Result<String, InvalidValue> {
        let field = self.field(&prefix.field, path, FieldType::Tag)?;
        let FieldKind::Tag(options) = &field.kind else {
            unreachable!("field() checked the type");
        };
        let prefix_path = format!("{path}.prefix");
        check_prefix_length(&prefix.prefix, &prefix_path)?;
        check_tag_text(
            &prefix.prefix,
            options.separator,
            &prefix_path,
            TagText::Prefix,
        )?;
        if prefix.prefix.ends_with('\\') {
            // RediSearch 2.10 matches nothing for an escaped backslash right before the `*`.
            return Err(InvalidValue::new(
                prefix_path,
                format!(
                    "{} ends with a backslash, which RediSearch cannot match at the end of a prefix; drop the backslash or match whole values with tag_any_of",
                    quote(&prefix.prefix)
                ),
            ));
        }
        Ok(format!("@{}:{{{}*}}", field.name, escape(&prefix.prefix)))
    }

    fn numeric_range(&self, range: &pb::NumericRange, path: &str) -> Result<String, InvalidValue> {
        let field = self.field(&range.field, path, FieldType::Numeric)?;
        for (name, bound) in [("min", &range.min), ("max", &range.max)] {
            if let Some(bound) = bound
                && bound.value.is_nan()
            {
                return Err(InvalidValue::new(
                    format!("{path}.{name}.value"),
                    "NaN is not a bound; send a number, or leave the bound out for an open end",
                ));
            }
        }
        if let (Some(min), Some(max)) = (&range.min, &range.max) {
            if min.value > max.value {
                return Err(InvalidValue::new(
                    format!("{path}.min.value"),
                    format!(
                        "min {} is greater than max {}; swap the bounds",
                        display_number(min.value),
                        display_number(max.value)
                    ),
                ));
            }
            if min.value == max.value && (min.exclusive || max.exclusive) {
                return Err(InvalidValue::new(
                    path,
                    format!(
                        "min and max are both {} and one is exclusive, so no value can match; make both inclusive to match that value",
                        display_number(min.value)
                    ),
                ));
            }
        }
        let min = format_bound(range.min.as_ref(), "-inf");
        let max = format_bound(range.max.as_ref(), "+inf");
        Ok(format!("@{}:[{min} {max}]", field.name))
    }

    fn text_phrase(&self, phrase: &pb::TextPhrase, path: &str) -> Result<String, InvalidValue> {
        let prefix = self.text_field_prefix(&phrase.field, path)?;
        let words = indexed_words(&phrase.phrase, &format!("{path}.phrase"))?;
        Ok(format!("{prefix}{}", quote_words(&words)))
    }

    fn text_any_of(&self, terms: &pb::TextTerms, path: &str) -> Result<String, InvalidValue> {
        let prefix = self.text_field_prefix(&terms.field, path)?;
        check_count(terms.terms.len(), &format!("{path}.terms"), "term")?;

        let mut operands = Vec::with_capacity(terms.terms.len());
        for (position, term) in terms.terms.iter().enumerate() {
            let words = indexed_words(term, &format!("{path}.terms[{position}]"))?;
            // A term of several words, such as "state-of-the-art", must match them as a phrase.
            let operand = match words.as_slice() {
                [word] => escape_word(word),
                _ => quote_words(&words),
            };
            operands.push(operand);
        }
        Ok(format!("{prefix}({})", operands.join("|")))
    }

    fn text_prefix(&self, prefix: &pb::TextPrefix, path: &str) -> Result<String, InvalidValue> {
        let field_prefix = self.text_field_prefix(&prefix.field, path)?;
        let prefix_path = format!("{path}.prefix");
        check_prefix_length(&prefix.prefix, &prefix_path)?;
        let word = single_word(&prefix.prefix, &prefix_path, "a prefix")?;
        // Backslashes are not part of the indexed term, so `\a` is a prefix of one character.
        check_prefix_length(&word, &prefix_path)?;
        Ok(format!("{field_prefix}{}*", escape_word(&word)))
    }

    fn text_fuzzy(&self, fuzzy: &pb::TextFuzzy, path: &str) -> Result<String, InvalidValue> {
        let field_prefix = self.text_field_prefix(&fuzzy.field, path)?;
        if !(1..=3).contains(&fuzzy.distance) {
            return Err(InvalidValue::new(
                format!("{path}.distance"),
                format!(
                    "{} is out of range; use a maximum edit distance from 1 to 3",
                    fuzzy.distance
                ),
            ));
        }
        let term_path = format!("{path}.term");
        if fuzzy.term.is_empty() {
            return Err(InvalidValue::new(
                term_path,
                "the term is empty; send one word",
            ));
        }
        let word = single_word(&fuzzy.term, &term_path, "a fuzzy term")?;
        let percent = "%".repeat(fuzzy.distance as usize);
        Ok(format!(
            "{field_prefix}{percent}{}{percent}",
            escape_word(&word)
        ))
    }

    fn geo_radius(&self, radius: &pb::GeoRadius, path: &str) -> Result<String, InvalidValue> {
        let field = self.field(&radius.field, path, FieldType::Geo)?;
        let pb::GeoRadius {
            field: _,
            longitude,
            latitude,
            radius: distance,
            unit,
        } = *radius;
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(InvalidValue::new(
                format!("{path}.longitude"),
                format!(
                    "{} is out of range; use -180 to 180 degrees",
                    display_number(longitude)
                ),
            ));
        }
        let max_latitude = docsearch_runtime::fields::MAX_LATITUDE;
        if !(-max_latitude..=max_latitude).contains(&latitude) {
            return Err(InvalidValue::new(
                format!("{path}.latitude"),
                format!(
                    "{} is out of range; Redis geo indexes take -{max_latitude} to {max_latitude} degrees",
                    display_number(latitude)
                ),
            ));
        }
        if !(distance.is_finite() && distance > 0.0) {
            return Err(InvalidValue::new(
                format!("{path}.radius"),
                format!(
                    "{} is not a valid radius; send a finite number greater than 0",
                    display_number(distance)
                ),
            ));
        }
        let unit = match pb::DistanceUnit::try_from(unit) {
            Ok(pb::DistanceUnit::Unspecified | pb::DistanceUnit::Meters) => "m",
            Ok(pb::DistanceUnit::Kilometers) => "km",
            Ok(pb::DistanceUnit::Miles) => "mi",
            Ok(pb::DistanceUnit::Feet) => "ft",
            Err(_) => {
                return Err(InvalidValue::new(
                    format!("{path}.unit"),
                    format!(
                        "{unit} is not a distance unit; use DISTANCE_UNIT_METERS, _KILOMETERS, _MILES or _FEET"
                    ),
                ));
            }
        };
        Ok(format!(
            "@{}:[{} {} {} {unit}]",
            field.name,
            format_number(longitude),
            format_number(latitude),
            format_number(distance)
        ))
    }

    fn missing(&self, missing: &pb::FieldMissing, path: &str) -> Result<String, InvalidValue> {
        let field = self.field(&missing.field, path, FieldType::AnyIndexed)?;
        if !field.index_missing {
            return Err(InvalidValue::new(
                format!("{path}.field"),
                format!(
                    "{} was created without index_missing, so the index cannot find documents that lack it; recreate the field with index_missing",
                    quote(&field.name)
                ),
            ));
        }
        Ok(format!("ismissing(@{})", field.name))
    }

    /// Returns `@f:` for a named TEXT field, or `@f1|f2|...:` with every TEXT field of the index when
    /// the name is empty.
    fn text_field_prefix(&self, name: &str, path: &str) -> Result<String, InvalidValue> {
        if name.is_empty() {
            let names: Vec<&str> = self
                .schema
                .text_fields()
                .map(|(field, _)| field.name.as_str())
                .collect();
            if names.is_empty() {
                return Err(InvalidValue::new(
                    format!("{path}.field"),
                    "the index has no TEXT field, so text conditions cannot match; use tag or numeric conditions",
                ));
            }
            return Ok(format!("@{}:", names.join("|")));
        }
        let field = self.field(name, path, FieldType::Text)?;
        Ok(format!("@{}:", field.name))
    }

    /// Looks up the field a condition names and checks its type.
    fn field(&self, name: &str, path: &str, expected: FieldType) -> Result<&Field, InvalidValue> {
        let field_path = format!("{path}.field");
        let condition = path.rsplit('.').next().unwrap_or(path);
        if name.is_empty() {
            return Err(InvalidValue::new(
                field_path,
                format!(
                    "the field name is empty; {condition} needs {}",
                    expected.description()
                ),
            ));
        }
        let Some(field) = self.schema.field(name) else {
            return Err(InvalidValue::new(
                field_path,
                format!(
                    "{} is not a field of the index; {condition} needs {}",
                    quote(name),
                    expected.description()
                ),
            ));
        };
        if !expected.accepts(&field.kind) {
            return Err(InvalidValue::new(
                field_path,
                format!(
                    "{} is a {} field; {condition} needs {}",
                    quote(name),
                    field.type_name(),
                    expected.description()
                ),
            ));
        }
        Ok(field)
    }
}

/// The field type a condition applies to.
#[derive(Clone, Copy)]
enum FieldType {
    Tag,
    Numeric,
    Text,
    Geo,
    /// Any field except VECTOR, as for `missing`.
    AnyIndexed,
}

impl FieldType {
    fn accepts(self, kind: &FieldKind) -> bool {
        matches!(
            (self, kind),
            (FieldType::Tag, FieldKind::Tag(_))
                | (FieldType::Numeric, FieldKind::Numeric(_))
                | (FieldType::Text, FieldKind::Text(_))
                | (FieldType::Geo, FieldKind::Geo)
                | (
                    FieldType::AnyIndexed,
                    FieldKind::Tag(_) | FieldKind::Numeric(_) | FieldKind::Text(_) | FieldKind::Geo
                )
        )
    }

    fn description(self) -> &'static str {
        match self {
            FieldType::Tag => "a TAG field",
            FieldType::Numeric => "a NUMERIC field",
            FieldType::Text => "a TEXT field",
            FieldType::Geo => "a GEO field",
            FieldType::AnyIndexed => "a TEXT, TAG, NUMERIC or GEO field",
        }
    }
}

/// Joins list members into one parenthesized group, each member in its own parentheses; a single
/// member stays as it is.
fn group(mut members: Vec<Operand>, separator: &str) -> Operand {
    if members.len() == 1 {
        return members.remove(0);
    }
    let queries: Vec<String> = members.into_iter().map(Operand::grouped_query).collect();
    Operand {
        query: format!("({})", queries.join(separator)),
        grouped: true,
    }
}

/// Puts backslashes before the characters that the query lexer would read as operators: every ASCII
/// punctuation and white-space character. Callers reject other control characters first.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if c.is_ascii_punctuation() || is_lexer_space(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Writes a word of a TEXT query: escaped as [`escape`] does, with ASCII letters in lower case. The
/// query lexer of RediSearch 2.10.5 reads `inf` in any case, and words such as `1e5`, as numbers, and
/// matches a number's text without folding its case. The index stores words in lower case, so `INF` or
/// `1E5` would match nothing. Lower case changes nothing else, because RediSearch folds the case of
/// other words itself.
pub fn escape_word(word: &str) -> String {
    escape(&word.to_ascii_lowercase())
}

/// White space as the query lexer defines it (the C locale's `isspace`), which includes vertical tab.
fn is_lexer_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// Returns the first ASCII control character of a value that is not white space, such as NUL.
pub(crate) fn find_control_character(value: &str) -> Option<char> {
    value
        .chars()
        .find(|&c| c.is_ascii_control() && !is_lexer_space(c))
}

/// Rejects control characters that the query lexer skips and that no backslash can protect.
pub(crate) fn check_control_characters(value: &str, path: &str) -> Result<(), InvalidValue> {
    match find_control_character(value) {
        Some(c) => Err(InvalidValue::new(
            path,
            format!(
                "{} contains the control character U+{:04X}, which RediSearch query syntax cannot express; remove it",
                quote(value),
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

fn check_count(count: usize, path: &str, noun: &str) -> Result<(), InvalidValue> {
    if count == 0 {
        return Err(InvalidValue::new(
            path,
            format!("the list is empty; send at least one {noun}"),
        ));
    }
    if count > MAX_VALUES {
        return Err(InvalidValue::new(
            path,
            format!("the list has {count} {noun}s; send at most {MAX_VALUES}"),
        ));
    }
    Ok(())
}

fn check_prefix_length(prefix: &str, path: &str) -> Result<(), InvalidValue> {
    let num_chars = prefix.chars().count();
    if num_chars < MIN_PREFIX_CHARS {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} has {}; a prefix needs at least {MIN_PREFIX_CHARS}",
                quote(prefix),
                count_of(num_chars, "character", "characters")
            ),
        ));
    }
    Ok(())
}

/// The kind of text a tag condition compares with stored tag values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagText {
    Value,
    Prefix,
}

/// Checks the text of a tag condition. Stored values are trimmed and split at the field's separator,
/// so text that could only match values breaking these rules is rejected. A prefix may end with a space.
fn check_tag_text(
    text: &str,
    separator: char,
    path: &str,
    kind: TagText,
) -> Result<(), InvalidValue> {
    if text.is_empty() {
        return Err(InvalidValue::new(path, "the tag value is empty; remove it"));
    }
    check_control_characters(text, path)?;
    let padding = match kind {
        TagText::Value => (text.trim() != text).then_some("starts or ends"),
        TagText::Prefix => (text.trim_start() != text).then_some("starts"),
    };
    if let Some(padding) = padding {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} {padding} with white space, which stored tag values never do; trim it",
                quote(text)
            ),
        ));
    }
    if text.contains(separator) {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} contains the field's separator {separator:?}, which stored tag values never do; send the parts as separate values",
                quote(text)
            ),
        ));
    }
    Ok(())
}

/// Splits text into words as RediSearch does when it indexes a TEXT field, and drops the stop words
/// that it does not index. Fails when no word remains.
fn indexed_words(text: &str, path: &str) -> Result<Vec<String>, InvalidValue> {
    check_control_characters(text, path)?;
    let words = split_words(text);
    if words.is_empty() {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} holds no word, only separators; send at least one word",
                quote(text)
            ),
        ));
    }
    let indexed: Vec<String> = words
        .into_iter()
        .filter(|word| !is_stopword(word))
        .collect();
    if indexed.is_empty() {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} holds only stop words, which the index does not store; send other words",
                quote(text)
            ),
        ));
    }
    Ok(indexed)
}

/// Checks that text is one indexed word and returns the term that RediSearch indexes for it. `role`
/// names the value in the error, such as "a prefix".
fn single_word(text: &str, path: &str, role: &str) -> Result<String, InvalidValue> {
    check_control_characters(text, path)?;
    let separated = separate_words(text);
    let mut words = tokens(&separated).into_iter();
    match (words.next(), words.next()) {
        (Some(word), None) if word.span == (0..separated.len()) => Ok(word.term),
        _ => Err(InvalidValue::new(
            path,
            format!(
                "{} is not one word; {role} cannot contain spaces or the separators {TEXT_SEPARATORS}",
                quote(text)
            ),
        )),
    }
}

/// Splits text into the terms that RediSearch 2.10.5 indexes for it in a TEXT field, stop words
/// included, after the indexer's replacement of white space (see [`separate_words`]).
///
/// RediSearch splits at white space and [`TEXT_SEPARATORS`] unless a backslash precedes the separator.
/// Then it cuts each word at [`MAX_TERM_BYTES`] and drops unescaped backslashes and ASCII control
/// characters, so `foo\bar` becomes `foobar`, `\alpha` becomes `alpha` and `x\,y` becomes `x,y`.
/// The query parser does not drop backslashes this way, because the query `foo\\bar` looks up the
/// term `foo\bar`. So query words go through the same steps before [`escape_word`].
pub(crate) fn split_words(text: &str) -> Vec<String> {
    tokens(&separate_words(text))
        .into_iter()
        .map(|token| token.term)
        .collect()
}

/// A word of a TEXT value and the term RediSearch indexes for it.
struct Token {
    /// Byte range of the word in the text, with backslashes.
    span: Range<usize>,
    term: String,
}

/// Splits text that [`separate_words`] has already processed into its indexed terms, skipping words
/// that leave an empty term.
fn tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if !escaped && is_word_separator(c) {
            push_token(&mut tokens, text, start..index);
            start = index + c.len_utf8();
        } else {
            escaped = !escaped && c == '\\';
        }
    }
    push_token(&mut tokens, text, start..text.len());
    tokens
}

fn push_token(tokens: &mut Vec<Token>, text: &str, span: Range<usize>) {
    let term = index_term(&text[span.clone()]);
    if !term.is_empty() {
        tokens.push(Token { span, term });
    }
}

/// Turns a word, cut from text at separators, into its indexed term as the RediSearch 2.10.5 tokenizer
/// does: cut at [`MAX_TERM_BYTES`], without unescaped backslashes and control characters, ASCII letters
/// in lower case. A backslash keeps the character after it, such as a space or a second backslash,
/// unless that character is a control character.
///
/// NOTE: When the cut at 128 bytes falls inside a UTF-8 character, no exact or prefix query term finds
/// the word in RediSearch 2.10.5, with or without that character. This function keeps only whole
/// characters, so such a query word matches nothing, or another word that equals the shorter term.
fn index_term(word: &str) -> String {
    let mut end = word.len().min(MAX_TERM_BYTES);
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    let mut term = String::with_capacity(end);
    let mut escaped = false;
    for c in word[..end].chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        if c.is_ascii_control() {
            continue;
        }
        term.push(c.to_ascii_lowercase());
    }
    term
}

/// True for the characters at which RediSearch splits TEXT fields into words, once the indexer has
/// replaced white space other than space and tab.
pub(crate) fn is_word_separator(c: char) -> bool {
    c.is_whitespace() || TEXT_SEPARATORS.contains(c)
}

/// True for a default stop word, which RediSearch does not index in TEXT fields created without STOPWORDS.
pub(crate) fn is_stopword(word: &str) -> bool {
    DEFAULT_STOPWORDS
        .iter()
        .any(|stopword| word.eq_ignore_ascii_case(stopword))
}

/// Writes words as an exact phrase: `"w1 w2"`.
fn quote_words(words: &[String]) -> String {
    let escaped: Vec<String> = words.iter().map(|word| escape_word(word)).collect();
    format!("\"{}\"", escaped.join(" "))
}

fn format_bound(bound: Option<&pb::NumericBound>, open: &str) -> String {
    match bound {
        None => open.to_owned(),
        Some(bound) if bound.exclusive => format!("({}", format_number(bound.value)),
        Some(bound) => format_number(bound.value),
    }
}

/// Formats a number in the query lexer's syntax so that it parses back to the same `f64`: the shorter
/// of Rust's plain and exponent forms, both of which print the shortest digits that round-trip.
pub fn format_number(value: f64) -> String {
    if value == f64::INFINITY {
        return "+inf".to_owned();
    }
    if value == f64::NEG_INFINITY {
        return "-inf".to_owned();
    }
    let plain = format!("{value}");
    let exponent = format!("{value:e}");
    if exponent.len() < plain.len() {
        exponent
    } else {
        plain
    }
}

#[cfg(test)]
mod tests;
