//! Spelling corrections of query words from the index's own terms, with FT.SPELLCHECK.
//!
//! A misspelled word still matches through its fuzzy branch, but that branch also matches every other
//! indexed term within the same distance, and BM25 favours the rare ones, which are often noise. So
//! before a TEXT or HYBRID query runs, FT.SPELLCHECK looks up each word that matches fuzzily, within
//! that word's own distance. For a word that the index lacks, the suggestion with the highest score
//! (RediSearch scores suggestions by how many documents contain them) joins the word's clause at full
//! weight ([`crate::fuzzy::term`]). The suggestion lies within the distance that the fuzzy branch
//! covers already, but RediSearch expands it to the other forms of its stem, so the corrected query can
//! match more documents than the uncorrected one. A TEXT query therefore counts its total, count_only
//! and facets with the corrections too.
//!
//! HYBRID also embeds the corrected text, because the embedding model places a misspelled title far
//! from its paper.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use redis::Value;

use crate::error::SearchError;
use crate::filter::{escape, is_word_separator};
use crate::fuzzy::Fuzziness;
use crate::query::DIALECT;
use crate::request::TextQuery;
use crate::searcher::Searcher;

/// Lower-cased query words that the index lacks, each with the indexed term it was likely meant to be.
pub type Corrections = HashMap<String, String>;

/// Builds one FT.SPELLCHECK per edit distance, over the words that match within it. The words follow
/// the modifier of the searched `fields`, because RediSearch 2.10.5 rejects a bare `ismissing` (see
/// [`crate::text_query`]).
pub fn commands(
    search_index: &str,
    fields: &[&str],
    words: &[String],
    fuzziness: Fuzziness,
) -> Vec<redis::Cmd> {
    let mut by_distance: Vec<(u32, Vec<String>)> = Vec::new();
    for word in words {
        let distance = fuzziness.distance(word);
        if distance == 0 {
            continue;
        }
        let escaped = escape(&word.to_lowercase());
        match by_distance.iter_mut().find(|(known, _)| *known == distance) {
            Some((_, escaped_words)) => escaped_words.push(escaped),
            None => by_distance.push((distance, vec![escaped])),
        }
    }
    by_distance
        .into_iter()
        .map(|(distance, escaped_words)| {
            let mut command = redis::cmd("FT.SPELLCHECK");
            command
                .arg(search_index)
                .arg(format!(
                    "@{}:({})",
                    fields.join("|"),
                    escaped_words.join(" ")
                ))
                .arg("DISTANCE")
                .arg(distance)
                .arg("DIALECT")
                .arg(DIALECT);
            command
        })
        .collect()
}

/// Reads the best suggestion of each misspelled word from an FT.SPELLCHECK reply, which lists
/// `["TERM", word, [[score, suggestion], ...]]` per word. Suggestions that start with `+` are stems,
/// not words, and are skipped.
pub fn parse(reply: Value) -> anyhow::Result<Vec<(String, String)>> {
    let Value::Array(terms) = reply else {
        bail!("FT.SPELLCHECK replied {reply:?}, not an array");
    };
    let mut best = Vec::new();
    for term in terms {
        let Value::Array(parts) = term else {
            bail!("FT.SPELLCHECK replied {term:?} where a term belongs");
        };
        let [_, word, suggestions] = parts.as_slice() else {
            bail!(
                "FT.SPELLCHECK replied a term of {} parts, not 3",
                parts.len()
            );
        };
        let word = text(word).context("FT.SPELLCHECK replied a word that is not a string")?;
        let Value::Array(suggestions) = suggestions else {
            bail!("FT.SPELLCHECK replied {suggestions:?} where suggestions belong");
        };
        let mut chosen: Option<(f64, String)> = None;
        for suggestion in suggestions {
            let Value::Array(pair) = suggestion else {
                bail!("FT.SPELLCHECK replied {suggestion:?} where a suggestion belongs");
            };
            let [score, term] = pair.as_slice() else {
                bail!(
                    "FT.SPELLCHECK replied a suggestion of {} parts, not 2",
                    pair.len()
                );
            };
            let term =
                text(term).context("FT.SPELLCHECK replied a suggestion that is not a string")?;
            let score = match score {
                Value::Double(score) => *score,
                other => {
                    let score = text(other)
                        .context("FT.SPELLCHECK replied a score that is not a string")?;
                    score.trim().parse().with_context(|| {
                        format!("the suggestion score {score:?} is not a number")
                    })?
                }
            };
            if term.starts_with('+') || chosen.as_ref().is_some_and(|(best, _)| *best >= score) {
                continue;
            }
            chosen = Some((score, term));
        }
        if let Some((_, term)) = chosen {
            best.push((word, term));
        }
    }
    Ok(best)
}

