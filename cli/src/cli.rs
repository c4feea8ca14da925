//! The command-line grammar and the parsers of option values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::connect::{DEFAULT_INDEXER, DEFAULT_SEARCHER, parse_address};

/// docsearch: create indexes, load documents and search them by meaning.
#[derive(Debug, Parser)]
#[command(
    name = "docsearch",
    version,
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, \
                  3 load finished with rejected documents or malformed records."
)]
pub struct Cli {
    /// Indexer address (IndexService and IngestService).
    #[arg(long, env = "DOCSEARCH_INDEXER", default_value = DEFAULT_INDEXER, value_name = "URL",
          value_parser = parse_address, global = true, help_heading = "Global options")]
    pub indexer: String,

    /// Searcher address (SearchService).
    #[arg(long, env = "DOCSEARCH_SEARCHER", default_value = DEFAULT_SEARCHER, value_name = "URL",
          value_parser = parse_address, global = true, help_heading = "Global options")]
    pub searcher: String,

    /// Deadline of each request in seconds; the Ingest stream of `load` has none.
    #[arg(long, env = "DOCSEARCH_TIMEOUT", default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..), global = true, help_heading = "Global options")]
    pub timeout: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, describe, list and drop indexes.
    Index(IndexArgs),
    /// Stream a file of records into an index.
    Load(LoadArgs),
    /// Search an index by text, by a similar document or by a vector.
    Search(SearchArgs),
    /// Complete a title prefix from an index's suggestion dictionary.
    Suggest(SuggestArgs),
    /// Fetch documents by id.
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Print the responses as proto3 JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Create an index from a schema file.
    Create {
        /// Index name: 1 to 64 characters from [A-Za-z0-9_-].
        name: String,
        /// IndexSchema in proto3 JSON, such as schemas/arxiv.json.
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
    },
    /// Show an index's schema, document count, indexing state and memory.
    Describe { name: String },
    /// List the indexes with their document counts.
    List,
    /// Drop an index; its documents stay in Redis unless --delete-documents is given.
    Drop {
        name: String,
        /// Also delete the documents and the suggestion dictionary.
        #[arg(long)]
        delete_documents: bool,
    },
}

/// Maximum --batch-size, the default of the indexer's `ingest.max_batch_documents`. The CLI cannot
/// read an indexer's configured limit, so it rejects larger batches before reading the file.
pub const MAX_BATCH_SIZE: u32 = 1000;

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// arXiv metadata as JSON lines, as in the Kaggle snapshot; needs no mapping file.
    Arxiv,
    /// One JSON object per line, converted by a mapping file.
    Jsonl,
    /// One JSON array of records, or one JSON object whose values are records; needs a mapping file.
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Format: --format arxiv reads arXiv metadata. Without --format, a .jsonl or .ndjson file is read as \
jsonl and a .json file as json, and both need --mapping; other extensions need --format. \
The Kaggle arXiv snapshot is JSON lines in a .json file, so give it --format arxiv.

Records: --skip and --limit count records (lines of JSON lines, elements of a JSON file), malformed \
ones included. JSON lines files are read one line at a time, so memory stays bounded whatever the \
file size. A json file is parsed as a stream too, one record at a time; the progress bar shows no \
total for it because counting its records would mean parsing it twice.

Errors: malformed records are skipped and reported with their line number; documents the indexer \
rejects are reported with their id, line and reason. The first 100 of each are shown, the rest \
only counted. The load exits with code 3 when any record was malformed or rejected. When the stream \
breaks or the load is interrupted, acknowledged batches stay written: run the same command with \
--resume to continue. When the indexer rejects a whole batch as invalid, the error says what to \
change first.")]
pub struct LoadArgs {
    /// File of records to load.
    pub file: PathBuf,

    /// Index to load into.
    #[arg(long, short = 'i', value_name = "NAME")]
    pub index: String,

    /// Input format; by default taken from the file extension (see below).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Mapping file (TOML) from record fields to index fields, for --format jsonl and json.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// Documents per Ingest batch, from 1 to 1000, the default of the indexer's
    /// ingest.max_batch_documents; an indexer configured with a lower limit rejects larger batches.
    /// Defaults to 256 when the indexer embeds the documents and 500 when the records carry their
    /// vectors.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH_SIZE)))]
    pub batch_size: Option<u32>,

    /// Maximum number of records to read, counted after --skip.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Number of records to pass over at the start of the file.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip: u64,

