//! Record readers. Both read the file as a stream and hold one record at a time:
//!
//! - JSON lines: one JSON object per line; blank lines are passed over and not counted as records.
//! - JSON document: one array of records or one object whose values are records, parsed with serde's
//!   streaming visitor, so a file of any size needs only the memory of its largest record.
//!
//! A record that cannot be parsed or is not an object goes to the sink as [`Malformed`]; in a JSON lines
//! file the next line is read as usual. A syntax error in a JSON document ends the read, because the
//! parser cannot find the next record after it.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use anyhow::Context as _;
use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Malformed, Record, json_type};

/// Receiver of the records read. It returns false to stop the read.
pub type Sink<'a> = dyn FnMut(Result<Record, Malformed>) -> bool + 'a;

/// Range of records to read: those after the first `skip`, at most `limit` of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    /// Records to pass over at the start.
    pub skip: u64,
    /// Records to read after the skipped ones; `None` reads to the end.
    pub limit: Option<u64>,
}

enum Admit {
    Skip,
    Take,
    Stop,
}

/// Counts records against a [`Window`].
struct Position {
    window: Window,
    num_seen: u64,
}

impl Position {
    fn new(window: Window) -> Self {
        Self {
            window,
            num_seen: 0,
        }
    }

    /// Decides about the next record before it is parsed.
    fn admit(&mut self) -> Admit {
        if let Some(limit) = self.window.limit
            && self.num_seen >= self.window.skip.saturating_add(limit)
        {
            return Admit::Stop;
        }
        self.num_seen += 1;
        if self.num_seen <= self.window.skip {
            Admit::Skip
        } else {
            Admit::Take
        }
    }
}

/// Counts the records of a JSON lines file: its lines that hold something other than white space.
pub fn count_json_lines(path: &Path) -> anyhow::Result<u64> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    count_lines_with_content(file).with_context(|| format!("failed to read {}", path.display()))
}

fn count_lines_with_content(mut input: impl Read) -> io::Result<u64> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut num_lines = 0u64;
    let mut line_has_content = false;
    loop {
        let num_read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(num_read) => num_read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        for &byte in &buffer[..num_read] {
            if byte == b'\n' {
                num_lines += u64::from(line_has_content);
                line_has_content = false;
            } else if !byte.is_ascii_whitespace() {
                line_has_content = true;
            }
        }
    }
    Ok(num_lines + u64::from(line_has_content))
}

/// Reads a JSON lines file.
pub fn read_json_lines(path: &Path, window: Window, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    read_json_lines_from(BufReader::with_capacity(256 * 1024, file), window, sink)
        .with_context(|| format!("failed to read {}", path.display()))
}

fn read_json_lines_from(
    mut input: impl BufRead,
    window: Window,
    sink: &mut Sink<'_>,
) -> io::Result<()> {
    let mut position = Position::new(window);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(());
        }
        line += 1;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match position.admit() {
            Admit::Skip => continue,
            Admit::Stop => return Ok(()),
            Admit::Take => {}
        }
        if !sink(parse_line(line, &bytes)) {
            return Ok(());
        }
    }
}

