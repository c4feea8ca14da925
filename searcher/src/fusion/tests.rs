use proptest::prelude::*;

use super::*;

fn vector_leg(entries: &[(&str, f32)]) -> Vec<VectorCandidate> {
    entries
        .iter()
        .map(|(id, distance)| VectorCandidate {
            id: (*id).to_owned(),
            distance: *distance,
        })
        .collect()
}

fn text_leg(entries: &[(&str, f64)]) -> Vec<TextCandidate> {
    entries
        .iter()
        .map(|(id, score)| TextCandidate {
            id: (*id).to_owned(),
            score: *score,
        })
        .collect()
}

fn ids(fused: &[Fused]) -> Vec<&str> {
    fused.iter().map(|document| document.id.as_str()).collect()
}

#[test]
fn rrf_adds_both_legs() {
    let fused = reciprocal_rank(
        &vector_leg(&[("a", 0.1), ("b", 0.2)]),
        &text_leg(&[("b", 3.0), ("c", 2.0)]),
        60,
    );
    assert_eq!(ids(&fused), ["b", "a", "c"]);
    assert_eq!(fused[0].score, 1.0 / 62.0 + 1.0 / 61.0);
    assert_eq!(fused[1].score, 1.0 / 61.0);
    assert_eq!(fused[2].score, 1.0 / 62.0);
}

#[test]
fn rrf_records_ranks_and_values() {
    let fused = reciprocal_rank(
        &vector_leg(&[("a", 0.1), ("b", 0.2)]),
        &text_leg(&[("b", 3.0)]),
        60,
    );
    let b = &fused[0];
    assert_eq!(b.vector_rank, Some(2));
    assert_eq!(b.text_rank, Some(1));
    assert_eq!(b.distance, Some(0.2));
    assert_eq!(b.text_score, Some(3.0));
    let a = &fused[1];
    assert_eq!(a.text_rank, None);
    assert_eq!(a.text_score, None);
}

#[test]
fn rrf_ties_break_by_id() {
    let fused = reciprocal_rank(&vector_leg(&[("z", 0.1)]), &text_leg(&[("y", 1.0)]), 60);
    assert_eq!(ids(&fused), ["y", "z"]);
}

#[test]
fn repeated_id_counts_first_rank() {
    let fused = reciprocal_rank(&vector_leg(&[("a", 0.1), ("a", 0.3)]), &text_leg(&[]), 10);
    assert_eq!(fused.len(), 1);
    assert_eq!(fused[0].vector_rank, Some(1));
    assert_eq!(fused[0].distance, Some(0.1));
}

#[test]
fn empty_legs_fuse_to_nothing() {
    assert!(reciprocal_rank(&[], &[], 60).is_empty());
    assert!(linear(&[], &[], DistanceMetric::Cosine, 0.5).is_empty());
}

#[test]
fn linear_normalises_text_by_best() {
    let fused = linear(
        &vector_leg(&[("a", 0.0)]),
        &text_leg(&[("b", 4.0), ("a", 2.0)]),
        DistanceMetric::Cosine,
        0.5,
    );
    assert_eq!(ids(&fused), ["a", "b"]);
    // a: 0.5 * (1 - 0 / 2) + 0.5 * 2 / 4.
    assert_eq!(fused[0].score, 0.75);
    // b: 0.5 * 0 + 0.5 * 4 / 4.
    assert_eq!(fused[1].score, 0.5);
}

#[test]
fn linear_weight_one_ignores_text() {
    let fused = linear(
        &vector_leg(&[("a", 1.0)]),
        &text_leg(&[("b", 9.0)]),
        DistanceMetric::L2,
        1.0,
    );
    assert_eq!(ids(&fused), ["a", "b"]);
    assert_eq!(fused[0].score, 0.5);
    assert_eq!(fused[1].score, 0.0);
}

#[test]
fn linear_zero_text_scores_add_nothing() {
    let fused = linear(&[], &text_leg(&[("a", 0.0)]), DistanceMetric::Cosine, 0.5);
    assert_eq!(fused[0].score, 0.0);
}

#[test]
fn linear_clamps_inner_product() {
    let fused = linear(
        &vector_leg(&[("far", 5.0), ("near", -3.0)]),
        &[],
        DistanceMetric::InnerProduct,
        1.0,
    );
    assert_eq!(ids(&fused), ["near", "far"]);
    assert_eq!(fused[0].score, 1.0);
    assert_eq!(fused[1].score, 0.0);
}

/// The fused ranking as the proto defines it, computed the slow way: every id of either leg, its
/// first rank in each leg found by scanning, its score by the formula, sorted by score then id.
fn oracle(
    vector: &[VectorCandidate],
    text: &[TextCandidate],
    score: impl Fn(Option<(usize, f32)>, Option<(usize, f64)>) -> f64,
) -> Vec<(String, f64, Option<u32>, Option<u32>)> {
    let mut all_ids: Vec<String> = Vec::new();
    for id in vector
        .iter()
        .map(|c| &c.id)
        .chain(text.iter().map(|c| &c.id))
    {
        if !all_ids.contains(id) {
            all_ids.push(id.clone());
        }
    }
    let mut expected: Vec<(String, f64, Option<u32>, Option<u32>)> = all_ids
        .into_iter()
        .map(|id| {
            let in_vector = vector
                .iter()
                .position(|c| c.id == id)
                .map(|p| (p + 1, vector[p].distance));
            let in_text = text
                .iter()
                .position(|c| c.id == id)
                .map(|p| (p + 1, text[p].score));
            let value = score(in_vector, in_text);
            (
                id,
                value,
                in_vector.map(|(rank, _)| rank as u32),
                in_text.map(|(rank, _)| rank as u32),
            )
        })
        .collect();
    expected.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .expect("scores are numbers")
            .then_with(|| a.0.cmp(&b.0))
    });
    expected
}

