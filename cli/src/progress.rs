//! Load counters and how a load shows its progress: a progress bar when standard error is a
//! terminal, otherwise one progress line every few seconds. Messages about single records go through
//! [`Progress::message`] so that they never tear the bar.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

/// Interval between progress lines when standard error is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);
/// Malformed records, and rejected documents, reported one by one; further ones are only counted.
pub const MAX_REPORTS_PER_KIND: u64 = 100;

/// Counters of a load, shared by the task that reads the file and the task that reads acknowledgements.
#[derive(Debug, Default)]
pub struct Counters {
    read: AtomicU64,
    written: AtomicU64,
    skipped: AtomicU64,
    rejected: AtomicU64,
    malformed: AtomicU64,
}

/// A snapshot of the [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records read from the file, malformed ones included.
    pub read: u64,
    pub written: u64,
    /// Documents left alone because the index already held them (--resume).
    pub skipped: u64,
    pub rejected: u64,
    pub malformed: u64,
}

impl Totals {
    /// Documents the indexer acknowledged: written, skipped or rejected.
    pub fn acknowledged(&self) -> u64 {
        self.written + self.skipped + self.rejected
    }

    /// Records finished with: acknowledged or malformed.
    pub fn done(&self) -> u64 {
        self.acknowledged() + self.malformed
    }
}

impl Counters {
    pub fn add_read(&self, count: u64) {
        self.read.fetch_add(count, Ordering::Relaxed);
    }

    pub fn add_malformed(&self, count: u64) {
        self.malformed.fetch_add(count, Ordering::Relaxed);
    }

    pub fn add_acknowledged(&self, written: u64, skipped: u64, rejected: u64) {
        self.written.fetch_add(written, Ordering::Relaxed);
        self.skipped.fetch_add(skipped, Ordering::Relaxed);
        self.rejected.fetch_add(rejected, Ordering::Relaxed);
    }

    pub fn totals(&self) -> Totals {
        Totals {
            read: self.read.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
        }
    }
}

/// Documents acknowledged per second.
pub fn rate(totals: &Totals, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        totals.acknowledged() as f64 / seconds
    } else {
        0.0
    }
}

/// Shows the progress of one load.
pub struct Progress {
    counters: Arc<Counters>,
    bar: ProgressBar,
    started: Instant,
    plain_task: Option<JoinHandle<()>>,
    num_malformed_reported: AtomicU64,
    num_rejected_reported: AtomicU64,
}

impl Progress {
    /// Starts showing progress; `total` is the number of records expected, when known.
    pub fn start(counters: Arc<Counters>, total: Option<u64>) -> Progress {
        let started = Instant::now();
        let (bar, plain_task) = if std::io::stderr().is_terminal() {
            (terminal_bar(total), None)
        } else {
            let task = tokio::spawn(print_lines(Arc::clone(&counters), total, started));
            (ProgressBar::hidden(), Some(task))
        };
        Progress {
            counters,
            bar,
            started,
            plain_task,
            num_malformed_reported: AtomicU64::new(0),
            num_rejected_reported: AtomicU64::new(0),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Redraws the bar from the counters.
    pub fn refresh(&self) {
        if self.bar.is_hidden() {
            return;
        }
        let totals = self.counters.totals();
        self.bar.set_position(totals.done());
        self.bar.set_message(format!(
            "{} acknowledged · {} rejected or malformed · {:.1} documents/s",
            totals.acknowledged(),
            totals.rejected + totals.malformed,
            rate(&totals, self.elapsed())
        ));
    }

    /// Prints a line on standard error without tearing the bar.
    pub fn message(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    /// Reports a malformed record, unless [`MAX_REPORTS_PER_KIND`] were reported already.
    pub fn report_malformed(&self, text: &str) {
        self.report_limited(&self.num_malformed_reported, text, "malformed records");
    }

    /// Reports a rejected document, unless [`MAX_REPORTS_PER_KIND`] were reported already.
    pub fn report_rejected(&self, text: &str) {
        self.report_limited(&self.num_rejected_reported, text, "rejected documents");
    }

    fn report_limited(&self, num_reported: &AtomicU64, text: &str, kind: &str) {
        let index = num_reported.fetch_add(1, Ordering::Relaxed);
        if index < MAX_REPORTS_PER_KIND {
            self.message(text);
        } else if index == MAX_REPORTS_PER_KIND {
            self.message(&format!(
                "further {kind} are counted in the summary but not listed"
            ));
        }
    }

    /// Removes the bar or stops the progress lines.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if let Some(task) = &self.plain_task {
            task.abort();
        }
    }
}

fn terminal_bar(total: Option<u64>) -> ProgressBar {
    let template = match total {
        Some(_) => {
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} records · ETA {eta} · {msg}"
        }
        None => "{spinner} {elapsed_precise} {pos} records · {msg}",
    };
    let style = ProgressStyle::with_template(template)
        .expect("the progress templates are valid")
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr()).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn print_lines(counters: Arc<Counters>, total: Option<u64>, started: Instant) {
    let mut interval =
        tokio::time::interval_at(tokio::time::Instant::now() + PLAIN_INTERVAL, PLAIN_INTERVAL);
    loop {
        interval.tick().await;
        eprintln!(
            "{}",
            progress_line(&counters.totals(), total, started.elapsed())
        );
    }
}

/// Formats one progress line, such as "progress: 1200/16000 records (7.5%), 1180 written, ...".
pub fn progress_line(totals: &Totals, total: Option<u64>, elapsed: Duration) -> String {
    let documents_per_second = rate(totals, elapsed);
    let mut line = match total {
        Some(total) if total > 0 => format!(
            "progress: {}/{total} records ({:.1}%)",
            totals.done(),
            100.0 * totals.done() as f64 / total as f64
        ),
        _ => format!("progress: {} records", totals.done()),
    };
    line.push_str(&format!(
        ", {} written, {} skipped, {} rejected, {} malformed, {documents_per_second:.1} documents/s",
        totals.written, totals.skipped, totals.rejected, totals.malformed
    ));
    if let Some(total) = total
        && documents_per_second > 0.0
    {
        let remaining = total.saturating_sub(totals.done()) as f64 / documents_per_second;
        line.push_str(&format!(
            ", ETA {}",
            humantime::format_duration(Duration::from_secs(remaining.round() as u64))
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_with_total() {
        let totals = Totals {
            read: 120,
            written: 90,
            skipped: 5,
            rejected: 5,
            malformed: 20,
        };
        let line = progress_line(&totals, Some(400), Duration::from_secs(10));
        assert_eq!(
            line,
            "progress: 120/400 records (30.0%), 90 written, 5 skipped, 5 rejected, 20 malformed, 10.0 documents/s, ETA 28s"
        );
    }

    #[test]
    fn progress_line_without_total() {
        let line = progress_line(&Totals::default(), None, Duration::ZERO);
        assert_eq!(
            line,
            "progress: 0 records, 0 written, 0 skipped, 0 rejected, 0 malformed, 0.0 documents/s"
        );
    }
}