fn parse_line(line: u64, bytes: &[u8]) -> Result<Record, Malformed> {
    let malformed = |reason: String| Malformed { line, reason };
    let text = std::str::from_utf8(bytes)
        .map_err(|error| malformed(format!("the line is not valid UTF-8: {error}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Without its line break, the text is one line, so serde_json's columns count along it.
    let text = text.trim_end_matches(['\n', '\r']);
    let value: Value =
        serde_json::from_str(text).map_err(|error| malformed(json_error_text(&error, "line")))?;
    if !value.is_object() {
        return Err(malformed(format!(
            "the line holds {}, not a JSON object",
            json_type(&value)
        )));
    }
    Ok(Record {
        line,
        key: None,
        value,
    })
}

/// Returns the message of a serde_json error without its " at line L column C" suffix.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// Describes a serde_json syntax error in plain words, such as "invalid JSON at column 8: expected
/// a key in double quotes". `unit` is "line" or "file", whichever ends too early in a cut-off input.
/// A cut-off input gets no position, because serde_json reports the end of the input there.
fn json_error_text(error: &serde_json::Error, unit: &str) -> String {
    let message = without_position(error);
    if error.classify() == serde_json::error::Category::Eof {
        let unfinished = if message.ends_with("an object") {
            "before the JSON object closes"
        } else if message.ends_with("a list") {
            "before the JSON array closes"
        } else if message.ends_with("a string") {
            "inside a string"
        } else {
            "before a JSON value is complete"
        };
        return format!("invalid JSON: the {unit} ends {unfinished}");
    }
    let problem = match message.as_str() {
        "expected ident" => {
            "expected true, false or null; text values need double quotes".to_owned()
        }
        "key must be a string" => "expected a key in double quotes".to_owned(),
        "expected value" => "expected a JSON value".to_owned(),
        _ => message,
    };
    if unit == "line" {
        format!("invalid JSON at column {}: {problem}", error.column())
    } else {
        format!(
            "invalid JSON at line {} column {}: {problem}",
            error.line(),
            error.column()
        )
    }
}

/// Reads a file that contains one JSON array of records or one JSON object whose values are records.
/// With `needs_keys`, an array is an error, because its records have no key to take the id from.
pub fn read_json_document(
    path: &Path,
    window: Window,
    needs_keys: bool,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    read_json_document_from(
        BufReader::with_capacity(256 * 1024, file),
        window,
        needs_keys,
        sink,
    )
    .with_context(|| format!("failed to read {}", path.display()))
}

fn read_json_document_from(
    input: impl Read,
    window: Window,
    needs_keys: bool,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let newlines = Rc::new(Cell::new(0u64));
    let counting = NewlineCounter {
        inner: input,
        newlines: Rc::clone(&newlines),
    };
    let mut deserializer = serde_json::Deserializer::from_reader(counting);
    let stopped = Cell::new(false);
    let walker = Walker {
        newlines,
        position: Position::new(window),
        needs_keys,
        sink,
        stopped: &stopped,
    };
    match walker.deserialize(&mut deserializer) {
        Ok(()) => {}
        Err(_) if stopped.get() => return Ok(()),
        Err(error) if error.is_io() => return Err(anyhow::Error::new(error)),
        Err(error) if error.is_data() => anyhow::bail!("{}", without_position(&error)),
        Err(error) => anyhow::bail!("{}", json_error_text(&error, "file")),
    }
    deserializer.end().map_err(|error| {
        // A second value at the start of a line is what a file of one JSON record per line looks like.
        let hint = if error.line() > 1 && error.column() == 1 {
            "a file of one JSON record per line needs --format jsonl or arxiv"
        } else {
            "a JSON file holds one array or one object of records"
        };
        anyhow::anyhow!(
            "unexpected data after the top-level JSON value at line {} column {}; {hint}",
            error.line(),
            error.column()
        )
    })
}

/// Counts the newlines read through it. serde_json reads an `io::Read` one byte at a time and looks
/// ahead by at most one byte, so the count gives the line the parser has reached.
struct NewlineCounter<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R: Read> Read for NewlineCounter<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let num_read = self.inner.read(buffer)?;
        let num_newlines = buffer[..num_read]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count() as u64;
        self.newlines.set(self.newlines.get() + num_newlines);
        Ok(num_read)
    }
}

/// Error text of a read that the sink or the window stopped on purpose.
const STOPPED: &str = "the read was stopped";

/// Visits the top-level array or object and hands each record to the sink.
struct Walker<'a, 'b> {
    newlines: Rc<Cell<u64>>,
    position: Position,
    needs_keys: bool,
    sink: &'a mut Sink<'b>,
    stopped: &'a Cell<bool>,
}

impl Walker<'_, '_> {
    /// Passes one record to the sink; false when the read must stop.
    fn deliver(&mut self, line: u64, key: Option<String>, value: Value) -> bool {
        let item = if value.is_object() {
            Ok(Record { line, key, value })
        } else {
            Err(Malformed {
                line,
                reason: format!("the record is {}, not a JSON object", json_type(&value)),
            })
        };
        (self.sink)(item)
    }

    fn stop<E: de::Error>(&self) -> E {
        self.stopped.set(true);
        E::custom(STOPPED)
    }
}

impl<'de> DeserializeSeed<'de> for Walker<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array of records, or a JSON object whose values are records")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut records: A) -> Result<(), A::Error> {
        if self.needs_keys {
            return Err(de::Error::custom(
                "the file is a JSON array, whose records have no key; the mapping's id = \"$key\" needs a JSON object of records",
            ));
        }
        loop {
            let keep = match self.position.admit() {
                Admit::Stop => return Err(self.stop()),
                Admit::Skip => false,
                Admit::Take => true,
            };
            let seed = LocatedValue {
                newlines: Rc::clone(&self.newlines),
                keep,
            };
            match records.next_element_seed(seed)? {
                None => return Ok(()),
                Some((line, Some(value))) => {
                    if !self.deliver(line, None, value) {
                        return Err(self.stop());
                    }
                }
                Some((_, None)) => {}
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut records: A) -> Result<(), A::Error> {
        loop {
            let admit = self.position.admit();
            if matches!(admit, Admit::Stop) {
                return Err(self.stop());
            }
            let seed = LocatedKey {
                newlines: Rc::clone(&self.newlines),
            };
            let Some((line, key)) = records.next_key_seed(seed)? else {
                return Ok(());
            };
            if matches!(admit, Admit::Skip) {
                records.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: Value = records.next_value()?;
            if !self.deliver(line, Some(key), value) {
                return Err(self.stop());
            }
        }
    }
}

/// Deserializes a value (or passes over it when `keep` is false) and notes the line it starts on.
/// serde_json has already peeked the value's first byte when the seed runs, so the newline count
/// gives that line.
struct LocatedValue {
    newlines: Rc<Cell<u64>>,
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for LocatedValue {
    type Value = (u64, Option<Value>);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        let line = self.newlines.get() + 1;
        if self.keep {
            Ok((line, Some(Value::deserialize(deserializer)?)))
        } else {
            IgnoredAny::deserialize(deserializer)?;
            Ok((line, None))
        }
    }
}

/// Deserializes an object key and notes its line, which is where its record starts.
struct LocatedKey {
    newlines: Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for LocatedKey {
    type Value = (u64, String);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        let line = self.newlines.get() + 1;
        Ok((line, String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_lines(text: &str, window: Window) -> Vec<Result<Record, Malformed>> {
        let mut items = Vec::new();
        read_json_lines_from(text.as_bytes(), window, &mut |item| {
            items.push(item);
            true
        })
        .expect("in-memory read");
        items
    }

    fn collect_document(
        text: &str,
        window: Window,
        needs_keys: bool,
    ) -> anyhow::Result<Vec<Result<Record, Malformed>>> {
        let mut items = Vec::new();
        read_json_document_from(text.as_bytes(), window, needs_keys, &mut |item| {
            items.push(item);
            true
        })?;
        Ok(items)
    }

    fn lines_of(items: &[Result<Record, Malformed>]) -> Vec<u64> {
        items
            .iter()
            .map(|item| match item {
                Ok(record) => record.line,
                Err(malformed) => malformed.line,
            })
            .collect()
    }

    #[test]
    fn json_lines_report_malformed_lines() {
        let text = "{\"id\": \"a\"}\n\n{\"id\": \n[1, 2]\n\u{feff}{\"id\": \"b\"}\r\n";
        let items = collect_lines(text, Window::default());
        assert_eq!(lines_of(&items), vec![1, 3, 4, 5]);
        assert!(items[0].is_ok());
        let invalid = items[1].as_ref().expect_err("truncated object");
        assert_eq!(
            invalid.reason,
            "invalid JSON: the line ends before a JSON value is complete"
        );
        let array = items[2].as_ref().expect_err("array line");
        assert_eq!(array.reason, "the line holds an array, not a JSON object");
        assert_eq!(
            items[3].as_ref().expect("BOM and CRLF are accepted").value["id"],
            "b"
        );
    }

    fn line_reason(text: &str) -> String {
        let items = collect_lines(text, Window::default());
        items[0]
            .as_ref()
            .expect_err("malformed line")
            .reason
            .clone()
    }

    #[test]
    fn json_lines_describe_syntax_errors() {
        assert_eq!(
            line_reason("{\"id\": 1\n"),
            "invalid JSON: the line ends before the JSON object closes"
        );
        assert_eq!(
            line_reason("{\"ids\": [1, 2\r\n"),
            "invalid JSON: the line ends before the JSON array closes"
        );
        assert_eq!(
            line_reason("{\"id\": \"abc\n"),
            "invalid JSON: the line ends inside a string"
        );
        assert_eq!(
            line_reason("{\"a\": nope}\n"),
            "invalid JSON at column 8: expected true, false or null; text values need double quotes"
        );
        assert_eq!(
            line_reason("{id: 1}\n"),
            "invalid JSON at column 2: expected a key in double quotes"
        );
        assert_eq!(
            line_reason("{\"a\": 1,}\n"),
            "invalid JSON at column 9: trailing comma"
        );
    }

    #[test]
    fn json_lines_reject_invalid_utf8() {
        let mut items = Vec::new();
        read_json_lines_from(
            &b"{\"id\": \"\xff\"}\n"[..],
            Window::default(),
            &mut |item| {
                items.push(item);
                true
            },
        )
        .expect("in-memory read");
        let malformed = items[0].as_ref().expect_err("invalid UTF-8");
        assert!(malformed.reason.contains("UTF-8"), "{}", malformed.reason);
    }

    #[test]
    fn json_lines_skip_and_limit() {
        let text = "{\"n\": 1}\n{\"n\": 2}\n\n{\"n\": 3}\n{\"n\": 4}\n{\"n\": 5}\n";
        let items = collect_lines(
            text,
            Window {
                skip: 1,
                limit: Some(2),
            },
        );
        assert_eq!(lines_of(&items), vec![2, 4]);
        let items = collect_lines(
            text,
            Window {
                skip: 4,
                limit: None,
            },
        );
        assert_eq!(lines_of(&items), vec![6]);
    }

    #[test]
    fn sink_stops_json_lines() {
        let mut num_calls = 0;
        read_json_lines_from("{}\n{}\n{}\n".as_bytes(), Window::default(), &mut |_| {
            num_calls += 1;
            false
        })
        .expect("in-memory read");
        assert_eq!(num_calls, 1);
    }

    #[test]
    fn count_ignores_blank_lines() {
        assert_eq!(
            count_lines_with_content("{}\n\n  \n{}\n{}".as_bytes()).expect("count"),
            3
        );
        assert_eq!(count_lines_with_content("".as_bytes()).expect("count"), 0);
        assert_eq!(
            count_lines_with_content("{}\n".as_bytes()).expect("count"),
            1
        );
    }

    #[test]
    fn object_records_carry_keys_and_lines() {
        let text = "{\n  \"Alan Turing\": {\n    \"title\": \"Alan Turing\"\n  },\n  \"Ada\": {\"title\": \"Ada\"},\n  \"bad\": 7\n}\n";
        let items = collect_document(text, Window::default(), true).expect("valid document");
        assert_eq!(lines_of(&items), vec![2, 5, 6]);
        let first = items[0].as_ref().expect("object record");
        assert_eq!(first.key.as_deref(), Some("Alan Turing"));
        assert_eq!(first.value["title"], "Alan Turing");
        let bad = items[2].as_ref().expect_err("number record");
        assert_eq!(bad.reason, "the record is a number, not a JSON object");
    }

    #[test]
    fn array_records_carry_start_lines() {
        let text = "[\n  {\"id\": 1},\n  {\n    \"id\": 2\n  }, \"text\"\n]";
        let items = collect_document(text, Window::default(), false).expect("valid document");
        assert_eq!(lines_of(&items), vec![2, 3, 5]);
        assert!(items[0].as_ref().expect("object").key.is_none());
        assert!(items[2].is_err());
    }

    #[test]
    fn document_skip_and_limit() {
        let text = r#"{"a": {}, "b": {}, "c": {}, "d": {}}"#;
        let items = collect_document(
            text,
            Window {
                skip: 1,
                limit: Some(2),
            },
            false,
        )
        .expect("valid document");
        let keys: Vec<_> = items
            .iter()
            .map(|item| item.as_ref().expect("object").key.clone().expect("key"))
            .collect();
        assert_eq!(keys, vec!["b", "c"]);
        let items = collect_document(
            "[{}, {}, {}]",
            Window {
                skip: 2,
                limit: None,
            },
            false,
        )
        .expect("valid document");
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn document_syntax_error_is_fatal() {
        let error = collect_document("[{\"id\": 1},\n {\"id\": }]", Window::default(), false)
            .expect_err("syntax error");
        let message = error.to_string();
        assert_eq!(
            message,
            "invalid JSON at line 2 column 9: expected a JSON value"
        );
        assert!(
            !message.contains("--format"),
            "an array with a syntax error is no JSON lines file: {message}"
        );
    }

    #[test]
    fn truncated_document_names_what_is_open() {
        let error = collect_document("[{\"id\": 1},\n {\"id\": 2}", Window::default(), false)
            .expect_err("unclosed array");
        assert_eq!(
            error.to_string(),
            "invalid JSON: the file ends before the JSON array closes"
        );
    }

    #[test]
    fn json_lines_in_document_mode_suggest_jsonl() {
        let error = collect_document("{\"id\": 1}\n{\"id\": 2}\n", Window::default(), false)
            .expect_err("two values");
        assert!(error.to_string().contains("--format jsonl"), "{error}");
    }

    #[test]
    fn document_trailing_data_without_jsonl_hint() {
        let error = collect_document("[{\"id\": 1}] x", Window::default(), false)
            .expect_err("trailing data");
        let message = error.to_string();
        assert!(message.contains("line 1 column 13"), "{message}");
        assert!(!message.contains("--format jsonl"), "{message}");
    }

    #[test]
    fn array_needs_keys_is_fatal() {
        let error =
            collect_document("[{}]", Window::default(), true).expect_err("array without keys");
        assert!(error.to_string().contains("$key"), "{error}");
    }

    #[test]
    fn top_level_scalar_is_fatal() {
        assert!(collect_document("42", Window::default(), false).is_err());
    }
}