    /// Leave documents that the index already contains untouched, so an interrupted load continues
    /// without embedding them again.
    #[arg(long)]
    pub resume: bool,

    /// Create the index from this IndexSchema JSON file when it does not exist yet.
    #[arg(long, value_name = "SCHEMA_FILE")]
    pub create_index: Option<PathBuf>,
}

/// Search modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// The k nearest neighbours of the query vector.
    Knn,
    /// Every document within --distance-threshold of the query vector.
    Range,
    /// Full-text match of the query text, ranked by BM25.
    Text,
    /// A text leg and a vector leg fused into one ranking.
    Hybrid,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("query").args(["text", "similar_to", "vector_file"]).required(true).multiple(true))]
pub struct SearchArgs {
    /// Query text: embedded by the searcher for knn and range, matched as words for text and hybrid.
    pub text: Option<String>,

    /// Index to search.
    #[arg(long, short = 'i', value_name = "NAME")]
    pub index: String,

    /// Search by the stored vector of this document ("more like this").
    #[arg(long, value_name = "ID")]
    pub similar_to: Option<String>,

    /// Leave the --similar-to document itself out of the results.
    #[arg(long, requires = "similar_to")]
    pub exclude_self: bool,

    /// Query vector: a JSON array of numbers, or a proto3 JSON Vector ({"values": [...]}).
    #[arg(long, value_name = "FILE")]
    pub vector_file: Option<PathBuf>,

    /// Search mode; by default the searcher runs knn, or hybrid with --lucky and words to search for.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// Number of hits to return, from 1 to 1000.
    #[arg(short = 'k', value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,

    /// Number of hits to skip before the first one returned, for paging.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u32,

    /// Keep only documents whose `categories` tag contains this value; repeat for any of several.
    #[arg(long = "category", value_name = "C")]
    pub categories: Vec<String>,

    /// Keep only documents whose `primary_category` tag is this value; repeat for any of several.
    #[arg(long = "primary-category", value_name = "C")]
    pub primary_categories: Vec<String>,

    /// Keep only documents whose `year` lies in an inclusive range: A..B, A.., ..B or one year A.
    #[arg(long, value_name = "RANGE", value_parser = parse_bounds)]
    pub year: Option<Bounds>,

    /// Keep only documents whose TAG field contains the value; values of one field are any-of, fields all-of.
    #[arg(long = "tag", value_name = "FIELD=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,

    /// Keep only documents whose NUMERIC field lies in an inclusive range A..B, A.. or ..B.
    #[arg(long = "range", value_name = "FIELD=RANGE", value_parser = parse_field_range)]
    pub ranges: Vec<(String, Bounds)>,

    /// Fields to return with each hit, comma-separated; by default every stored field but vectors.
    #[arg(long, value_name = "F,...", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// Return only the single best hit.
    #[arg(long)]
    pub lucky: bool,

    /// Maximum edit distance per query word for text and hybrid, from 0 (exact) to 3.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=3))]
    pub fuzzy: Option<u32>,

    /// Maximum vector distance for --mode range, inclusive, in the index's metric.
    #[arg(long, value_name = "DISTANCE")]
    pub distance_threshold: Option<f64>,

    /// Print the response as proto3 JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Start of a title, at least 2 characters.
    pub prefix: String,

    /// Index whose suggestion dictionary to read.
    #[arg(long, short = 'i', value_name = "NAME")]
    pub index: String,

    /// Also complete prefixes one edit away.
    #[arg(long)]
    pub fuzzy: bool,

    /// Maximum number of suggestions, from 1 to 100; the searcher returns 5 when unset.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: Option<u32>,

    /// Print the response as proto3 JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Document ids, at most 1000.
    #[arg(required = true, num_args = 1..=1000)]
    pub ids: Vec<String>,

    /// Index to read from.
    #[arg(long, short = 'i', value_name = "NAME")]
    pub index: String,

    /// Fields to return, comma-separated; by default every stored field.
    #[arg(long, value_name = "F,...", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// Also return the stored vectors.
    #[arg(long)]
    pub vectors: bool,

    /// Print the response as proto3 JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// An inclusive numeric range; a missing bound leaves that end open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Parses `A..B`, `A..`, `..B` or a single number `A` (meaning `A..A`).
pub fn parse_bounds(value: &str) -> Result<Bounds, String> {
    let value = value.trim();
    let (min, max) = match value.split_once("..") {
        Some((min, max)) => (parse_bound(min)?, parse_bound(max)?),
        None => {
            let single = parse_bound(value)?;
            (single, single)
        }
    };
    if min.is_none() && max.is_none() {
        return Err(format!("{value:?} has no bound; write A..B, A.., ..B or A"));
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(format!(
            "{value:?} is empty because {min} is greater than {max}"
        ));
    }
    Ok(Bounds { min, max })
}

fn parse_bound(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(Some(number)),
        _ => Err(format!("{text:?} is not a finite number")),
    }
}

