//! Facets against a real Redis Stack, checked against counts over the KNN papers computed here.

use std::collections::BTreeMap;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;
use tonic::Code;

use crate::knn::{CATEGORIES, Paper, brute_force, filter, fixture, knn_request, query_vector};

fn count_request(facets: Vec<pb::FacetRequest>) -> pb::SearchRequest {
    pb::SearchRequest {
        vector: None,
        k: 0,
        count_only: true,
        facets,
        ..knn_request(&[], 0)
    }
}

fn tag_facet(limit: u32) -> pb::FacetRequest {
    pb::FacetRequest {
        field: "categories".to_owned(),
        limit,
        ..pb::FacetRequest::default()
    }
}

/// Counts the expected TAG buckets per category over `papers`: most frequent first, ties by value.
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

#[tokio::test]
async fn tag_facet_counts_every_value() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let response = fixture
        .search(count_request(vec![tag_facet(0)]))
        .await
        .unwrap();
    assert_eq!(response.facets.len(), 1);
    assert_eq!(response.facets[0].field, "categories");
    assert_eq!(
        buckets(&response.facets[0]),
        category_counts(papers.iter(), CATEGORIES.len())
    );
}

#[tokio::test]
async fn tag_facet_limit_keeps_most_frequent() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let response = fixture
        .search(count_request(vec![tag_facet(2)]))
        .await
        .unwrap();
    assert_eq!(
        buckets(&response.facets[0]),
        category_counts(papers.iter(), 2)
    );
}

#[tokio::test]
async fn facets_follow_filter() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let mut request = count_request(vec![tag_facet(10)]);
    request.filter = filter(Condition::NumericRange(pb::NumericRange {
        field: "year".to_owned(),
        min: Some(pb::NumericBound {
            value: 2010.0,
            exclusive: false,
        }),
        max: None,
    }));
    let response = fixture.search(request).await.unwrap();
    let kept = papers.iter().filter(|paper| paper.year >= 2010.0);
    assert_eq!(response.total as usize, kept.clone().count());
    assert_eq!(buckets(&response.facets[0]), category_counts(kept, 10));
}

#[tokio::test]
async fn numeric_boundaries_count_buckets() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let boundaries = vec![2003.0, 2010.0, 2010.5, 2020.0];
    let response = fixture
        .search(count_request(vec![pb::FacetRequest {
            field: "year".to_owned(),
            boundaries: boundaries.clone(),
            ..pb::FacetRequest::default()
        }]))
        .await
        .unwrap();
    let expected: Vec<(String, u64)> = boundaries
        .windows(2)
        .map(|pair| {
            let count = papers
                .iter()
                .filter(|paper| paper.year >= pair[0] && paper.year < pair[1])
                .count() as u64;
            (format!("[{}, {})", pair[0], pair[1]), count)
        })
        .collect();
    assert_eq!(buckets(&response.facets[0]), expected);
    assert_eq!(response.facets[0].buckets[1].min, Some(2010.0));
    assert_eq!(response.facets[0].buckets[1].max, Some(2010.5));
}

#[tokio::test]
async fn numeric_interval_counts_buckets() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let response = fixture
        .search(count_request(vec![pb::FacetRequest {
            field: "year".to_owned(),
            interval: 7.0,
            ..pb::FacetRequest::default()
        }]))
        .await
        .unwrap();
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for paper in &papers {
        *counts.entry((paper.year / 7.0).floor() as i64).or_default() += 1;
    }
    let expected: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(number, count)| (format!("[{}, {})", number * 7, (number + 1) * 7), count))
        .collect();
    assert_eq!(buckets(&response.facets[0]), expected);
}

#[tokio::test]
async fn tiny_interval_is_invalid() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    for interval in [1e-300, 1e-320, 1e-14] {
        let request = count_request(vec![
            tag_facet(0),
            pb::FacetRequest {
                field: "year".to_owned(),
                interval,
                ..pb::FacetRequest::default()
            },
        ]);
        let status = fixture.search_error(request, Code::InvalidArgument).await;
        assert!(
            status.message().starts_with("invalid facets[1].interval: "),
            "{interval}: {}",
            status.message()
        );
        assert!(
            status
                .message()
                .contains("is too small for the values of \"year\""),
            "{interval}: {}",
            status.message()
        );
    }
    // Years from 2000 to 2024 are about 2^41 intervals of 1e-9, which FLOAT64 still separates.
    let response = fixture
        .search(count_request(vec![pb::FacetRequest {
            field: "year".to_owned(),
            interval: 1e-9,
            ..pb::FacetRequest::default()
        }]))
        .await
        .unwrap();
    for bucket in &response.facets[0].buckets {
        assert!(bucket.max > bucket.min, "{bucket:?}");
    }
}

#[tokio::test]
async fn text_facets_count_matches() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let request = pb::SearchRequest {
        index: crate::knn::INDEX.to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: "quantum".to_owned(),
        k: 1,
        facets: vec![tag_facet(10)],
        ..pb::SearchRequest::default()
    };
    let response = fixture.search(request).await.unwrap();
    let matching = papers.iter().filter(|paper| paper.topic == "quantum");
    assert_eq!(response.total as usize, matching.clone().count());
    assert_eq!(buckets(&response.facets[0]), category_counts(matching, 10));
}

#[tokio::test]
async fn range_facets_count_documents_within() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(17);
    let threshold = 0.6;
    let request = pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            distance_threshold: threshold,
            ..pb::VectorOptions::default()
        }),
        facets: vec![tag_facet(10)],
        ..knn_request(&query, 1)
    };
    let response = fixture.search(request).await.unwrap();
    let ranked = brute_force(&papers, &query, |_| true);
    assert!(
        ranked
            .iter()
            .all(|(_, distance)| (distance - threshold).abs() > 1e-4),
        "no paper lies on the threshold"
    );
    let within: Vec<&str> = ranked
        .iter()
        .filter(|(_, distance)| *distance <= threshold)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(response.total as usize, within.len());
    let matching = papers
        .iter()
        .filter(|paper| within.contains(&paper.id.as_str()));
    assert_eq!(buckets(&response.facets[0]), category_counts(matching, 10));
}

#[tokio::test]
async fn excluded_document_leaves_total_and_facets() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let source = &papers[3];
    let others: Vec<&Paper> = papers
        .iter()
        .filter(|paper| paper.id != source.id)
        .collect();
    let similar = |mode: pb::SearchMode, count_only: bool| pb::SearchRequest {
        mode: mode as i32,
        vector: None,
        similar_to_id: source.id.clone(),
        exclude_similar_document: true,
        count_only,
        k: if count_only { 0 } else { 5 },
        // Cosine distances are at most 2, so the RANGE threshold takes in every paper.
        vector_options: (mode == pb::SearchMode::Range).then(|| pb::VectorOptions {
            distance_threshold: 2.0,
            ..pb::VectorOptions::default()
        }),
        facets: vec![tag_facet(10)],
        ..knn_request(&[], 5)
    };
    for mode in [pb::SearchMode::Knn, pb::SearchMode::Range] {
        for count_only in [false, true] {
            let case = format!("{mode:?}, count_only {count_only}");
            let response = fixture.search(similar(mode, count_only)).await.unwrap();
            assert_eq!(
                response.total as usize,
                others.len(),
                "{case}: total leaves out the excluded paper"
            );
            assert_eq!(
                buckets(&response.facets[0]),
                category_counts(others.iter().copied(), 10),
                "{case}: facets leave out the excluded paper"
            );
        }
    }
}
