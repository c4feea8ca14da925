//! The arXiv sample as a test fixture: a fixed subset of the papers in `DOCSEARCH_ARXIV_SAMPLE` (JSON
//! lines in the Kaggle arXiv metadata format), loaded once through the `docsearch` CLI into a stack
//! with the embedding model, plus the papers as parsed here, independently of the CLI, for ground truth.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use crate::{CliOutput, Stack, StackOptions, model_dir, workspace_root};

/// Papers in the subset unless `DOCSEARCH_ARXIV_SUBSET` says otherwise.
pub const DEFAULT_SUBSET_SIZE: usize = 2_000;
/// Name of the index the fixture loads.
pub const INDEX: &str = "arxiv";

/// One paper of the subset, as this module parses it.
#[derive(Debug, Clone)]
pub struct Paper {
    pub id: String,
    /// Runs of white space folded to one space, trimmed.
    pub title: String,
    pub abstract_text: String,
    pub categories: Vec<String>,
    pub primary_category: String,
    /// Submission year, from the id (the sample has no version dates).
    pub year: i64,
}

/// The loaded subset.
pub struct ArxivFixture {
    pub stack: Stack,
    pub papers: Vec<Paper>,
    /// Output of the `docsearch load` run that loaded the subset.
    pub load: CliOutput,
}

/// The sample file, when `DOCSEARCH_ARXIV_SAMPLE` names one that exists.
pub fn sample_path() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("DOCSEARCH_ARXIV_SAMPLE")?);
    path.is_file().then_some(path)
}

/// Folds runs of white space to one space and trims.
pub fn normalize_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The submission year encoded in an arXiv id: new-style ids start with YYMM (0704.0001 is April 2007),
/// old-style ids carry YYMM after the slash (hep-th/9901001 is January 1999). arXiv started in 1991.
pub fn year_from_id(id: &str) -> Option<i64> {
    let digits = match id.split_once('/') {
        Some((_, number)) => number,
        None => id,
    };
    let yy: i64 = digits.get(..2)?.parse().ok()?;
    Some(if yy >= 91 { 1900 + yy } else { 2000 + yy })
}

/// Parses one line of the sample.
pub fn parse_paper(line: &str) -> Option<Paper> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    let id = record.get("id")?.as_str()?.to_owned();
    let categories: Vec<String> = record
        .get("categories")?
        .as_str()?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some(Paper {
        year: year_from_id(&id)?,
        title: normalize_whitespace(record.get("title")?.as_str()?),
        abstract_text: normalize_whitespace(record.get("abstract")?.as_str()?),
        primary_category: categories.first()?.clone(),
        categories,
        id,
    })
}

/// Starts a stack with the model, loads the subset through the CLI and returns it. `None`, after a
/// skip message, when the sample or the model is missing.
pub async fn load_fixture() -> Option<ArxivFixture> {
    let Some(sample) = sample_path() else {
        // The sample is optional even under DOCSEARCH_REQUIRE_ALL: it is not provisioned, only provided.
        eprintln!("SKIPPED: DOCSEARCH_ARXIV_SAMPLE does not name the arXiv sample file");
        return None;
    };
    let model_dir = model_dir()?;
    let subset_size: usize = std::env::var("DOCSEARCH_ARXIV_SUBSET")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_SUBSET_SIZE);

    let stack = Stack::start(StackOptions {
        model_dir: Some(model_dir),
        settings: Vec::new(),
    })
    .await;
    let (subset_path, papers) = write_subset(&sample, subset_size, stack.dir.path());

    let schema = workspace_root().join("schemas/arxiv.json");
    let created = stack.run_cli(&[
        "index",
        "create",
        INDEX,
        "--schema",
        &schema.display().to_string(),
    ]);
    assert_eq!(created.code, Some(0), "index create failed: {created:?}");
    let load = stack.run_cli(&[
        "load",
        &subset_path.display().to_string(),
        "--index",
        INDEX,
        "--format",
        "arxiv",
    ]);
    Some(ArxivFixture {
        stack,
        papers,
        load,
    })
}

/// Writes every n-th line of the sample, so that the subset spans the whole file, and parses it.
fn write_subset(
    sample: &std::path::Path,
    subset_size: usize,
    dir: &std::path::Path,
) -> (PathBuf, Vec<Paper>) {
    let lines: Vec<String> =
        BufReader::new(std::fs::File::open(sample).expect("the sample is readable"))
            .lines()
            .map(|line| line.expect("the sample is UTF-8"))
            .collect();
    let step = (lines.len() / subset_size.max(1)).max(1);
    let chosen: Vec<&String> = lines.iter().step_by(step).take(subset_size).collect();

    let path = dir.join("arxiv-subset.jsonl");
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(&path).expect("failed to create the subset"));
    let mut papers = Vec::with_capacity(chosen.len());
    for line in chosen {
        writeln!(file, "{line}").expect("failed to write the subset");
        papers.push(parse_paper(line).unwrap_or_else(|| panic!("unparsable sample line: {line}")));
    }
    file.flush().expect("failed to write the subset");
    (path, papers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_from_id_styles() {
        assert_eq!(year_from_id("0704.0001"), Some(2007));
        assert_eq!(year_from_id("1501.00001"), Some(2015));
        assert_eq!(year_from_id("hep-th/9901001"), Some(1999));
        assert_eq!(year_from_id("math/0102003"), Some(2001));
        assert_eq!(year_from_id("x"), None);
    }
}
