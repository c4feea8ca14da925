//! Output for people and programs: gRPC status text, proto3 JSON, field values and aligned tables.

use std::time::{Duration, UNIX_EPOCH};

use docsearch_proto::v1 as pb;
use serde::Serialize;
use tonic::Code;

use crate::connect::error_chain;

/// Returns the canonical name of a gRPC status code, as in the gRPC specification ("NOT_FOUND").
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Formats a status as "CODE: message", with the transport error's causes when the status came from one.
pub fn status_text(status: &tonic::Status) -> String {
    let mut text = format!("{}: {}", code_name(status.code()), status.message());
    if let Some(source) = std::error::Error::source(status) {
        let causes = error_chain(source);
        if !text.contains(&causes) {
            text.push_str(": ");
            text.push_str(&causes);
        }
    }
    text
}

/// Prints a message as indented proto3 JSON on standard output.
pub fn print_json<T: Serialize>(message: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(message)?;
    println!("{text}");
    Ok(())
}

/// Formats a field value for a table cell or a listing: text as is, tags joined by ", ", numbers without a
/// needless ".0", points as "longitude,latitude".
pub fn field_text(value: &pb::FieldValue) -> String {
    match &value.kind {
        Some(pb::field_value::Kind::Text(text)) => text.clone(),
        Some(pb::field_value::Kind::Tags(tags)) => tags.values.join(", "),
        Some(pb::field_value::Kind::Number(number)) => number_text(*number),
        Some(pb::field_value::Kind::Geo(point)) => {
            format!("{},{}", point.longitude, point.latitude)
        }
        None => String::new(),
    }
}

/// Formats a count with its noun in the singular or the plural, such as "1 document" or "3 documents".
pub fn count_text(count: u64, singular: &str, plural: &str) -> String {
    format!("{count} {}", noun_form(count, singular, plural))
}

/// Returns the singular for a count of 1 and the plural for any other count.
pub fn noun_form<'a>(count: u64, singular: &'a str, plural: &'a str) -> &'a str {
    if count == 1 { singular } else { plural }
}

pub fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}

/// Formats a byte count in binary units, such as "12.3 MiB".
pub fn bytes_text(num_bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = num_bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{num_bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Milliseconds since the Unix epoch as an RFC 3339 UTC time to the second.
pub fn timestamp_text(epoch_ms: i64) -> String {
    match u64::try_from(epoch_ms) {
        Ok(epoch_ms) if epoch_ms > 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(epoch_ms))
                .to_string()
        }
        _ => "unknown".to_owned(),
    }
}

/// Seconds since `start` with one decimal, such as "12.3 s".
pub fn elapsed_text(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// Returns the width of the terminal on standard output, or `None` when standard output is not a terminal.
pub fn terminal_width() -> Option<usize> {
    console::Term::stdout()
        .size_checked()
        .map(|(_rows, columns)| usize::from(columns))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table with a header row, columns separated by two spaces. One column may be flexible: it is
/// truncated with "…" so that each line fits the given width.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
    flexible: Option<usize>,
}

/// Narrowest width a flexible column is truncated to, whatever the terminal width.
const MIN_FLEXIBLE_WIDTH: usize = 20;
const COLUMN_GAP: &str = "  ";

impl Table {
    pub fn new<H: AsRef<str>>(columns: &[(H, Align)]) -> Self {
        Self {
            headers: columns
                .iter()
                .map(|(header, _)| header.as_ref().to_owned())
                .collect(),
            aligns: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
            flexible: None,
        }
    }

    /// Makes the column with this header the one that shrinks to fit the width.
    pub fn flexible(mut self, header: &str) -> Self {
        self.flexible = self.headers.iter().position(|name| *name == header);
        self
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len(), "one cell per column");
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders the table; with `max_width`, the flexible column shrinks so lines fit it.
    pub fn render(&self, max_width: Option<usize>) -> String {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|header| console::measure_text_width(header))
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(console::measure_text_width(cell));
            }
        }
        if let (Some(max_width), Some(flexible)) = (max_width, self.flexible) {
            let others: usize = widths
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != flexible)
                .map(|(_, width)| width)
                .sum();
            let gaps = COLUMN_GAP.len() * (widths.len() - 1);
            let available = max_width
                .saturating_sub(others + gaps)
                .max(MIN_FLEXIBLE_WIDTH);
            widths[flexible] = widths[flexible].min(available);
        }

        let mut text = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                if index > 0 {
                    line.push_str(COLUMN_GAP);
                }
                let cell = console::truncate_str(cell, widths[index], "…");
                let is_last = index + 1 == row.len();
                let padded = match self.aligns[index] {
                    Align::Left if is_last => cell.into_owned(),
                    Align::Left => {
                        console::pad_str(&cell, widths[index], console::Alignment::Left, None)
                            .into_owned()
                    }
                    Align::Right => {
                        console::pad_str(&cell, widths[index], console::Alignment::Right, None)
                            .into_owned()
                    }
                };
                line.push_str(&padded);
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_has_canonical_code() {
        let status = tonic::Status::not_found("index \"papers\" not found");
        assert_eq!(
            status_text(&status),
            "NOT_FOUND: index \"papers\" not found"
        );
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
    }

    #[test]
    fn field_values_as_text() {
        let number = pb::FieldValue {
            kind: Some(pb::field_value::Kind::Number(2007.0)),
        };
        assert_eq!(field_text(&number), "2007");
        let fraction = pb::FieldValue {
            kind: Some(pb::field_value::Kind::Number(0.25)),
        };
        assert_eq!(field_text(&fraction), "0.25");
        let tags = pb::FieldValue {
            kind: Some(pb::field_value::Kind::Tags(pb::TagList {
                values: vec!["hep-th".to_owned(), "gr-qc".to_owned()],
            })),
        };
        assert_eq!(field_text(&tags), "hep-th, gr-qc");
    }

    #[test]
    fn counts_agree_with_nouns() {
        assert_eq!(count_text(1, "batch", "batches"), "1 batch");
        assert_eq!(count_text(0, "batch", "batches"), "0 batches");
        assert_eq!(count_text(1001, "document", "documents"), "1001 documents");
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes_text(512), "512 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp_text(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(timestamp_text(0), "unknown");
    }

    #[test]
    fn table_truncates_flexible_column() {
        let mut table = Table::new(&[
            ("RANK", Align::Right),
            ("TITLE", Align::Left),
            ("YEAR", Align::Right),
        ])
        .flexible("TITLE");
        table.push(vec![
            "1".to_owned(),
            "A very long title about neural networks and graphs".to_owned(),
            "2017".to_owned(),
        ]);
        table.push(vec!["10".to_owned(), "Short".to_owned(), "1999".to_owned()]);
        let text = table.render(Some(36));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "RANK  TITLE                     YEAR");
        assert_eq!(lines[1], "   1  A very long title about…  2017");
        assert_eq!(lines[2], "  10  Short                     1999");
        assert!(
            lines
                .iter()
                .all(|line| console::measure_text_width(line) <= 36),
            "{text}"
        );
    }

    #[test]
    fn table_without_width_keeps_cells() {
        let mut table =
            Table::new(&[("ID", Align::Left), ("TITLE", Align::Left)]).flexible("TITLE");
        table.push(vec!["a".to_owned(), "x".repeat(200)]);
        assert!(table.render(None).contains(&"x".repeat(200)));
    }
}
