//! The RediSearch query of the `text` of a TEXT or HYBRID search: the words of the text, each matched
//! exactly or fuzzily (see [`crate::fuzzy`]), in the searched TEXT fields with their per-query weights.
//!
//! With `match_all` false, a document matches when any word does, and BM25 adds up the scores of the
//! words it contains, so documents with more of the words rank higher: `w1 | w2`. With `match_all`,
//! every word must match in at least one searched field: `(w1) (w2)`.
//!
//! A filter goes into each word's clause, `((<filter>) w1) | ((<filter>) w2)`, not in front of the
//! union, which matches the same documents. RediSearch 2.10.5 scores a union that sits inside an
//! intersection by the first of its matching children only (EXPLAINSCORE shows the others missing), so
//! `(<filter>) (w1 | w2)` would rank a document by one of its words, whatever else it contains.
//!
//! Fields and weights become one clause per word and group of fields that share a weight:
//! `(@title:(w1|%w1%=>{$weight: 0.1}))=>{$weight: 2} | @abstract|authors:(w1|%w1%=>{$weight: 0.1})`.
//! Schema weights still apply, so a per-query weight multiplies the schema weight.
//!
//! Every clause names its fields, even when the query searches every TEXT field. Where a clause may
//! start, RediSearch 2.10.5 reads a word `ismissing` (in any case) as the `ismissing(@f)` function and
//! fails with a syntax error. After a field modifier it reads the word as a term, stemmed as usual. No
//! escape helps, because a backslash protects only punctuation and white space. Query parameters
//! (`$word`) would protect the word too, but FT.SPELLCHECK with PARAMS crashes RediSearch 2.10.5, and
//! [`crate::spelling`] sends the same words. Words are written in ASCII lower case (see
//! [`crate::filter::escape_word`]).

use std::collections::HashMap;

use docsearch_runtime::InvalidValue;
use docsearch_runtime::validate::quote;

use crate::filter::{check_control_characters, is_stopword, split_words};
use crate::fuzzy::{self, Fuzziness};

/// Maximum length of a query text, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Maximum number of distinct words in one query text, stop words not counted.
pub const MAX_TEXT_WORDS: usize = 64;

/// TEXT fields that one query clause searches with one weight.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldGroup {
    pub fields: Vec<String>,
    /// Per-query weight; 1 adds no attribute.
    pub weight: f64,
}

/// Splits query text into the terms the index can match, as [`split_words`] turns text into indexed
/// terms, without stop words, and each term once (compared case-insensitively, as the index compares
/// them).
pub fn query_words(text: &str, path: &str) -> Result<Vec<String>, InvalidValue> {
    if text.trim().is_empty() {
        return Err(InvalidValue::new(
            path,
            "the text is empty; send the words to search for",
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(InvalidValue::new(
            path,
            format!(
                "the text is {} bytes long; send at most {MAX_TEXT_BYTES}",
                text.len()
            ),
        ));
    }
    check_control_characters(text, path)?;

    let mut words: Vec<String> = Vec::new();
    let mut num_words = 0;
    for word in split_words(text) {
        num_words += 1;
        if is_stopword(&word) {
            continue;
        }
        let folded = word.to_lowercase();
        if !words.iter().any(|known| known.to_lowercase() == folded) {
            words.push(word);
        }
    }
    if num_words == 0 {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} holds no word, only separators; send at least one word",
                quote(text)
            ),
        ));
    }
    if words.is_empty() {
        return Err(InvalidValue::new(
            path,
            format!(
                "{} holds only stop words, which the index does not store; send other words",
                quote(text)
            ),
        ));
    }
    if words.len() > MAX_TEXT_WORDS {
        return Err(InvalidValue::new(
            path,
            format!(
                "the text has {} distinct words besides stop words; send at most {MAX_TEXT_WORDS}",
                words.len()
            ),
        ));
    }
    Ok(words)
}

/// The parts of a text query.
#[derive(Debug, Clone, Copy)]
pub struct TextSpec<'a> {
    /// The words to match; not empty.
    pub words: &'a [String],
    /// The searched TEXT fields grouped by weight; not empty.
    pub groups: &'a [FieldGroup],
    pub fuzziness: Fuzziness,
    pub match_all: bool,
    /// Lower-cased words mapped to the indexed term each was likely meant to be.
    pub corrections: &'a HashMap<String, String>,
}

/// Writes the query of a text, restricted to the documents that pass `filter`.
pub fn build(spec: &TextSpec, filter: Option<&str>) -> String {
    let clauses: Vec<String> = spec
        .words
        .iter()
        .map(|word| {
            let correction = spec
                .corrections
                .get(&word.to_lowercase())
                .map(String::as_str);
            word_clause(word, spec.groups, spec.fuzziness, correction)
        })
        .collect();
    if spec.match_all {
        let mut grouped: Vec<String> = clauses.iter().map(|clause| format!("({clause})")).collect();
        if let Some(filter) = filter {
            grouped.insert(0, format!("({filter})"));
        }
        return grouped.join(" ");
    }
    match filter {
        Some(filter) => clauses
            .iter()
            .map(|clause| format!("(({filter}) {clause})"))
            .collect::<Vec<_>>()
            .join(" | "),
        None => clauses.join(" | "),
    }
}