fn split_field(value: &str) -> Result<(String, &str), String> {
    match value.split_once('=') {
        Some((field, rest)) if !field.trim().is_empty() => Ok((field.trim().to_owned(), rest)),
        _ => Err(format!("{value:?} has no field name; write FIELD=VALUE")),
    }
}

/// Parses `FIELD=VALUE` of --tag.
pub fn parse_tag(value: &str) -> Result<(String, String), String> {
    let (field, tag) = split_field(value)?;
    if tag.trim().is_empty() {
        return Err(format!("{value:?} has no tag value after '='"));
    }
    Ok((field, tag.trim().to_owned()))
}

/// Parses `FIELD=A..B` of --range.
pub fn parse_field_range(value: &str) -> Result<(String, Bounds), String> {
    let (field, range) = split_field(value)?;
    Ok((field, parse_bounds(range)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bounds_forms() {
        assert_eq!(
            parse_bounds("2015..2018"),
            Ok(Bounds {
                min: Some(2015.0),
                max: Some(2018.0)
            })
        );
        assert_eq!(
            parse_bounds("2015.."),
            Ok(Bounds {
                min: Some(2015.0),
                max: None
            })
        );
        assert_eq!(
            parse_bounds("..2018"),
            Ok(Bounds {
                min: None,
                max: Some(2018.0)
            })
        );
        assert_eq!(
            parse_bounds("2007"),
            Ok(Bounds {
                min: Some(2007.0),
                max: Some(2007.0)
            })
        );
        assert_eq!(
            parse_bounds("-1.5..2.5"),
            Ok(Bounds {
                min: Some(-1.5),
                max: Some(2.5)
            })
        );
    }

    #[test]
    fn bounds_reject_bad_input() {
        assert!(parse_bounds("..").is_err());
        assert!(parse_bounds("2018..2015").is_err());
        assert!(parse_bounds("twenty..").is_err());
        assert!(parse_bounds("inf..").is_err());
    }

    #[test]
    fn tag_and_range_need_field() {
        assert_eq!(
            parse_tag("topic=Arts"),
            Ok(("topic".to_owned(), "Arts".to_owned()))
        );
        assert!(parse_tag("=Arts").is_err());
        assert!(parse_tag("topic=").is_err());
        assert!(parse_tag("Arts").is_err());
        let (field, bounds) = parse_field_range("year=1999..2001").expect("valid range");
        assert_eq!(field, "year");
        assert_eq!(
            bounds,
            Bounds {
                min: Some(1999.0),
                max: Some(2001.0)
            }
        );
    }

    #[test]
    fn search_needs_query() {
        let error = Cli::try_parse_from(["docsearch", "search", "--index", "papers"])
            .expect_err("no query");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(
            Cli::try_parse_from([
                "docsearch",
                "search",
                "--index",
                "papers",
                "--similar-to",
                "0704.0001"
            ])
            .is_ok()
        );
    }

    #[test]
    fn batch_size_limits() {
        let parse = |size: &str| {
            Cli::try_parse_from([
                "docsearch",
                "load",
                "a.jsonl",
                "-i",
                "p",
                "--batch-size",
                size,
            ])
        };
        assert!(parse("1").is_ok());
        assert!(parse("1000").is_ok());
        let error = parse("1001").expect_err("above the indexer's default limit");
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(error.to_string().contains("1..=1000"), "{error}");
        let error = parse("0").expect_err("an empty batch");
        assert!(error.to_string().contains("1..=1000"), "{error}");
    }

    #[test]
    fn batch_size_help_names_limit() {
        let mut command = Cli::command();
        let load = command
            .find_subcommand_mut("load")
            .expect("load subcommand");
        let help = load.render_long_help().to_string();
        assert!(help.contains("from 1 to 1000"), "{help}");
        assert!(help.contains("ingest.max_batch_documents"), "{help}");
    }

    #[test]
    fn exclude_self_requires_similar_to() {
        let result = Cli::try_parse_from([
            "docsearch",
            "search",
            "graphs",
            "--index",
            "papers",
            "--exclude-self",
        ]);
        assert!(result.is_err());
    }
}
