//! The `docsearch` command-line client end to end: it creates an arXiv index, loads a hand-written
//! arXiv file with malformed lines, loads it again with --resume, and searches it with filters,
//! against the real indexer and searcher with the embedding model.

use std::collections::BTreeSet;
use std::process::Command;

use docsearch_e2e::{
    CliOutput, ServiceKind, ServiceProcess, Stack, StackOptions, binary, model_dir, workspace_root,
};
use docsearch_runtime::testing::RedisServer;
use serde_json::Value;

const INDEX: &str = "papers";

/// Ten arXiv records in the Kaggle snapshot layout, written for this test, and three malformed lines:
/// line 4 is invalid JSON, line 7 has no id and line 10 has a number as its title.
const FIXTURE: &str = r#"{"id":"0704.0101","submitter":"Maria Keller","authors":"Maria Keller, Tomasz Nowak","title":"Holographic entanglement entropy of charged black holes in\n  anti-de Sitter space","comments":"24 pages, 6 figures","journal-ref":null,"doi":null,"categories":"hep-th gr-qc","abstract":"  We compute the holographic entanglement entropy of strip regions in the\nbackground of charged black holes in anti-de Sitter space and study its\ndependence on the chemical potential.\n","versions":[{"version":"v1","created":"Tue, 3 Apr 2007 10:12:31 GMT"},{"version":"v2","created":"Fri, 14 Sep 2007 08:01:55 GMT"}],"update_date":"2008-02-11","authors_parsed":[["Keller","Maria",""],["Nowak","Tomasz",""]]}
{"id":"hep-th/9905123","authors":"Hiroshi Tanaka","title":"Moduli spaces of supersymmetric gauge theories on intersecting D-branes","comments":null,"journal-ref":"Nucl. Phys. B 560 (1999) 211-240","doi":null,"categories":"hep-th","abstract":"  The moduli space of N=2 supersymmetric gauge theories realised on\nintersecting D-branes is derived from the brane configuration.\n","update_date":"2008-11-20","authors_parsed":[["Tanaka","Hiroshi",""]]}
{"id":"1206.0456","authors":"Laura Chen, David Okafor","title":"Adaptive learning rates for stochastic gradient descent in deep neural\n  networks","comments":"9 pages","journal-ref":null,"doi":null,"categories":"cs.LG stat.ML","abstract":"  We propose a per-parameter adaptive learning rate for stochastic gradient\ndescent that speeds up the training of deep neural networks.\n","update_date":"2012-06-05","authors_parsed":[["Chen","Laura",""],["Okafor","David",""]]}
{"id":"1301.0001","title":"A record cut off in the middle","categories":"cs.DS"
{"id":"1511.0789","authors":"Sven Lindqvist","title":"Residual connections for very deep convolutional networks in image\n  recognition","comments":null,"journal-ref":null,"doi":null,"categories":"cs.CV cs.LG","abstract":"  Residual connections let convolutional neural networks with hundreds of\nlayers be trained for image classification.\n","update_date":"2015-12-01","authors_parsed":[["Lindqvist","Sven",""]]}
{"id":"1703.0234","authors":"Amara Diallo, Jun Park","title":"Attention-based recurrent networks for neural machine translation","comments":null,"journal-ref":null,"doi":null,"categories":"cs.CL cs.LG","abstract":"  An attention mechanism over the encoder states of a recurrent network\nimproves the translation of long sentences.\n","update_date":"2017-03-20","authors_parsed":[["Diallo","Amara",""],["Park","Jun",""]]}
{"title":"A paper without an identifier","authors":"Anonymous","categories":"math.CO","abstract":"  This record lacks its arXiv id.\n","update_date":"2010-01-01"}
{"id":"1808.0912","authors":"Priya Raman","title":"Variational quantum eigensolvers on noisy intermediate-scale quantum\n  hardware","comments":"12 pages","journal-ref":null,"doi":null,"categories":"quant-ph","abstract":"  We benchmark variational quantum eigensolvers for small molecules on\nnoisy superconducting qubits.\n","update_date":"2018-08-29","authors_parsed":[["Raman","Priya",""]]}
{"id":"astro-ph/0203045","authors":"Elena Rossi","title":"Density profiles of dark matter haloes in cosmological N-body\n  simulations","comments":null,"journal-ref":"Mon. Not. R. Astron. Soc. 334 (2002) 79","doi":null,"categories":"astro-ph","abstract":"  Dark matter haloes formed in cosmological N-body simulations follow a\nuniversal density profile.\n","update_date":"2009-10-31","authors_parsed":[["Rossi","Elena",""]]}
{"id":"1901.0042","authors":"Numeric Title","title":1901,"categories":"cs.LG","abstract":"  The title of this record is a number.\n","update_date":"2019-01-07"}
{"id":"1905.1123","authors":"Kofi Mensah, Ana Silva","title":"Graph neural networks for molecular property prediction","comments":null,"journal-ref":null,"doi":null,"categories":"cs.LG physics.chem-ph","abstract":"  Message passing graph neural networks predict quantum chemical properties\nof molecules from their bond graphs.\n","update_date":"2019-05-28","authors_parsed":[["Mensah","Kofi",""],["Silva","Ana",""]]}
{"id":"math/9912001","authors":"Ingrid Berg","title":"Lattice paths, Dyck words and the Catalan numbers","comments":null,"journal-ref":null,"doi":null,"categories":"math.CO","abstract":"  We give a bijective enumeration of lattice paths that stay above the\ndiagonal.\n","update_date":"2007-06-18","authors_parsed":[["Berg","Ingrid",""]]}
{"id":"2004.0555","authors":"Rafael Ortiz","title":"Epidemic spreading on contact networks during the COVID-19 pandemic","comments":null,"journal-ref":null,"doi":null,"categories":"physics.soc-ph q-bio.PE","abstract":"  A susceptible-infected-recovered model on empirical contact networks\nreproduces the first wave of the pandemic.\n","update_date":"2020-04-30","authors_parsed":[["Ortiz","Rafael",""]]}
"#;

const NUM_VALID: usize = 10;

/// Id, year and categories of each valid record of [`FIXTURE`].
const PAPERS: [(&str, f64, &[&str]); NUM_VALID] = [
    ("0704.0101", 2007.0, &["hep-th", "gr-qc"]),
    ("hep-th/9905123", 1999.0, &["hep-th"]),
    ("1206.0456", 2012.0, &["cs.LG", "stat.ML"]),
    ("1511.0789", 2015.0, &["cs.CV", "cs.LG"]),
    ("1703.0234", 2017.0, &["cs.CL", "cs.LG"]),
    ("1808.0912", 2018.0, &["quant-ph"]),
    ("astro-ph/0203045", 2002.0, &["astro-ph"]),
    ("1905.1123", 2019.0, &["cs.LG", "physics.chem-ph"]),
    ("math/9912001", 1999.0, &["math.CO"]),
    ("2004.0555", 2020.0, &["physics.soc-ph", "q-bio.PE"]),
];

/// Returns the number after "NAME:" in the load summary, such as 10 in "  written:          10 documents".
fn summary_count(output: &CliOutput, name: &str) -> u64 {
    let prefix = format!("{name}:");
    output
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("the summary has no {name} count:\n{}", output.stdout))
}

