//! Search by meaning on real arXiv papers: a fixed subset of the sample named by
//! `DOCSEARCH_ARXIV_SAMPLE`, loaded once through the CLI, the indexer embedding every paper. Skips,
//! saying so, when the sample is not there.

mod quality;

use std::collections::HashSet;

use docsearch_e2e::arxiv::{ArxivFixture, INDEX, load_fixture};
use docsearch_proto::v1 as pb;
use docsearch_proto::v1::search_service_client::SearchServiceClient;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use tonic::transport::Channel;

/// Papers whose exact title is searched.
const NUM_TITLE_QUERIES: usize = 200;
/// Share of title queries that must find their paper in the top 10.
const MIN_TITLE_RECALL: f64 = 0.95;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arxiv_sample_searchable_by_meaning() {
    let Some(fixture) = load_fixture().await else {
        return;
    };
    check_load_report(&fixture).await;
    let mut search = fixture.stack.search_client().await;
    check_title_queries(&fixture, &mut search).await;
    check_more_like_this(&fixture, &mut search).await;
    check_filters(&fixture, &mut search).await;
    quality::run_all(&fixture).await;
}

/// The load reports every paper written and none rejected, and the index counts them.
async fn check_load_report(fixture: &ArxivFixture) {
    let load = &fixture.load;
    assert_eq!(
        load.code,
        Some(0),
        "docsearch load failed:\n{}\n{}",
        load.stdout,
        load.stderr
    );
    // The summary aligns its numbers with spaces; fold them to compare words.
    let summary = load.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    let written = format!("written: {} documents", fixture.papers.len());
    assert!(
        summary.contains(&written),
        "the load summary reports {written:?}:\n{}",
        load.stdout
    );
    assert!(
        summary.contains("rejected: 0 documents"),
        "the load summary reports no rejected document:\n{}",
        load.stdout
    );
    assert!(
        summary.contains("malformed: 0 records"),
        "the load summary reports no malformed record:\n{}",
        load.stdout
    );

    let mut admin = fixture.stack.index_client().await;
    let info = admin
        .describe_index(pb::DescribeIndexRequest {
            name: INDEX.to_owned(),
        })
        .await
        .expect("DescribeIndex")
        .into_inner()
        .index
        .expect("index info");
    assert_eq!(
        info.num_documents as usize,
        fixture.papers.len(),
        "the index counts every paper"
    );
    assert_eq!(
        info.num_indexing_failures, 0,
        "RediSearch indexed every paper"
    );
}

fn text_query(text: &str, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Knn as i32,
        text: text.to_owned(),
        k,
        return_fields: vec![
            "title".to_owned(),
            "year".to_owned(),
            "categories".to_owned(),
        ],
        ..Default::default()
    }
}

/// Searching a paper's exact title by meaning finds the paper in the top 10.
async fn check_title_queries(fixture: &ArxivFixture, search: &mut SearchServiceClient<Channel>) {
    let mut rng = StdRng::seed_from_u64(11);
    let sampled: Vec<_> = fixture
        .papers
        .choose_multiple(&mut rng, NUM_TITLE_QUERIES)
        .collect();
    let mut misses = Vec::new();
    for paper in &sampled {
        let response = search
            .search(text_query(&paper.title, 10))
            .await
            .expect("title search")
            .into_inner();
        if !response.hits.iter().any(|hit| hit.id == paper.id) {
            misses.push(paper.title.clone());
        }
    }
    let recall = 1.0 - misses.len() as f64 / sampled.len() as f64;
    assert!(
        recall >= MIN_TITLE_RECALL,
        "exact titles found their paper in the top 10 for {recall:.3} of {} queries; missed: {misses:#?}",
        sampled.len()
    );
}

/// More-like-this returns the paper itself first, and leaves it out on request.
async fn check_more_like_this(fixture: &ArxivFixture, search: &mut SearchServiceClient<Channel>) {
    for paper in fixture.papers.iter().step_by(fixture.papers.len() / 20) {
        let request = pb::SearchRequest {
            index: INDEX.to_owned(),
            similar_to_id: paper.id.clone(),
            k: 5,
            ..Default::default()
        };
        let response = search
            .search(request.clone())
            .await
            .expect("more like this")
            .into_inner();
        assert_eq!(response.hits[0].id, paper.id, "a paper is most like itself");
        assert!(
            response.hits[0].distance.expect("distance") < 1e-4,
            "its distance to itself is 0"
        );

        let excluded = pb::SearchRequest {
            exclude_similar_document: true,
            ..request
        };
        let response = search
            .search(excluded)
            .await
            .expect("more like this, excluded")
            .into_inner();
        assert_eq!(
            response.hits.len(),
            5,
            "k hits come back without the paper itself"
        );
        assert!(
            response.hits.iter().all(|hit| hit.id != paper.id),
            "the paper itself is left out"
        );
    }
}

/// Category and year-range filters return only matching papers, and count them all.
async fn check_filters(fixture: &ArxivFixture, search: &mut SearchServiceClient<Channel>) {
    use pb::filter::Condition;
    let by_id: std::collections::HashMap<&str, &docsearch_e2e::arxiv::Paper> = fixture
        .papers
        .iter()
        .map(|paper| (paper.id.as_str(), paper))
        .collect();

    for (category, years) in [
        ("hep-th", (2010, 2014)),
        ("math.CO", (2008, 2017)),
        ("quant-ph", (2012, 2012)),
    ] {
        let filter = pb::Filter {
            condition: Some(Condition::AllOf(pb::FilterList {
                filters: vec![
                    pb::Filter {
                        condition: Some(Condition::TagAnyOf(pb::TagValues {
                            field: "categories".to_owned(),
                            values: vec![category.to_owned()],
                        })),
                    },
                    pb::Filter {
                        condition: Some(Condition::NumericRange(pb::NumericRange {
                            field: "year".to_owned(),
                            min: Some(pb::NumericBound {
                                value: years.0 as f64,
                                exclusive: false,
                            }),
                            max: Some(pb::NumericBound {
                                value: years.1 as f64,
                                exclusive: false,
                            }),
                        })),
                    },
                ],
            })),
        };
        let matching: HashSet<&str> = fixture
            .papers
            .iter()
            .filter(|paper| {
                paper.categories.iter().any(|c| c == category)
                    && (years.0..=years.1).contains(&paper.year)
            })
            .map(|paper| paper.id.as_str())
            .collect();
        let mut request = text_query("symmetry breaking and phase transitions", 50);
        request.filter = Some(filter);
        let response = search
            .search(request)
            .await
            .expect("filtered search")
            .into_inner();

        assert_eq!(
            response.total as usize,
            matching.len(),
            "{category} {years:?}: total counts the matching papers"
        );
        assert_eq!(
            response.hits.len(),
            matching.len().min(50),
            "{category} {years:?}: number of hits"
        );
        for hit in &response.hits {
            let paper = by_id[hit.id.as_str()];
            assert!(
                paper.categories.iter().any(|c| c == category),
                "{} is not in {category}",
                hit.id
            );
            assert!(
                (years.0..=years.1).contains(&paper.year),
                "{} is from {}, outside {years:?}",
                hit.id,
                paper.year
            );
        }
    }
}
