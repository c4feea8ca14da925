//! Search quality checks on the arXiv fixture: typos, hybrid ranking, suggestions and facets. Every
//! expectation is computed here from the papers as the fixture parsed them.

use std::collections::BTreeMap;

use docsearch_e2e::arxiv::{ArxivFixture, INDEX, Paper};
use docsearch_proto::v1 as pb;
use docsearch_proto::v1::search_service_client::SearchServiceClient;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tonic::transport::Channel;

/// Titles searched with one typo in each word of 4 or more letters.
const NUM_TYPO_QUERIES: usize = 100;
/// Share of misspelled titles whose paper must be in the top 10.
const MIN_TYPO_TOP10_RATE: f64 = 0.90;
/// Titles searched exactly.
const NUM_EXACT_QUERIES: usize = 200;
/// Share of exact titles whose first hit must carry that title.
const MIN_EXACT_TOP1_RATE: f64 = 0.98;
/// Titles whose first 12 characters are completed.
const NUM_PREFIX_QUERIES: usize = 100;
/// Three-letter prefixes completed, with and without fuzzy matching.
const NUM_SHORT_PREFIXES: usize = 60;
/// Most suggestions one Suggest request returns.
const MAX_SUGGESTIONS: u32 = 100;

/// Runs every check of this module.
pub async fn run_all(fixture: &ArxivFixture) {
    check_typo_titles(fixture).await;
    check_exact_titles(fixture).await;
    check_title_prefix_suggestions(fixture).await;
    check_short_prefix_suggestions(fixture).await;
    check_facets(fixture).await;
}

async fn client(fixture: &ArxivFixture) -> SearchServiceClient<Channel> {
    fixture.stack.search_client().await
}

fn hybrid_request(text: &str, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Hybrid as i32,
        text: text.to_owned(),
        k,
        return_fields: vec!["title".to_owned()],
        ..Default::default()
    }
}

fn title_of(hit: &pb::SearchHit) -> Option<&str> {
    match hit.fields.get("title")?.kind.as_ref()? {
        pb::field_value::Kind::Text(title) => Some(title),
        _ => None,
    }
}

fn random_letter(rng: &mut StdRng) -> char {
    char::from(b'a' + rng.random_range(0..26u8))
}

/// Makes one random edit to a word: a substitution, insertion, deletion or transposition of letters.
fn misspell(word: &str, rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let position = rng.random_range(0..chars.len());
    match rng.random_range(0..4) {
        0 => {
            // One of the 25 letters other than the current one (compared in lower case).
            let current = chars[position].to_ascii_lowercase();
            let mut replacement = char::from(b'a' + rng.random_range(0..25u8));
            if current.is_ascii_lowercase() && replacement >= current {
                replacement = char::from(replacement as u8 + 1);
            }
            chars[position] = replacement;
        }
        1 => chars.insert(position, random_letter(rng)),
        2 => {
            chars.remove(position);
        }
        _ => {
            // Swap with the next letter, or with the previous one at the end of the word.
            let other = if position + 1 < chars.len() {
                position + 1
            } else {
                position - 1
            };
            if chars[position] == chars[other] {
                chars[position] = random_letter(rng);
            } else {
                chars.swap(position, other);
            }
        }
    }
    chars.into_iter().collect()
}