/// Writes the clause that matches one word in the searched fields.
fn word_clause(
    word: &str,
    groups: &[FieldGroup],
    fuzziness: Fuzziness,
    correction: Option<&str>,
) -> String {
    let term = fuzzy::term(word, fuzziness.distance(word), correction);
    let clauses: Vec<String> = groups
        .iter()
        .map(|group| group_clause(word, &term, group))
        .collect();
    match clauses.as_slice() {
        [only] => only.clone(),
        _ => format!("({})", clauses.join(" | ")),
    }
}

fn group_clause(word: &str, term: &fuzzy::Term, group: &FieldGroup) -> String {
    let modifier = format!("@{}:", group.fields.join("|"));
    if group.weight == 1.0 {
        return format!("{modifier}{}", term.query);
    }
    if term.is_union {
        return format!("({modifier}{})=>{{$weight: {}}}", term.query, group.weight);
    }
    // RediSearch 2.10's BM25 ignores $weight on a lone term but applies it to a union, so the word is
    // written twice with half the weight, which scores the same as the word once at the full weight.
    let escaped = crate::filter::escape_word(word);
    format!(
        "({modifier}({escaped}|{escaped}))=>{{$weight: {}}}",
        group.weight / 2.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|word| (*word).to_owned()).collect()
    }

    /// Builds a query without a filter.
    fn build_for(
        words: &[String],
        groups: &[FieldGroup],
        fuzziness: Fuzziness,
        match_all: bool,
        corrections: &HashMap<String, String>,
    ) -> String {
        let spec = TextSpec {
            words,
            groups,
            fuzziness,
            match_all,
            corrections,
        };
        build(&spec, None)
    }

    fn group(fields: &[&str], weight: f64) -> FieldGroup {
        FieldGroup {
            fields: words(fields),
            weight,
        }
    }

    /// Both TEXT fields at weight 1, as a query without fields or weights searches them.
    fn every_field() -> Vec<FieldGroup> {
        vec![group(&["title", "abstract"], 1.0)]
    }

    #[test]
    fn words_split_and_drop_stopwords() {
        let parsed = query_words("The state-of-the-art graph networks", "text").unwrap();
        assert_eq!(parsed, words(&["state", "art", "graph", "networks"]));
    }

    #[test]
    fn words_deduplicated_case_insensitively() {
        let parsed = query_words("Graph graph GRAPH theory", "text").unwrap();
        assert_eq!(parsed, words(&["graph", "theory"]));
    }

    #[test]
    fn words_split_at_line_breaks() {
        let parsed = query_words("graph\nnetworks\r\nfor\u{0B}trees", "text").unwrap();
        assert_eq!(parsed, words(&["graph", "networks", "trees"]));
    }

    #[test]
    fn words_drop_backslashes_like_indexer() {
        let parsed = query_words(r"foo\bar \alpha C:\temp\file", "text").unwrap();
        assert_eq!(parsed, words(&["foobar", "alpha", "c", "tempfile"]));
    }

    #[test]
    fn long_words_cut_like_indexer() {
        let long = "x".repeat(300);
        let parsed = query_words(&long, "text").unwrap();
        assert_eq!(parsed, vec!["x".repeat(crate::filter::MAX_TERM_BYTES)]);
    }

    #[test]
    fn backslash_only_text_rejected() {
        let error = query_words(r"- \", "text").unwrap_err();
        assert!(error.message.contains("only separators"), "{error}");
    }

    #[test]
    fn empty_text_rejected() {
        let error = query_words("  ", "text").unwrap_err();
        assert_eq!(error.field, "text");
        assert!(error.message.contains("empty"), "{error}");
    }

    #[test]
    fn separator_text_rejected() {
        let error = query_words("-- ,;", "text").unwrap_err();
        assert!(error.message.contains("only separators"), "{error}");
    }

    #[test]
    fn stopword_text_rejected() {
        let error = query_words("the of and", "text").unwrap_err();
        assert!(error.message.contains("only stop words"), "{error}");
    }

    #[test]
    fn control_character_rejected() {
        let error = query_words("graph\u{7}", "text").unwrap_err();
        assert!(error.message.contains("U+0007"), "{error}");
    }

    #[test]
    fn long_text_rejected() {
        let text = "word ".repeat(MAX_TEXT_BYTES / 5 + 1);
        let error = query_words(&text, "text").unwrap_err();
        assert!(error.message.contains("bytes long"), "{error}");
    }

    #[test]
    fn many_words_rejected() {
        let text: Vec<String> = (0..=MAX_TEXT_WORDS).map(|n| format!("w{n}")).collect();
        let error = query_words(&text.join(" "), "text").unwrap_err();
        assert!(
            error.message.contains("65 distinct words"),
            "{}",
            error.message
        );
    }

    #[test]
    fn any_word_query_joins_with_or() {
        let query = build_for(
            &words(&["graph", "networks", "gnn"]),
            &every_field(),
            Fuzziness::Default,
            false,
            &HashMap::new(),
        );
        assert_eq!(
            query,
            "@title|abstract:(graph|%graph%=>{$weight: 0.1}) | @title|abstract:(networks|%%networks%%=>{$weight: 0.1}) | @title|abstract:gnn"
        );
    }

    #[test]
    fn all_words_query_intersects() {
        let query = build_for(
            &words(&["graph", "gnn"]),
            &every_field(),
            Fuzziness::Default,
            true,
            &HashMap::new(),
        );
        assert_eq!(
            query,
            "(@title|abstract:(graph|%graph%=>{$weight: 0.1})) (@title|abstract:gnn)"
        );
    }

    #[test]
    fn fuzzy_off_keeps_words_exact() {
        let query = build_for(
            &words(&["graph", "networks"]),
            &every_field(),
            Fuzziness::Fixed(0),
            false,
            &HashMap::new(),
        );
        assert_eq!(query, "@title|abstract:graph | @title|abstract:networks");
    }

    #[test]
    fn restricted_fields_use_modifier() {
        let groups = vec![group(&["title", "abstract"], 1.0)];
        let query = build_for(
            &words(&["graph"]),
            &groups,
            Fuzziness::Fixed(0),
            false,
            &HashMap::new(),
        );
        assert_eq!(query, "@title|abstract:graph");
    }

    #[test]
    fn weighted_groups_carry_weight() {
        let groups = vec![group(&["title"], 3.0), group(&["abstract"], 1.0)];
        let query = build_for(
            &words(&["graph"]),
            &groups,
            Fuzziness::Default,
            false,
            &HashMap::new(),
        );
        assert_eq!(
            query,
            "((@title:(graph|%graph%=>{$weight: 0.1}))=>{$weight: 3} | @abstract:(graph|%graph%=>{$weight: 0.1}))"
        );
    }

    #[test]
    fn weighted_exact_word_doubled_at_half_weight() {
        let groups = vec![group(&["title"], 3.0)];
        let query = build_for(
            &words(&["gnn"]),
            &groups,
            Fuzziness::Default,
            false,
            &HashMap::new(),
        );
        assert_eq!(query, "(@title:(gnn|gnn))=>{$weight: 1.5}");
    }

    #[test]
    fn all_words_in_groups_match_per_word() {
        let groups = vec![group(&["title"], 2.0), group(&["abstract"], 1.0)];
        let query = build_for(
            &words(&["gnn", "gcn"]),
            &groups,
            Fuzziness::Default,
            true,
            &HashMap::new(),
        );
        assert_eq!(
            query,
            "(((@title:(gnn|gnn))=>{$weight: 1} | @abstract:gnn)) (((@title:(gcn|gcn))=>{$weight: 1} | @abstract:gcn))"
        );
    }

    #[test]
    fn corrections_join_their_words() {
        let corrections: HashMap<String, String> = [("grpah".to_owned(), "graph".to_owned())]
            .into_iter()
            .collect();
        let query = build_for(
            &words(&["Grpah", "theory"]),
            &every_field(),
            Fuzziness::Default,
            false,
            &corrections,
        );
        assert_eq!(
            query,
            "@title|abstract:(grpah|%grpah%=>{$weight: 0.1}|graph) | @title|abstract:(theory|%theory%=>{$weight: 0.1})"
        );
    }

    #[test]
    fn filter_joins_each_word() {
        let words = words(&["gnn", "gcn"]);
        let spec = TextSpec {
            words: &words,
            groups: &every_field(),
            fuzziness: Fuzziness::Default,
            match_all: false,
            corrections: &HashMap::new(),
        };
        assert_eq!(
            build(&spec, Some("@year:[2000 +inf]")),
            "((@year:[2000 +inf]) @title|abstract:gnn) | ((@year:[2000 +inf]) @title|abstract:gcn)"
        );
    }

    #[test]
    fn filter_leads_all_words() {
        let words = words(&["gnn", "gcn"]);
        let spec = TextSpec {
            words: &words,
            groups: &every_field(),
            fuzziness: Fuzziness::Default,
            match_all: true,
            corrections: &HashMap::new(),
        };
        assert_eq!(
            build(&spec, Some("@year:[2000 +inf]")),
            "(@year:[2000 +inf]) (@title|abstract:gnn) (@title|abstract:gcn)"
        );
    }

    #[test]
    fn lexer_keywords_follow_field_modifier() {
        let query = build_for(
            &words(&["ISMISSING", "Inf", "1E5"]),
            &every_field(),
            Fuzziness::Fixed(0),
            false,
            &HashMap::new(),
        );
        assert_eq!(
            query,
            "@title|abstract:ismissing | @title|abstract:inf | @title|abstract:1e5"
        );
    }

    #[test]
    fn words_escaped_in_query() {
        let query = build_for(
            &words(&["c++", "o'brien"]),
            &every_field(),
            Fuzziness::Fixed(0),
            false,
            &HashMap::new(),
        );
        assert_eq!(query, r"@title|abstract:c\+\+ | @title|abstract:o\'brien");
    }
}
