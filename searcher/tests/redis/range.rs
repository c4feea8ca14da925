//! RANGE queries against a real Redis Stack, checked against the brute-force distances of the KNN
//! papers.

use std::collections::BTreeSet;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;

use crate::common::hit_ids;
use crate::knn::{Paper, brute_force, filter, fixture, knn_request, query_vector, tags};

/// Distances this close to the threshold may fall on either side of it in FLOAT32.
const BOUNDARY: f64 = 1e-4;

fn range_request(query: &[f32], threshold: f64, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        mode: pb::SearchMode::Range as i32,
        vector_options: Some(pb::VectorOptions {
            distance_threshold: threshold,
            ..pb::VectorOptions::default()
        }),
        ..knn_request(query, k)
    }
}

/// Splits ranked ids into those within `threshold`, nearest first, and those too close to it to judge.
fn within<'p>(ranked: &[(&'p str, f64)], threshold: f64) -> (Vec<&'p str>, BTreeSet<&'p str>) {
    let inside = ranked
        .iter()
        .filter(|(_, distance)| *distance <= threshold - BOUNDARY)
        .map(|(id, _)| *id)
        .collect();
    let unclear = ranked
        .iter()
        .filter(|(_, distance)| (distance - threshold).abs() < BOUNDARY)
        .map(|(id, _)| *id)
        .collect();
    (inside, unclear)
}

#[tokio::test]
async fn range_matches_brute_force() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    for seed in [3, 4, 5] {
        let query = query_vector(seed);
        let ranked = brute_force(&papers, &query, |_| true);
        for threshold in [0.3, 0.6, 1.0] {
            let (expected, unclear) = within(&ranked, threshold);
            let response = fixture
                .search(range_request(&query, threshold, 1000))
                .await
                .unwrap();
            let returned: Vec<&str> = hit_ids(&response)
                .into_iter()
                .filter(|id| !unclear.contains(id))
                .collect();
            assert_eq!(returned, expected, "seed {seed}, threshold {threshold}");
            assert_eq!(
                response.total as usize,
                response.hits.len(),
                "seed {seed}, threshold {threshold}: total counts the hits within the threshold"
            );
            for hit in &response.hits {
                let distance = f64::from(hit.distance.expect("RANGE hits carry a distance"));
                assert!(
                    distance <= threshold + BOUNDARY,
                    "{} lies at {distance}, beyond {threshold}",
                    hit.id
                );
                assert_eq!(hit.similarity, Some(1.0 - hit.distance.unwrap()));
            }
        }
    }
}

#[tokio::test]
async fn range_applies_filter() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(11);
    let keep = |paper: &Paper| paper.categories.contains(&"cs.LG");
    let ranked = brute_force(&papers, &query, keep);
    let (expected, unclear) = within(&ranked, 0.8);
    let mut request = range_request(&query, 0.8, 1000);
    request.filter = filter(Condition::TagAnyOf(tags("categories", &["cs.LG"])));
    let response = fixture.search(request).await.unwrap();
    let returned: Vec<&str> = hit_ids(&response)
        .into_iter()
        .filter(|id| !unclear.contains(id))
        .collect();
    assert_eq!(returned, expected);
    assert_eq!(response.mode, pb::SearchMode::Range as i32);
}

#[tokio::test]
async fn range_pages_partition_results() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(21);
    let all = fixture
        .search(range_request(&query, 0.9, 1000))
        .await
        .unwrap();
    assert!(all.hits.len() > 10, "the threshold takes in several pages");
    let mut paged: Vec<String> = Vec::new();
    let mut offset = 0;
    while offset < all.hits.len() {
        let mut request = range_request(&query, 0.9, 7);
        request.offset = offset as u32;
        let page = fixture.search(request).await.unwrap();
        assert_eq!(page.total, all.total, "offset {offset}: total");
        paged.extend(page.hits.into_iter().map(|hit| hit.id));
        offset += 7;
    }
    let all_ids: Vec<String> = all.hits.into_iter().map(|hit| hit.id).collect();
    assert_eq!(paged, all_ids);
}

#[tokio::test]
async fn range_sorts_by_field() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(8);
    let mut request = range_request(&query, 0.9, 1000);
    request.sort_by = Some(pb::SortBy {
        field: "year".to_owned(),
        descending: true,
    });
    let sorted = fixture.search(request).await.unwrap();
    let unsorted = fixture
        .search(range_request(&query, 0.9, 1000))
        .await
        .unwrap();
    let year_of = |id: &str| papers.iter().find(|paper| paper.id == id).unwrap().year;
    let years: Vec<f64> = sorted.hits.iter().map(|hit| year_of(&hit.id)).collect();
    assert!(
        years.windows(2).all(|pair| pair[0] >= pair[1]),
        "years descend: {years:?}"
    );
    let sorted_ids: BTreeSet<&str> = hit_ids(&sorted).into_iter().collect();
    let unsorted_ids: BTreeSet<&str> = hit_ids(&unsorted).into_iter().collect();
    assert_eq!(sorted_ids, unsorted_ids, "sorting keeps the same documents");
}

#[tokio::test]
async fn range_excludes_similar_document() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let source = &papers[5];
    let request = |exclude: bool| pb::SearchRequest {
        vector: None,
        similar_to_id: source.id.clone(),
        exclude_similar_document: exclude,
        ..range_request(&[], 0.7, 1000)
    };
    let included = fixture.search(request(false)).await.unwrap();
    assert_eq!(
        included.hits[0].id, source.id,
        "the document is nearest to itself"
    );
    let excluded = fixture.search(request(true)).await.unwrap();
    assert!(
        !hit_ids(&excluded).contains(&source.id.as_str()),
        "the excluded document is left out"
    );
    assert_eq!(excluded.total, included.total - 1);
    assert_eq!(excluded.hits.len(), included.hits.len() - 1);
}

#[tokio::test]
async fn range_count_only_counts() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(13);
    let ranked = brute_force(&papers, &query, |_| true);
    let (expected, unclear) = within(&ranked, 0.5);
    let mut request = range_request(&query, 0.5, 0);
    request.count_only = true;
    let response = fixture.search(request).await.unwrap();
    assert!(response.hits.is_empty());
    let total = response.total as usize;
    assert!(
        (expected.len()..=expected.len() + unclear.len()).contains(&total),
        "total {total} vs {} within the threshold",
        expected.len()
    );
}