/// Puts one typo in every word of 4 or more ASCII letters.
fn misspell_title(title: &str, rng: &mut StdRng) -> String {
    title
        .split(' ')
        .map(|word| {
            if word.len() >= 4 && word.chars().all(|c| c.is_ascii_alphabetic()) {
                misspell(word, rng)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Returns whether a hit is the paper, or another paper with the same title.
fn finds(hit: &pb::SearchHit, paper: &Paper) -> bool {
    hit.id == paper.id || title_of(hit) == Some(paper.title.as_str())
}

/// HYBRID search with the default fuzzy matching finds a paper from its title with one typo in every
/// word of 4 or more letters.
pub async fn check_typo_titles(fixture: &ArxivFixture) {
    let mut client = client(fixture).await;
    let mut rng = StdRng::seed_from_u64(41);
    let sampled: Vec<&Paper> = fixture
        .papers
        .choose_multiple(&mut rng, NUM_TYPO_QUERIES)
        .collect();
    let mut misses = Vec::new();
    for paper in &sampled {
        let query = misspell_title(&paper.title, &mut rng);
        let response = client
            .search(hybrid_request(&query, 10))
            .await
            .unwrap_or_else(|status| panic!("HYBRID search for {query:?} failed: {status}"))
            .into_inner();
        if !response.hits.iter().any(|hit| finds(hit, paper)) {
            misses.push((query, paper.title.clone()));
        }
    }
    let rate = 1.0 - misses.len() as f64 / sampled.len() as f64;
    eprintln!(
        "misspelled titles: the paper is in the top 10 for {rate:.3} of {} queries",
        sampled.len()
    );
    assert!(
        rate >= MIN_TYPO_TOP10_RATE,
        "misspelled titles found their paper in the top 10 for {rate:.3} of {} queries; missed (query, title): {misses:#?}",
        sampled.len()
    );
}

/// HYBRID search for an exact title puts a paper with that title first.
pub async fn check_exact_titles(fixture: &ArxivFixture) {
    let mut client = client(fixture).await;
    let mut rng = StdRng::seed_from_u64(42);
    let sampled: Vec<&Paper> = fixture
        .papers
        .choose_multiple(&mut rng, NUM_EXACT_QUERIES)
        .collect();
    let mut misses = Vec::new();
    for paper in &sampled {
        let response = client
            .search(hybrid_request(&paper.title, 1))
            .await
            .unwrap_or_else(|status| panic!("HYBRID search for {:?} failed: {status}", paper.title))
            .into_inner();
        let first = response.hits.first();
        if first.and_then(title_of) != Some(paper.title.as_str()) {
            misses.push((
                paper.title.clone(),
                first.and_then(title_of).map(str::to_owned),
            ));
        }
    }
    let rate = 1.0 - misses.len() as f64 / sampled.len() as f64;
    eprintln!(
        "exact titles: a paper with the title ranks first for {rate:.3} of {} queries",
        sampled.len()
    );
    assert!(
        rate >= MIN_EXACT_TOP1_RATE,
        "exact titles ranked first for {rate:.3} of {} queries; missed (title, first hit): {misses:#?}",
        sampled.len()
    );
}

async fn suggest(
    client: &mut SearchServiceClient<Channel>,
    prefix: &str,
    fuzzy: bool,
) -> Vec<pb::Suggestion> {
    client
        .suggest(pb::SuggestRequest {
            index: INDEX.to_owned(),
            prefix: prefix.to_owned(),
            limit: MAX_SUGGESTIONS,
            fuzzy,
        })
        .await
        .unwrap_or_else(|status| panic!("Suggest {prefix:?} failed: {status}"))
        .into_inner()
        .suggestions
}

/// Returns the first `n` characters of a title.
fn head(title: &str, n: usize) -> String {
    title.chars().take(n).collect()
}

/// Checks that the first 12 characters of a title complete to a list that contains the title, whenever
/// at most `MAX_SUGGESTIONS` titles start with them.
pub async fn check_title_prefix_suggestions(fixture: &ArxivFixture) {
    let mut client = client(fixture).await;
    let mut rng = StdRng::seed_from_u64(43);
    let mut num_checked = 0;
    for paper in fixture.papers.choose_multiple(&mut rng, NUM_PREFIX_QUERIES) {
        let prefix = head(&paper.title, 12);
        let folded = prefix.to_lowercase();
        let num_completions = fixture
            .papers
            .iter()
            .filter(|other| other.title.to_lowercase().starts_with(&folded))
            .count();
        if num_completions > MAX_SUGGESTIONS as usize {
            continue;
        }
        num_checked += 1;
        let suggestions = suggest(&mut client, &prefix, false).await;
        assert!(
            suggestions
                .iter()
                .any(|suggestion| suggestion.text == paper.title),
            "{prefix:?} completes to {:?}, which lacks {:?}",
            suggestions.iter().map(|s| &s.text).collect::<Vec<_>>(),
            paper.title
        );
        let holder = suggestions
            .iter()
            .find(|suggestion| suggestion.text == paper.title)
            .map(|suggestion| suggestion.document_id.as_str());
        assert!(
            fixture
                .papers
                .iter()
                .any(|other| Some(other.id.as_str()) == holder && other.title == paper.title),
            "the suggestion {:?} names {holder:?}, a paper with that title",
            paper.title
        );
    }
    assert!(
        num_checked >= NUM_PREFIX_QUERIES / 2,
        "only {num_checked} prefixes had few enough completions to check"
    );
}

/// Levenshtein distance over characters.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Returns whether some prefix of `text` lies within edit distance 1 of `prefix`, both lower-cased.
fn starts_near(text: &str, prefix: &str) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let prefix: Vec<char> = prefix.to_lowercase().chars().collect();
    (prefix.len().saturating_sub(1)..=prefix.len() + 1)
        .filter(|&len| len <= text.len())
        .any(|len| levenshtein(&text[..len], &prefix) <= 1)
}

/// Checks that every completion of a three-letter prefix starts with it, case-insensitively, or, with
/// fuzzy matching, starts within edit distance 1 of it.
pub async fn check_short_prefix_suggestions(fixture: &ArxivFixture) {
    let mut client = client(fixture).await;
    let mut rng = StdRng::seed_from_u64(44);
    let mut prefixes: Vec<String> = Vec::new();
    while prefixes.len() < NUM_SHORT_PREFIXES {
        let paper = fixture
            .papers
            .choose(&mut rng)
            .expect("the fixture has papers");
        let prefix = head(&paper.title, 3);
        if prefix.trim().chars().count() >= 2 && !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    for prefix in &prefixes {
        let exact = suggest(&mut client, prefix, false).await;
        assert!(
            !exact.is_empty(),
            "{prefix:?} completes to at least its own title"
        );
        let folded = prefix.to_lowercase();
        for suggestion in &exact {
            assert!(
                suggestion.text.to_lowercase().starts_with(&folded),
                "{:?} does not start with {prefix:?}",
                suggestion.text
            );
        }

        let fuzzy = suggest(&mut client, prefix, true).await;
        assert!(
            !fuzzy.is_empty(),
            "{prefix:?} completes with fuzzy matching too"
        );
        for suggestion in &fuzzy {
            assert!(
                starts_near(&suggestion.text, prefix),
                "{:?} does not start within one edit of {prefix:?}",
                suggestion.text
            );
        }
    }
}

/// Counts the TAG buckets expected over `papers`: most frequent first, ties by value.
fn category_counts<'p>(
    papers: impl Iterator<Item = &'p Paper>,
    limit: usize,
) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for paper in papers {
        for category in &paper.categories {
            *counts.entry(category).or_default() += 1;
        }
    }
    let mut sorted: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(value, count)| (value.to_owned(), count))
        .collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted.truncate(limit);
    sorted
}

fn buckets(result: &pb::FacetResult) -> Vec<(String, u64)> {
    result
        .buckets
        .iter()
        .map(|bucket| (bucket.value.clone(), bucket.count))
        .collect()
}

/// Category and year facets equal the counts over the papers, with and without a filter.
pub async fn check_facets(fixture: &ArxivFixture) {
    let mut client = client(fixture).await;
    let boundaries: Vec<f64> = (1990..=2020).step_by(5).map(f64::from).collect();
    let facets = [
        pb::FacetRequest {
            field: "categories".to_owned(),
            limit: 1000,
            ..Default::default()
        },
        pb::FacetRequest {
            field: "year".to_owned(),
            boundaries: boundaries.clone(),
            ..Default::default()
        },
        pb::FacetRequest {
            field: "year".to_owned(),
            interval: 1.0,
            ..Default::default()
        },
    ];
    let hep_th = pb::Filter {
        condition: Some(pb::filter::Condition::TagAnyOf(pb::TagValues {
            field: "primary_category".to_owned(),
            values: vec!["hep-th".to_owned()],
        })),
    };
    for filter in [None, Some(hep_th)] {
        let case = if filter.is_some() {
            "hep-th papers"
        } else {
            "all papers"
        };
        let keep = |paper: &&Paper| filter.is_none() || paper.primary_category == "hep-th";
        let papers: Vec<&Paper> = fixture.papers.iter().filter(keep).collect();
        // Facets are requested on the year field twice, so the second goes in its own request.
        let response = client
            .search(pb::SearchRequest {
                index: INDEX.to_owned(),
                count_only: true,
                filter: filter.clone(),
                facets: facets[..2].to_vec(),
                ..Default::default()
            })
            .await
            .expect("facet search")
            .into_inner();
        assert_eq!(response.total as usize, papers.len(), "{case}: total");
        assert_eq!(
            buckets(&response.facets[0]),
            category_counts(papers.iter().copied(), 1000),
            "{case}: categories"
        );
        let expected_years: Vec<(String, u64)> = boundaries
            .windows(2)
            .map(|pair| {
                let count = papers
                    .iter()
                    .filter(|paper| (paper.year as f64) >= pair[0] && (paper.year as f64) < pair[1])
                    .count();
                (format!("[{}, {})", pair[0], pair[1]), count as u64)
            })
            .collect();
        assert_eq!(
            buckets(&response.facets[1]),
            expected_years,
            "{case}: year buckets"
        );

        let per_year = client
            .search(pb::SearchRequest {
                index: INDEX.to_owned(),
                count_only: true,
                filter: filter.clone(),
                facets: facets[2..].to_vec(),
                ..Default::default()
            })
            .await
            .expect("facet search")
            .into_inner();
        let mut years: BTreeMap<i64, u64> = BTreeMap::new();
        for paper in &papers {
            *years.entry(paper.year).or_default() += 1;
        }
        let expected: Vec<(String, u64)> = years
            .into_iter()
            .map(|(year, count)| (format!("[{year}, {})", year + 1), count))
            .collect();
        assert_eq!(
            buckets(&per_year.facets[0]),
            expected,
            "{case}: one bucket per year"
        );
    }
}
