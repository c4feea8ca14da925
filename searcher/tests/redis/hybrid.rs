//! HYBRID queries against a real Redis Stack: the fused ranking equals a fusion computed here from the
//! TEXT and KNN results of the same query, and lucky returns its best hit.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::filter::Condition;

use crate::common::hit_ids;
use crate::knn::{INDEX, filter, fixture, knn_request, query_vector, tags};

const WINDOW: u32 = 40;
const TEXT: &str = "quantum galaxy";

fn hybrid_request(query: &[f32], fusion: pb::fusion::Method, k: u32) -> pb::SearchRequest {
    pb::SearchRequest {
        mode: pb::SearchMode::Hybrid as i32,
        text: TEXT.to_owned(),
        fusion: Some(pb::Fusion {
            method: Some(fusion),
        }),
        ..knn_request(query, k)
    }
}

fn text_leg_request() -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: TEXT.to_owned(),
        k: WINDOW,
        return_fields: vec!["year".to_owned()],
        ..pb::SearchRequest::default()
    }
}

/// Fuses two legs by reciprocal rank with constant 60, best first, ties by id.
fn rrf(vector: &[pb::SearchHit], text: &[pb::SearchHit]) -> Vec<(String, f64)> {
    let mut scores: HashMap<String, f64> = HashMap::new();
    for leg in [vector, text] {
        for (position, hit) in leg.iter().enumerate() {
            *scores.entry(hit.id.clone()).or_default() += 1.0 / (60.0 + (position + 1) as f64);
        }
    }
    let mut fused: Vec<(String, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

#[tokio::test]
async fn rrf_equals_fusion_of_legs() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(31);
    let vector_leg = fixture
        .search(knn_request(&query, WINDOW))
        .await
        .unwrap()
        .hits;
    let text_leg = fixture.search(text_leg_request()).await.unwrap().hits;
    let expected = rrf(&vector_leg, &text_leg);

    let method = pb::fusion::Method::Rrf(pb::ReciprocalRankFusion {
        constant: 0,
        window: WINDOW,
    });
    let response = fixture
        .search(hybrid_request(&query, method, 20))
        .await
        .unwrap();
    assert_eq!(response.mode, pb::SearchMode::Hybrid as i32);
    assert_eq!(response.hits.len(), 20);
    for (position, (hit, (id, score))) in response.hits.iter().zip(&expected).enumerate() {
        assert_eq!(&hit.id, id, "rank {position}");
        assert!((hit.score - score).abs() < 1e-12, "score of {id}");
        let vector_rank = vector_leg.iter().position(|leg| leg.id == hit.id);
        assert_eq!(
            hit.vector_rank,
            vector_rank.map(|p| p as u32 + 1),
            "vector rank of {id}"
        );
        let text_rank = text_leg.iter().position(|leg| leg.id == hit.id);
        assert_eq!(
            hit.text_rank,
            text_rank.map(|p| p as u32 + 1),
            "text rank of {id}"
        );
        if let Some(p) = text_rank {
            assert_eq!(
                hit.text_score,
                Some(text_leg[p].score),
                "text score of {id}"
            );
        }
        if let Some(p) = vector_rank {
            assert_eq!(hit.distance, vector_leg[p].distance, "distance of {id}");
        }
    }
    assert_eq!(
        response.total, 240,
        "total counts every paper without a filter"
    );
}

#[tokio::test]
async fn linear_equals_fusion_of_legs() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(32);
    let vector_leg = fixture
        .search(knn_request(&query, WINDOW))
        .await
        .unwrap()
        .hits;
    let text_leg = fixture.search(text_leg_request()).await.unwrap().hits;
    let best_text = text_leg.iter().map(|hit| hit.score).fold(0.0, f64::max);
    let weight = 0.3;
    let mut scores: HashMap<String, f64> = HashMap::new();
    for hit in &vector_leg {
        let distance = f64::from(hit.distance.unwrap());
        *scores.entry(hit.id.clone()).or_default() += weight * (1.0 - distance / 2.0);
    }
    for hit in &text_leg {
        *scores.entry(hit.id.clone()).or_default() += (1.0 - weight) * hit.score / best_text;
    }
    let mut expected: Vec<(String, f64)> = scores.into_iter().collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let method = pb::fusion::Method::Linear(pb::LinearFusion {
        vector_weight: Some(weight),
        window: WINDOW,
    });
    let response = fixture
        .search(hybrid_request(&query, method, 30))
        .await
        .unwrap();
    let returned: Vec<&str> = hit_ids(&response);
    let expected_ids: Vec<&str> = expected
        .iter()
        .take(30)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(returned, expected_ids);
    for (hit, (id, score)) in response.hits.iter().zip(&expected) {
        assert!(
            (hit.score - score).abs() < 1e-9,
            "score of {id}: {} vs {score}",
            hit.score
        );
    }
}