fn parse_json(output: &CliOutput) -> Value {
    serde_json::from_str(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
            output.stdout, output.stderr
        )
    })
}

fn assert_exit(output: &CliOutput, expected: i32, context: &str) {
    assert_eq!(
        output.code,
        Some(expected),
        "{context}: exit code\nstdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
}

/// Runs a search with --json and returns the ids of its hits, in rank order.
fn search_ids(stack: &Stack, args: &[&str]) -> Vec<String> {
    let mut command = vec!["search", "--index", INDEX, "--json"];
    command.extend_from_slice(args);
    let output = stack.run_cli(&command);
    assert_exit(&output, 0, &format!("search {args:?}"));
    let response = parse_json(&output);
    response["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("search {args:?} returned no hits array: {response}"))
        .iter()
        .map(|hit| hit["id"].as_str().expect("every hit has an id").to_owned())
        .collect()
}

/// Runs a text search and checks its hits; returns false, after a note, when the searcher rejects
/// text queries with FAILED_PRECONDITION or UNIMPLEMENTED.
fn search_text_or_report(stack: &Stack) -> bool {
    let query = "training deep neural networks with gradient descent";
    let output = stack.run_cli(&["search", query, "--index", INDEX, "--json", "-k", "3"]);
    if output.code == Some(1)
        && (output.stderr.contains("FAILED_PRECONDITION")
            || output.stderr.contains("UNIMPLEMENTED"))
    {
        eprintln!(
            "NOTE: the searcher does not serve text queries; checking by stored vectors instead:\n{}",
            output.stderr
        );
        return false;
    }
    assert_exit(&output, 0, "text search");
    let response = parse_json(&output);
    let ids: Vec<&str> = response["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("the text search returned no hits array: {response}"))
        .iter()
        .map(|hit| hit["id"].as_str().expect("every hit has an id"))
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.contains(&"1206.0456"),
        "the gradient descent paper ranks in the top 3: {ids:?}"
    );
    true
}

fn ids_where(keep: impl Fn(f64, &[&str]) -> bool) -> BTreeSet<String> {
    PAPERS
        .iter()
        .filter(|(_, year, categories)| keep(*year, categories))
        .map(|(id, _, _)| (*id).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_loads_resumes_and_searches() {
    let Some(model_dir) = model_dir() else {
        return;
    };
    let stack = Stack::start(StackOptions {
        model_dir: Some(model_dir),
        ..Default::default()
    })
    .await;
    let schema = workspace_root().join("schemas/arxiv.json");
    let fixture = stack.dir.path().join("papers.jsonl");
    std::fs::write(&fixture, FIXTURE).expect("failed to write the fixture");
    let fixture = fixture.to_str().expect("the temporary path is UTF-8");

    let output = stack.run_cli(&[
        "index",
        "create",
        INDEX,
        "--schema",
        schema.to_str().expect("UTF-8 path"),
    ]);
    assert_exit(&output, 0, "index create");
    assert!(
        output.stdout.contains("created index \"papers\""),
        "{}",
        output.stdout
    );

    // First load: the ten valid records are written and the three malformed lines reported.
    let output = stack.run_cli(&["load", fixture, "--index", INDEX, "--format", "arxiv"]);
    assert_exit(&output, 3, "load with malformed lines");
    assert!(
        output
            .stderr
            .contains("line 4: malformed record skipped: invalid JSON"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("line 7: malformed record skipped: the record has no id"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("line 10: malformed record skipped: title is a number, expected a string"),
        "{}",
        output.stderr
    );
    assert_eq!(summary_count(&output, "read"), 13);
    assert_eq!(summary_count(&output, "written"), NUM_VALID as u64);
    assert_eq!(summary_count(&output, "skipped"), 0);
    assert_eq!(summary_count(&output, "rejected"), 0);
    assert_eq!(summary_count(&output, "malformed"), 3);

    let output = stack.run_cli(&["index", "describe", INDEX, "--json"]);
    assert_exit(&output, 0, "index describe");
    let described = parse_json(&output);
    assert_eq!(
        described["index"]["numDocuments"],
        NUM_VALID.to_string(),
        "{described}"
    );

    // A resumed load writes nothing and skips every document the index holds.
    let output = stack.run_cli(&[
        "load", fixture, "--index", INDEX, "--format", "arxiv", "--resume",
    ]);
    assert_exit(&output, 3, "resumed load (the malformed lines remain)");
    assert_eq!(summary_count(&output, "written"), 0);
    assert_eq!(summary_count(&output, "skipped"), NUM_VALID as u64);
    assert_eq!(summary_count(&output, "malformed"), 3);

    // Text queries need the searcher's embedding model. A searcher without text support returns
    // FAILED_PRECONDITION or UNIMPLEMENTED, and the checks below then query by a stored vector.
    let text_supported = search_text_or_report(&stack);

    let ids = search_ids(&stack, &["--similar-to", "1511.0789", "--exclude-self"]);
    assert!(!ids.is_empty());
    assert!(
        !ids.contains(&"1511.0789".to_owned()),
        "--exclude-self leaves the document out: {ids:?}"
    );

    // Filters: with k above the number of papers, every paper that passes the filter is a hit.
    let query = |text: &'static str| -> Vec<&'static str> {
        if text_supported {
            vec![text]
        } else {
            vec!["--similar-to", "1206.0456"]
        }
    };
    let filtered = |text: &'static str, filter: &[&'static str]| -> BTreeSet<String> {
        let mut args = query(text);
        args.extend_from_slice(filter);
        search_ids(&stack, &args).into_iter().collect()
    };
    assert_eq!(
        filtered("neural networks", &["--year", "2015..2018"]),
        ids_where(|year, _| (2015.0..=2018.0).contains(&year))
    );
    assert_eq!(
        filtered("string theory", &["--year", "1999"]),
        ids_where(|year, _| year == 1999.0),
        "old-style ids give 19YY"
    );
    assert_eq!(
        filtered("black holes", &["--category", "hep-th"]),
        ids_where(|_, categories| categories.contains(&"hep-th"))
    );
    assert_eq!(
        filtered("learning", &["--category", "cs.LG", "--year", "..2016"]),
        ids_where(|year, categories| categories.contains(&"cs.LG") && year <= 2016.0)
    );
    assert_eq!(
        filtered("physics", &["--primary-category", "quant-ph"]),
        ids_where(|_, categories| categories[0] == "quant-ph")
    );

    // The table for people: the haloes paper ranks first by its text or by its own vector.
    let mut args = if text_supported {
        vec!["search", "dark matter haloes"]
    } else {
        vec!["search", "--similar-to", "astro-ph/0203045"]
    };
    args.extend_from_slice(&["--index", INDEX, "-k", "2"]);
    let output = stack.run_cli(&args);
    assert_exit(&output, 0, "search table");
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert!(lines[0].starts_with("RANK  ID"), "{}", output.stdout);
    assert!(
        lines[1].contains("astro-ph/0203045"),
        "the haloes paper ranks first:\n{}",
        output.stdout
    );
    assert!(lines[1].contains("2002"), "{}", output.stdout);
    assert!(
        output.stdout.contains("of 10 matching documents"),
        "{}",
        output.stdout
    );

    let output = stack.run_cli(&["get", "hep-th/9905123", "--index", INDEX]);
    assert_exit(&output, 0, "get");
    assert!(
        output.stdout.contains("  year: 1999\n"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("  primary_category: hep-th\n"),
        "{}",
        output.stdout
    );

    let output = stack.run_cli(&["search", "anything", "--index", "missing"]);
    assert_exit(&output, 1, "search of a missing index");
    assert!(output.stderr.contains("NOT_FOUND"), "{}", output.stderr);
    assert!(
        output.stderr.contains("`docsearch index list`"),
        "the hint names the CLI's own command: {}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("IndexService/ListIndexes"),
        "the gRPC method is advice for grpcurl users: {}",
        output.stderr
    );
}

/// Articles for a mapping file: line 2 ends before its object closes and line 4 has no id.
const ARTICLES: &str = r#"{"id": "a1", "title": "Quantum entanglement of photons", "topic": "Physics"}
{"id": "a2", "title": "A record cut off"
{"id": "a3", "title": "Quantum computing with trapped ions", "topic": "Computing"}
{"title": "An article without an id", "topic": "Misc"}
{"id": "a5", "title": "Baroque music in Venice", "topic": "Arts"}
"#;

const ARTICLES_SCHEMA: &str =
    r#"{"fields": [{"name": "title", "text": {}}, {"name": "topic", "tag": {"separator": ","}}]}"#;

const ARTICLES_MAPPING: &str = "id = \"id\"\n[text]\ntitle = \"title\"\n[tag]\ntopic = \"topic\"\n";

/// An indexer that takes at most 2 documents per batch rejects a load with --batch-size 3 on the
/// first batch. The error advises a lower --batch-size and no --resume, which would fail the same
/// way. The search table heads the tag column with the field's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_load_explains_rejected_batch_size() {
    let dir = tempfile::Builder::new()
        .prefix("docsearch-e2e-")
        .tempdir()
        .expect("failed to create a temporary directory");
    let redis = RedisServer::start();
    let indexer_settings = [("DOCSEARCH__INGEST__MAX_BATCH_DOCUMENTS", "2".to_owned())];
    let (indexer, searcher) = tokio::join!(
        ServiceProcess::start(ServiceKind::Indexer, &redis, dir.path(), &indexer_settings),
        ServiceProcess::start(ServiceKind::Searcher, &redis, dir.path(), &[]),
    );
    let stack = Stack {
        indexer,
        searcher,
        redis,
        dir,
    };
    let write = |name: &str, contents: &str| {
        let path = stack.dir.path().join(name);
        std::fs::write(&path, contents).expect("failed to write a test file");
        path.to_str()
            .expect("the temporary path is UTF-8")
            .to_owned()
    };
    let schema = write("articles.schema.json", ARTICLES_SCHEMA);
    let mapping = write("articles.mapping.toml", ARTICLES_MAPPING);
    let articles = write("articles.jsonl", ARTICLES);

    let output = stack.run_cli(&["index", "create", "articles", "--schema", &schema]);
    assert_exit(&output, 0, "index create");

    let load = |batch_size: &str| {
        stack.run_cli(&[
            "load",
            &articles,
            "--index",
            "articles",
            "--mapping",
            &mapping,
            "--batch-size",
            batch_size,
        ])
    };
    let output = load("3");
    assert_exit(&output, 1, "load with batches above the indexer's limit");
    assert!(
        output.stderr.contains("INVALID_ARGUMENT"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("Lower --batch-size"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("--resume"),
        "resuming would fail the same way: {}",
        output.stderr
    );
    assert!(
        output.stderr.contains(
            "line 2: malformed record skipped: invalid JSON: the line ends before the JSON object closes"
        ),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains(
            "line 4: malformed record skipped: the record has no \"id\" field for the document id (the mapping sets id = \"id\")"
        ),
        "{}",
        output.stderr
    );

    let output = load("2");
    assert_exit(&output, 3, "load with the malformed lines skipped");
    assert_eq!(summary_count(&output, "written"), 3);
    assert_eq!(summary_count(&output, "malformed"), 2);

    let output = stack.run_cli(&["search", "quantum", "--index", "articles", "--mode", "text"]);
    assert_exit(&output, 0, "text search");
    let header = output.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("RANK  ID") && header.ends_with("TOPIC"),
        "the tag column is named after its field:\n{}",
        output.stdout
    );
}

#[test]
fn cli_reports_unreachable_service() {
    let output = Command::new(binary("docsearch"))
        .args(["index", "list", "--indexer", "http://127.0.0.1:1"])
        .env_remove("DOCSEARCH_INDEXER")
        .output()
        .expect("failed to run docsearch");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("failed to connect to the indexer at http://127.0.0.1:1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--indexer"),
        "the message says how to point at an indexer: {stderr}"
    );
}

#[test]
fn cli_usage_errors_exit_2() {
    let cases: [&[&str]; 5] = [
        &["load", "papers.txt", "--index", INDEX],
        &["load", "papers.jsonl", "--index", INDEX],
        &["search", "--index", INDEX],
        // Batches above the indexer's default limit are rejected before the file is read.
        &[
            "load",
            "papers.jsonl",
            "--index",
            INDEX,
            "--batch-size",
            "1001",
        ],
        &[
            "load",
            "papers.jsonl",
            "--index",
            INDEX,
            "--batch-size",
            "0",
        ],
    ];
    for args in cases {
        let output = Command::new(binary("docsearch"))
            .args(args)
            .output()
            .expect("failed to run docsearch");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