fn text(value: &Value) -> anyhow::Result<String> {
    match value {
        Value::BulkString(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Ok(text.clone()),
        other => bail!("unexpected {other:?}"),
    }
}

/// Rewrites text with each corrected word replaced by its correction, keeping everything else as it
/// is, for the embedding model.
pub fn corrected_text(text: &str, corrections: &Corrections) -> String {
    if corrections.is_empty() {
        return text.to_owned();
    }
    let mut corrected = String::with_capacity(text.len());
    let mut word_start = None;
    for (index, c) in text.char_indices() {
        if is_word_separator(c) {
            if let Some(start) = word_start.take() {
                push_word(&mut corrected, &text[start..index], corrections);
            }
            corrected.push(c);
        } else if word_start.is_none() {
            word_start = Some(index);
        }
    }
    if let Some(start) = word_start {
        push_word(&mut corrected, &text[start..], corrections);
    }
    corrected
}

fn push_word(out: &mut String, word: &str, corrections: &Corrections) {
    match corrections.get(&word.to_lowercase()) {
        Some(corrected) => out.push_str(corrected),
        None => out.push_str(word),
    }
}

impl Searcher {
    /// Returns the text query with the corrections of its misspelled words.
    pub(crate) async fn correct_spelling(
        &self,
        index: &str,
        text: &TextQuery,
    ) -> Result<TextQuery, SearchError> {
        let corrections = self.spelling_corrections(index, text).await?;
        Ok(TextQuery {
            corrections,
            ..text.clone()
        })
    }

    /// Looks up corrections for the words of a text query that match fuzzily.
    pub(crate) async fn spelling_corrections(
        &self,
        index: &str,
        text: &TextQuery,
    ) -> Result<Corrections, SearchError> {
        let search_index = self.layout().search_index(index);
        let fields: Vec<&str> = text
            .groups
            .iter()
            .flat_map(|group| group.fields.iter().map(String::as_str))
            .collect();
        let commands = commands(&search_index, &fields, &text.words, text.fuzziness);
        if commands.is_empty() {
            return Ok(Corrections::new());
        }
        let mut pipeline = redis::pipe();
        for command in commands {
            pipeline.add_command(command);
        }
        let replies: Vec<Value> = self
            .query_redis(index, &text.words.join(" "), &pipeline)
            .await?;
        let mut corrections = Corrections::new();
        for reply in replies {
            let suggestions = parse(reply).map_err(|error| {
                SearchError::internal("reading spelling suggestions", index, error)
            })?;
            corrections.extend(suggestions);
        }
        Ok(corrections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{bulk, words};

    fn term(word: &str, suggestions: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk("TERM"),
            bulk(word),
            Value::Array(
                suggestions
                    .iter()
                    .map(|(score, suggestion)| Value::Array(vec![bulk(score), bulk(suggestion)]))
                    .collect(),
            ),
        ])
    }

    #[test]
    fn commands_group_words_by_distance() {
        let words: Vec<String> = ["gnn", "Grpah", "netwroks", "model", "2019"]
            .map(str::to_owned)
            .to_vec();
        let commands = commands("i", &["title", "body"], &words, Fuzziness::Default);
        let texts: Vec<String> = commands.iter().map(words_of).collect();
        assert_eq!(
            texts,
            [
                "FT.SPELLCHECK i @title|body:(grpah model) DISTANCE 1 DIALECT 2",
                "FT.SPELLCHECK i @title|body:(netwroks) DISTANCE 2 DIALECT 2"
            ]
        );
    }

    fn words_of(command: &redis::Cmd) -> String {
        words(command).join(" ")
    }

    #[test]
    fn no_fuzzy_words_need_no_command() {
        let words: Vec<String> = vec!["graph".to_owned()];
        assert!(commands("i", &["title"], &words, Fuzziness::Fixed(0)).is_empty());
    }

    #[test]
    fn words_escaped_for_query() {
        let words: Vec<String> = vec!["o_brien".to_owned()];
        let commands = commands("i", &["title"], &words, Fuzziness::Default);
        assert_eq!(
            words_of(&commands[0]),
            r"FT.SPELLCHECK i @title:(o\_brien) DISTANCE 1 DIALECT 2"
        );
    }

    #[test]
    fn best_suggestion_has_highest_score() {
        let reply = Value::Array(vec![
            term(
                "grpah",
                &[("0.01", "graph"), ("0.02", "+grap"), ("0.005", "grape")],
            ),
            term("qauntum", &[]),
        ]);
        assert_eq!(
            parse(reply).unwrap(),
            [("grpah".to_owned(), "graph".to_owned())]
        );
    }

    #[test]
    fn equal_scores_keep_first() {
        let reply = Value::Array(vec![term("wiht", &[("0.5", "wit"), ("0.5", "whit")])]);
        assert_eq!(parse(reply).unwrap()[0].1, "wit");
    }

    #[test]
    fn malformed_term_rejected() {
        let error = parse(Value::Array(vec![Value::Array(vec![bulk("TERM")])])).unwrap_err();
        assert!(error.to_string().contains("not 3"), "{error}");
    }

    #[test]
    fn corrected_text_replaces_whole_words() {
        let corrections: Corrections = [
            ("grpah".to_owned(), "graph".to_owned()),
            ("netwroks".to_owned(), "networks".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            corrected_text("Grpah netwroks: grpahs, (grpah)", &corrections),
            "graph networks: grpahs, (graph)"
        );
    }

    #[test]
    fn corrected_text_keeps_text_without_corrections() {
        assert_eq!(
            corrected_text("Graph  networks ", &Corrections::new()),
            "Graph  networks "
        );
    }
}