#[tokio::test]
async fn hybrid_filter_applies_to_both_legs() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(33);
    let mut request = hybrid_request(
        &query,
        pb::fusion::Method::Rrf(pb::ReciprocalRankFusion::default()),
        50,
    );
    request.filter = filter(Condition::TagAnyOf(tags("categories", &["stat.ML"])));
    request.return_fields = vec!["categories".to_owned()];
    let response = fixture.search(request).await.unwrap();
    let expected_total = papers
        .iter()
        .filter(|paper| paper.categories.contains(&"stat.ML"))
        .count();
    assert_eq!(response.total as usize, expected_total);
    assert!(!response.hits.is_empty());
    for hit in &response.hits {
        let paper = papers.iter().find(|paper| paper.id == hit.id).unwrap();
        assert!(
            paper.categories.contains(&"stat.ML"),
            "{} fails the filter",
            hit.id
        );
        assert!(hit.fields.contains_key("categories"), "{hit:?}");
    }
}

#[tokio::test]
async fn lucky_returns_best_hybrid_hit() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(34);
    let full = fixture
        .search(hybrid_request(
            &query,
            pb::fusion::Method::Rrf(pb::ReciprocalRankFusion::default()),
            10,
        ))
        .await
        .unwrap();
    let lucky = fixture
        .search(pb::SearchRequest {
            mode: pb::SearchMode::Unspecified as i32,
            lucky: true,
            k: 0,
            fusion: None,
            ..hybrid_request(
                &query,
                pb::fusion::Method::Rrf(pb::ReciprocalRankFusion::default()),
                10,
            )
        })
        .await
        .unwrap();
    assert_eq!(lucky.mode, pb::SearchMode::Hybrid as i32);
    assert_eq!(hit_ids(&lucky), [full.hits[0].id.as_str()]);
}

#[tokio::test]
async fn hybrid_sort_pages_fused_candidates() {
    let (fixture, papers) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(35);
    let method = || {
        pb::fusion::Method::Rrf(pb::ReciprocalRankFusion {
            constant: 0,
            window: 40,
        })
    };
    let mut all_request = hybrid_request(&query, method(), 40);
    all_request.sort_by = Some(pb::SortBy {
        field: "year".to_owned(),
        descending: false,
    });
    let all = fixture.search(all_request.clone()).await.unwrap();
    let years: Vec<f64> = all
        .hits
        .iter()
        .map(|hit| papers.iter().find(|p| p.id == hit.id).unwrap().year)
        .collect();
    assert!(
        years.windows(2).all(|pair| pair[0] <= pair[1]),
        "years ascend: {years:?}"
    );
    let mut paged: Vec<String> = Vec::new();
    for offset in [0u32, 10, 20, 30] {
        let page = fixture
            .search(pb::SearchRequest {
                k: 10,
                offset,
                ..all_request.clone()
            })
            .await
            .unwrap();
        paged.extend(page.hits.into_iter().map(|hit| hit.id));
    }
    let all_ids: Vec<String> = all.hits.into_iter().map(|hit| hit.id).collect();
    assert_eq!(paged, all_ids, "pages concatenate to the full ranking");
}

#[tokio::test]
async fn hybrid_highlights_text_hits() {
    let (fixture, _) = fixture(pb::VectorAlgorithm::Flat).await;
    let query = query_vector(36);
    let mut request = hybrid_request(
        &query,
        pb::fusion::Method::Rrf(pb::ReciprocalRankFusion::default()),
        30,
    );
    request.text_options = Some(pb::TextOptions {
        highlight: true,
        ..pb::TextOptions::default()
    });
    let response = fixture.search(request).await.unwrap();
    let mut num_highlighted = 0;
    for hit in &response.hits {
        match hit.text_rank {
            Some(_) => {
                let title = hit
                    .highlights
                    .get("title")
                    .expect("text hits have highlights");
                assert!(
                    title.contains("<b>quantum</b>") || title.contains("<b>galaxy</b>"),
                    "{title}"
                );
                num_highlighted += 1;
            }
            None => assert!(hit.highlights.is_empty(), "{hit:?}"),
        }
    }
    assert!(num_highlighted > 0, "some hits came through the text leg");
}
