//! Suggest: completes a prefix with FT.SUGGET on the index's suggestion dictionary, which the indexer
//! fills from the TEXT field that sets `suggest`, with the document id as each entry's payload.

use anyhow::{Context as _, anyhow, bail};
use docsearch_proto::v1 as pb;
use docsearch_runtime::keys::check_index_name;
use docsearch_runtime::validate::quote;
use redis::Value;
use tracing::instrument;

use crate::error::{SearchError, count_of};
use crate::filter::find_control_character;
use crate::searcher::Searcher;

/// Suggestions returned when the request's limit is 0.
pub const DEFAULT_SUGGESTIONS: u32 = 5;
/// Largest limit of one Suggest request.
pub const MAX_SUGGESTIONS: u32 = 100;
/// Shortest prefix, in characters after trimming white space.
pub const MIN_PREFIX_CHARS: usize = 2;
/// Maximum length of a prefix, in characters. RediSearch 2.10.5 rejects an FT.SUGGET prefix of 100
/// characters or more with "Invalid query length", although it stores suggestions of up to 255.
pub const MAX_PREFIX_CHARS: usize = 99;

/// A Suggest request that passed its checks.
struct SuggestRequest {
    index: String,
    prefix: String,
    limit: u32,
    fuzzy: bool,
}

impl Searcher {
    /// Runs one Suggest request.
    #[instrument(name = "searcher.suggest", skip_all, fields(index = %request.index, fuzzy = request.fuzzy))]
    pub async fn suggest(
        &self,
        request: pb::SuggestRequest,
    ) -> Result<pb::SuggestResponse, SearchError> {
        let request = parse(request)?;
        self.within_timeout("suggesting", async {
            let schema = self.load_schema(&request.index).await?;
            if schema.suggest_field().is_none() {
                return Err(SearchError::failed_precondition(format!(
                    "index {} has no suggestion dictionary, because none of its TEXT fields sets suggest; create the index again with suggest set on one TEXT field, such as the title",
                    quote(&request.index)
                )));
            }
            let mut command = redis::cmd("FT.SUGGET");
            command
                .arg(self.layout().suggestions(&request.index))
                .arg(&request.prefix);
            if request.fuzzy {
                command.arg("FUZZY");
            }
            command
                .arg("MAX")
                .arg(request.limit)
                .arg("WITHSCORES")
                .arg("WITHPAYLOADS");
            let reply: Value = command
                .query_async(&mut self.connection())
                .await
                .map_err(|error| SearchError::redis("suggesting", &request.index, error))?;
            let suggestions = parse_reply(reply).map_err(|error| {
                SearchError::internal("reading suggestions", &request.index, error)
            })?;
            Ok(pb::SuggestResponse { suggestions })
        })
        .await
    }
}

fn parse(request: pb::SuggestRequest) -> Result<SuggestRequest, SearchError> {
    let pb::SuggestRequest {
        index,
        prefix,
        limit,
        fuzzy,
    } = request;
    check_index_name(&index)?;

    // Leading white space never matches, because the indexer trims the values it adds, but trailing
    // white space narrows the completions to whole words, so it stays.
    let prefix = prefix.trim_start().to_owned();
    if let Some(c) = find_control_character(&prefix) {
        // FT.SUGGET reads the prefix only up to a NUL, and the indexer adds no entry with a control
        // character, so such a prefix would complete something else or nothing.
        return Err(SearchError::invalid(
            "prefix",
            format!(
                "{} contains the control character U+{:04X}, which no suggestion contains; remove it",
                quote(&prefix),
                u32::from(c)
            ),
        ));
    }
    let num_chars = prefix.trim_end().chars().count();
    if num_chars < MIN_PREFIX_CHARS {
        return Err(SearchError::invalid(
            "prefix",
            format!(
                "{} has {} besides white space; send at least {MIN_PREFIX_CHARS}",
                quote(&prefix),
                count_of(num_chars, "character", "characters")
            ),
        ));
    }
    if prefix.chars().count() > MAX_PREFIX_CHARS {
        return Err(SearchError::invalid(
            "prefix",
            format!(
                "the prefix has {} characters; Redis completes prefixes of at most {MAX_PREFIX_CHARS}, so send its first {MAX_PREFIX_CHARS}",
                prefix.chars().count()
            ),
        ));
    }
    if limit > MAX_SUGGESTIONS {
        return Err(SearchError::invalid(
            "limit",
            format!(
                "{limit} is out of range; use 0 (meaning {DEFAULT_SUGGESTIONS}) to {MAX_SUGGESTIONS}"
            ),
        ));
    }
    Ok(SuggestRequest {
        index,
        prefix,
        limit: if limit == 0 {
            DEFAULT_SUGGESTIONS
        } else {
            limit
        },
        fuzzy,
    })
}

