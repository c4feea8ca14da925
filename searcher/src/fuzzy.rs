//! Fuzzy matching of the words of text typed by people: the edit distance each word gets, and the query
//! term that matches the word exactly or within that distance.
//!
//! RediSearch's `%word%` matches indexed words within a Levenshtein distance of one per `%` pair, up to
//! three. A transposition counts as two edits, so "netwroks" reaches "networks" only at distance 2.

use crate::filter::escape_word;

/// Largest edit distance RediSearch supports.
pub const MAX_FUZZY_DISTANCE: u32 = 3;
/// Words shorter than this, in characters, always match exactly: at distance 1 a three-letter word
/// matches too many others.
pub const MIN_FUZZY_CHARS: usize = 4;
/// Under the default rule, words of this many characters or more match within distance 2.
pub const LONG_WORD_CHARS: usize = 8;
/// Query weight of the fuzzy branch of a word. BM25 weighs each matched word by its IDF, and a
/// misspelling in the index is rare, so at full weight a document with a near word could outrank one
/// with the exact word. At 0.1 the near word needs about 11 times the IDF of the exact word to outrank
/// it, because the exact word matches the fuzzy branch too.
pub const FUZZY_WEIGHT: f64 = 0.1;

/// How far the words of a query may be from the indexed words they match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuzziness {
    /// The rule for text typed by people, used when `fuzzy_distance` is unset: distance 1 for words of
    /// 4 to 7 characters, 2 for longer words. Words that contain a digit match exactly, because a
    /// number one edit away is another number.
    Default,
    /// One distance for every word of 4 characters or more; 0 matches every word exactly.
    Fixed(u32),
}

impl Fuzziness {
    /// Returns the edit distance within which `word` matches.
    pub fn distance(self, word: &str) -> u32 {
        let num_chars = word.chars().count();
        if num_chars < MIN_FUZZY_CHARS {
            return 0;
        }
        match self {
            Fuzziness::Default if word.chars().any(|c| c.is_ascii_digit()) => 0,
            Fuzziness::Default if num_chars >= LONG_WORD_CHARS => 2,
            Fuzziness::Default => 1,
            Fuzziness::Fixed(distance) => distance.min(MAX_FUZZY_DISTANCE),
        }
    }
}

/// Writes a word as a query term, escaped and in ASCII lower case (see [`escape_word`]): the word alone
/// at distance 0, otherwise `(word|%word%=>{$weight: 0.1})`. A document with the exact word matches
/// both branches and scores above one that only comes near it, whose match counts at [`FUZZY_WEIGHT`].
/// `correction`, an indexed term within the word's distance (see [`crate::spelling`]), joins as a third
/// branch at full weight, which ranks the likely meant word above the other near words. RediSearch
/// expands that branch to the other forms of its stem, as for any query word, so it can match documents
/// that the fuzzy branch misses, such as "philosophy" for the correction "philosophers".
pub fn term(word: &str, distance: u32, correction: Option<&str>) -> Term {
    let escaped = escape_word(word);
    if distance == 0 {
        return Term {
            query: escaped,
            is_union: false,
        };
    }
    let percent = "%".repeat(distance.min(MAX_FUZZY_DISTANCE) as usize);
    let correction = match correction {
        Some(corrected) => format!("|{}", escape_word(corrected)),
        None => String::new(),
    };
    Term {
        query: format!(
            "({escaped}|{percent}{escaped}{percent}=>{{$weight: {FUZZY_WEIGHT}}}{correction})"
        ),
        is_union: true,
    }
}

/// The query syntax of one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub query: String,
    /// The term is a union of the exact word and its fuzzy expansion.
    pub is_union: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_skips_short_words() {
        assert_eq!(Fuzziness::Default.distance("net"), 0);
    }

    #[test]
    fn default_gives_medium_words_one() {
        assert_eq!(Fuzziness::Default.distance("graph"), 1);
        assert_eq!(Fuzziness::Default.distance("quantum"), 1);
    }

    #[test]
    fn default_gives_long_words_two() {
        assert_eq!(Fuzziness::Default.distance("networks"), 2);
        assert_eq!(Fuzziness::Default.distance("entanglement"), 2);
    }

    #[test]
    fn default_counts_characters_not_bytes() {
        // Four characters, eight bytes.
        assert_eq!(Fuzziness::Default.distance("ääää"), 1);
        // Three characters, six bytes.
        assert_eq!(Fuzziness::Default.distance("äää"), 0);
    }

    #[test]
    fn default_keeps_numbers_exact() {
        assert_eq!(Fuzziness::Default.distance("2019"), 0);
        assert_eq!(Fuzziness::Default.distance("covid19"), 0);
    }

    #[test]
    fn fixed_zero_turns_fuzzy_off() {
        assert_eq!(Fuzziness::Fixed(0).distance("networks"), 0);
    }

    #[test]
    fn fixed_applies_from_four_characters() {
        assert_eq!(Fuzziness::Fixed(3).distance("abc"), 0);
        assert_eq!(Fuzziness::Fixed(3).distance("abcd"), 3);
        assert_eq!(Fuzziness::Fixed(1).distance("entanglement"), 1);
        assert_eq!(Fuzziness::Fixed(2).distance("2019"), 2);
    }

    #[test]
    fn exact_term_is_escaped_word() {
        assert_eq!(
            term("state-of", 0, None),
            Term {
                query: r"state\-of".to_owned(),
                is_union: false
            }
        );
    }

    #[test]
    fn fuzzy_term_keeps_exact_branch() {
        assert_eq!(
            term("networks", 2, None),
            Term {
                query: "(networks|%%networks%%=>{$weight: 0.1})".to_owned(),
                is_union: true
            }
        );
    }

    #[test]
    fn correction_joins_at_full_weight() {
        assert_eq!(
            term("netwroks", 2, Some("networks")).query,
            "(netwroks|%%netwroks%%=>{$weight: 0.1}|networks)"
        );
    }

    #[test]
    fn exact_term_ignores_correction() {
        assert_eq!(term("gnn", 0, Some("gan")).query, "gnn");
    }

    #[test]
    fn fuzzy_term_escapes_both_branches() {
        assert_eq!(
            term("a_b.c", 1, None).query,
            r"(a\_b\.c|%a\_b\.c%=>{$weight: 0.1})"
        );
    }
}