/// Similarity normalised to [0, 1] as the proto comment of LinearFusion writes it.
fn normalised(metric: DistanceMetric, distance: f32) -> f64 {
    let d = f64::from(distance);
    match metric {
        DistanceMetric::Cosine => 1.0 - d / 2.0,
        DistanceMetric::L2 => 1.0 / (1.0 + d),
        DistanceMetric::InnerProduct => (1.0 + (1.0 - d).clamp(-1.0, 1.0)) / 2.0,
    }
}

fn assert_matches_oracle(
    fused: &[Fused],
    expected: &[(String, f64, Option<u32>, Option<u32>)],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(fused.len(), expected.len(), "number of fused documents");
    for (position, (document, (id, score, vector_rank, text_rank))) in
        fused.iter().zip(expected).enumerate()
    {
        prop_assert_eq!(&document.id, id, "id at position {}", position);
        prop_assert!(
            (document.score - score).abs() < 1e-12,
            "score of {}: {} vs {}",
            id,
            document.score,
            score
        );
        prop_assert_eq!(document.vector_rank, *vector_rank, "vector rank of {}", id);
        prop_assert_eq!(document.text_rank, *text_rank, "text rank of {}", id);
    }
    Ok(())
}

/// Two legs over a pool of 30 ids: each a random selection in random order, the vector leg with
/// ascending distances in `distance_range` and the text leg with descending scores.
fn legs(
    distance_range: std::ops::Range<f32>,
) -> impl Strategy<Value = (Vec<VectorCandidate>, Vec<TextCandidate>)> {
    let pool: Vec<String> = (0..30).map(|n| format!("d{n:02}")).collect();
    let vector_ids = Just(pool.clone())
        .prop_shuffle()
        .prop_flat_map(|ids| (0..=ids.len()).prop_map(move |len| ids[..len].to_vec()));
    let text_ids = Just(pool)
        .prop_shuffle()
        .prop_flat_map(|ids| (0..=ids.len()).prop_map(move |len| ids[..len].to_vec()));
    (
        vector_ids,
        text_ids,
        prop::collection::vec(distance_range, 30),
        prop::collection::vec(0.0f64..20.0, 30),
    )
        .prop_map(|(vector_ids, text_ids, mut distances, mut scores)| {
            distances.sort_by(f32::total_cmp);
            scores.sort_by(|a, b| b.total_cmp(a));
            let vector = vector_ids
                .into_iter()
                .zip(distances)
                .map(|(id, distance)| VectorCandidate { id, distance })
                .collect();
            let text = text_ids
                .into_iter()
                .zip(scores)
                .map(|(id, score)| TextCandidate { id, score })
                .collect();
            (vector, text)
        })
}

proptest! {
    #[test]
    fn rrf_matches_oracle((vector, text) in legs(0.0..2.0), constant in 1u32..200) {
        let fused = reciprocal_rank(&vector, &text, constant);
        let c = f64::from(constant);
        let expected = oracle(&vector, &text, |v, t| {
            v.map_or(0.0, |(rank, _)| 1.0 / (c + rank as f64))
                + t.map_or(0.0, |(rank, _)| 1.0 / (c + rank as f64))
        });
        assert_matches_oracle(&fused, &expected)?;
    }

    #[test]
    fn linear_cosine_matches_oracle((vector, text) in legs(0.0..2.0), weight in 0.0f64..=1.0) {
        check_linear(&vector, &text, DistanceMetric::Cosine, weight)?;
    }

    #[test]
    fn linear_l2_matches_oracle((vector, text) in legs(0.0..50.0), weight in 0.0f64..=1.0) {
        check_linear(&vector, &text, DistanceMetric::L2, weight)?;
    }

    #[test]
    fn linear_ip_matches_oracle((vector, text) in legs(-2.0..3.0), weight in 0.0f64..=1.0) {
        check_linear(&vector, &text, DistanceMetric::InnerProduct, weight)?;
    }
}

fn check_linear(
    vector: &[VectorCandidate],
    text: &[TextCandidate],
    metric: DistanceMetric,
    weight: f64,
) -> Result<(), TestCaseError> {
    let fused = linear(vector, text, metric, weight);
    let best = text.iter().map(|c| c.score).fold(0.0, f64::max);
    let expected = oracle(vector, text, |v, t| {
        let similarity = v.map_or(0.0, |(_, distance)| normalised(metric, distance));
        let text_share = match t {
            Some((_, score)) if best > 0.0 => score / best,
            _ => 0.0,
        };
        weight * similarity + (1.0 - weight) * text_share
    });
    assert_matches_oracle(&fused, &expected)
}
