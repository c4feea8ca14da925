//! Snippets of highlighted TEXT fields. RediSearch's HIGHLIGHT returns the whole field with matched
//! words between `<b>` and `</b>`; a long field is cut here to the passages around the matches.
//!
//! RediSearch 2.10's SUMMARIZE could cut the field instead, but it drops the first word of a field when
//! the match is near the start, which loses words of short titles.

/// Tag before a matched word.
pub const OPEN_TAG: &str = "<b>";
/// Tag after a matched word.
pub const CLOSE_TAG: &str = "</b>";
/// Fields up to this many characters come back whole.
pub const MAX_WHOLE_CHARS: usize = 300;
/// Characters of context kept on each side of a match in a long field.
pub const CONTEXT_CHARS: usize = 80;
/// Passages of a long field kept, first ones first.
pub const MAX_PASSAGES: usize = 3;
/// Marks text cut out of a long field.
pub const ELLIPSIS: &str = "…";

/// Returns the snippet of a highlighted field, or `None` when no word of the field matched.
pub fn snippet(highlighted: &str) -> Option<String> {
    let matches = match_spans(highlighted);
    if matches.is_empty() {
        return None;
    }
    if highlighted.chars().count() <= MAX_WHOLE_CHARS {
        return Some(highlighted.to_owned());
    }

    let passages = passages(highlighted, &matches);
    let mut snippet = String::new();
    for (number, &(start, end)) in passages.iter().take(MAX_PASSAGES).enumerate() {
        if number == 0 && start > 0 {
            snippet.push_str(ELLIPSIS);
            snippet.push(' ');
        }
        if number > 0 {
            snippet.push(' ');
            snippet.push_str(ELLIPSIS);
            snippet.push(' ');
        }
        snippet.push_str(highlighted[start..end].trim());
    }
    let last_end = passages[passages.len().min(MAX_PASSAGES) - 1].1;
    if last_end < highlighted.len() {
        snippet.push(' ');
        snippet.push_str(ELLIPSIS);
    }
    Some(snippet)
}

/// Byte ranges of each `<b>…</b>`, tags included, in order.
fn match_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find(OPEN_TAG) {
        let start = from + open;
        let Some(close) = text[start..].find(CLOSE_TAG) else {
            break;
        };
        let end = start + close + CLOSE_TAG.len();
        spans.push((start, end));
        from = end;
    }
    spans
}

/// A range of the field around one or more matches.
struct Passage {
    start: usize,
    end: usize,
    first_match_start: usize,
    last_match_end: usize,
}

/// Byte ranges around the matches: each match with up to `CONTEXT_CHARS` characters on both sides, cut
/// back to whole words, merged where they overlap. Merging also keeps every tag whole, because a range
/// that reaches into a match overlaps the range of that match.
fn passages(text: &str, matches: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut merged: Vec<Passage> = Vec::new();
    for &(match_start, match_end) in matches {
        let start = back_by_chars(text, match_start, CONTEXT_CHARS);
        let end = forward_by_chars(text, match_end, CONTEXT_CHARS);
        match merged.last_mut() {
            Some(last) if start <= last.end => {
                last.end = last.end.max(end);
                last.last_match_end = match_end;
            }
            _ => merged.push(Passage {
                start,
                end,
                first_match_start: match_start,
                last_match_end: match_end,
            }),
        }
    }
    merged
        .iter()
        .map(|passage| {
            (
                word_start(text, passage.start, passage.first_match_start),
                word_end(text, passage.end, passage.last_match_end),
            )
        })
        .collect()
}

fn back_by_chars(text: &str, from: usize, num_chars: usize) -> usize {
    text[..from]
        .char_indices()
        .rev()
        .nth(num_chars.saturating_sub(1))
        .map_or(0, |(index, _)| index)
}

fn forward_by_chars(text: &str, from: usize, num_chars: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(num_chars)
        .map_or(text.len(), |(index, _)| from + index)
}

/// Moves a passage start that falls inside a word to the start of the next word, but not past the
/// first match.
fn word_start(text: &str, start: usize, first_match: usize) -> usize {
    if start == 0 || text[..start].ends_with(char::is_whitespace) {
        return start;
    }
    match text[start..first_match].find(char::is_whitespace) {
        Some(space) => start + space + 1,
        None => start,
    }
}

/// Moves a passage end that falls inside a word back to the end of the previous word, but not before
/// the end of the last match.
fn word_end(text: &str, end: usize, last_match_end: usize) -> usize {
    if end == text.len() || text[end..].starts_with(char::is_whitespace) {
        return end;
    }
    match text[last_match_end..end].rfind(char::is_whitespace) {
        Some(space) => last_match_end + space,
        None => end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmatched_field_has_no_snippet() {
        assert_eq!(snippet("graph neural networks"), None);
    }

    #[test]
    fn short_field_comes_back_whole() {
        let text = "<b>graph</b> neural networks";
        assert_eq!(snippet(text).as_deref(), Some(text));
    }

    #[test]
    fn long_field_cut_around_match() {
        let before = "alpha ".repeat(60);
        let after = " omega".repeat(60);
        let text = format!("{before}<b>graph</b>{after}");
        let cut = snippet(&text).unwrap();
        assert!(cut.starts_with("… alpha"), "{cut}");
        assert!(cut.ends_with("omega …"), "{cut}");
        assert!(cut.contains("<b>graph</b>"), "{cut}");
        assert!(
            cut.chars().count() < 2 * CONTEXT_CHARS + 30,
            "{} characters: {cut}",
            cut.chars().count()
        );
    }

    #[test]
    fn cut_keeps_whole_words() {
        let before = "abcdefg ".repeat(50);
        let text = format!("{before}<b>graph</b>{}", " xyz".repeat(100));
        let cut = snippet(&text).unwrap();
        for word in cut.split_whitespace() {
            assert!(
                ["…", "abcdefg", "<b>graph</b>", "xyz"].contains(&word),
                "partial word {word:?} in {cut}"
            );
        }
    }

    #[test]
    fn near_matches_share_passage() {
        let text = format!(
            "{}<b>graph</b> and <b>networks</b>{}",
            "x ".repeat(200),
            " y".repeat(200)
        );
        let cut = snippet(&text).unwrap();
        assert_eq!(cut.matches(ELLIPSIS).count(), 2, "{cut}");
        assert!(cut.contains("<b>graph</b> and <b>networks</b>"), "{cut}");
    }

    #[test]
    fn far_matches_get_separate_passages() {
        let filler = "word ".repeat(100);
        let text = format!("<b>a</b> {filler}<b>b</b> {filler}<b>c</b> {filler}<b>d</b>");
        let cut = snippet(&text).unwrap();
        assert_eq!(cut.matches("<b>").count(), MAX_PASSAGES, "{cut}");
        assert!(!cut.starts_with(ELLIPSIS), "{cut}");
        assert!(cut.ends_with(ELLIPSIS), "{cut}");
    }

    #[test]
    fn multibyte_text_cut_on_char_boundaries() {
        let text = format!("{}<b>ü</b>{}", "äöü ".repeat(100), " ß".repeat(100));
        let cut = snippet(&text).unwrap();
        assert!(cut.contains("<b>ü</b>"), "{cut}");
    }

    #[test]
    fn unclosed_tag_ignored() {
        assert_eq!(snippet("a <b>graph"), None);
    }
}