/// Parses a reply to `FT.SUGGET ... WITHSCORES WITHPAYLOADS`: text, score and payload per suggestion,
/// or nil when the dictionary does not exist.
fn parse_reply(reply: Value) -> anyhow::Result<Vec<pb::Suggestion>> {
    let items = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => bail!("FT.SUGGET replied {other:?}, not an array"),
    };
    if !items.len().is_multiple_of(3) {
        bail!(
            "FT.SUGGET replied {} items, not text, score and payload triples",
            items.len()
        );
    }
    let mut suggestions = Vec::with_capacity(items.len() / 3);
    let mut items = items.into_iter();
    while let (Some(text), Some(score), Some(payload)) = (items.next(), items.next(), items.next())
    {
        let text = text_of(text)?.context("FT.SUGGET replied a suggestion without text")?;
        let score = match score {
            Value::Double(score) => score,
            other => {
                let score = text_of(other)?.context("FT.SUGGET replied no score")?;
                score
                    .trim()
                    .parse()
                    .with_context(|| format!("the suggestion score {score:?} is not a number"))?
            }
        };
        suggestions.push(pb::Suggestion {
            text,
            score,
            document_id: text_of(payload)?.unwrap_or_default(),
        });
    }
    Ok(suggestions)
}

fn text_of(value: Value) -> anyhow::Result<Option<String>> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Value::SimpleString(text) => Ok(Some(text)),
        other => Err(anyhow!("unexpected {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::bulk;

    fn request(prefix: &str, limit: u32) -> pb::SuggestRequest {
        pb::SuggestRequest {
            index: "papers".to_owned(),
            prefix: prefix.to_owned(),
            limit,
            fuzzy: false,
        }
    }

    fn invalid(request: pb::SuggestRequest) -> docsearch_runtime::InvalidValue {
        match parse(request) {
            Err(SearchError::InvalidArgument(invalid)) => invalid,
            other => panic!(
                "expected INVALID_ARGUMENT, got {:?}",
                other.map(|checked| checked.prefix)
            ),
        }
    }

    #[test]
    fn short_prefix_rejected() {
        let error = invalid(request("g", 0));
        assert_eq!(error.field, "prefix");
        assert!(error.message.contains("at least 2"), "{error}");
    }

    #[test]
    fn padded_short_prefix_rejected() {
        let error = invalid(request("  g  ", 0));
        assert!(error.message.contains("has 1 character besides"), "{error}");
    }

    #[test]
    fn control_character_in_prefix_rejected() {
        for prefix in ["gr\0aph", "gra\u{1}", "\u{7f}graph"] {
            let error = invalid(request(prefix, 0));
            assert_eq!(error.field, "prefix", "{prefix:?}");
            assert!(error.message.contains("control character"), "{error}");
        }
        let error = invalid(request("gr\0aph", 0));
        assert!(error.message.contains("U+0000"), "{error}");
    }

    #[test]
    fn prefix_loses_leading_space_only() {
        let checked = parse(request("  graph ", 0)).unwrap();
        assert_eq!(checked.prefix, "graph ");
    }

    #[test]
    fn zero_limit_means_default() {
        assert_eq!(parse(request("gr", 0)).unwrap().limit, DEFAULT_SUGGESTIONS);
    }

    #[test]
    fn limit_above_max_rejected() {
        let error = invalid(request("gr", MAX_SUGGESTIONS + 1));
        assert_eq!(error.field, "limit");
    }

    #[test]
    fn long_prefix_rejected() {
        let error = invalid(request(&"a".repeat(MAX_PREFIX_CHARS + 1), 0));
        assert!(error.message.contains("at most 99"), "{error}");
    }

    #[test]
    fn bad_index_rejected() {
        let error = invalid(pb::SuggestRequest {
            index: "a b".to_owned(),
            ..request("gr", 0)
        });
        assert_eq!(error.field, "index");
    }

    #[test]
    fn reply_triples_parse() {
        let reply = Value::Array(vec![
            bulk("Graph networks"),
            bulk("0.5"),
            bulk("1905.1123"),
            bulk("Graphene"),
            bulk("0.25"),
            Value::Nil,
        ]);
        let suggestions = parse_reply(reply).unwrap();
        assert_eq!(suggestions.len(), 2);
        assert_eq!(suggestions[0].text, "Graph networks");
        assert_eq!(suggestions[0].score, 0.5);
        assert_eq!(suggestions[0].document_id, "1905.1123");
        assert_eq!(suggestions[1].document_id, "");
    }

    #[test]
    fn missing_dictionary_has_no_suggestions() {
        assert!(parse_reply(Value::Nil).unwrap().is_empty());
    }

    #[test]
    fn broken_triples_rejected() {
        let error = parse_reply(Value::Array(vec![bulk("a"), bulk("1")])).unwrap_err();
        assert!(error.to_string().contains("triples"), "{error}");
    }
}
