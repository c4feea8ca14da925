//! Fusion of the two legs of a HYBRID query into one ranking. The legs come in ranked, best first; the
//! fused list goes out best first, with ties broken by ascending id so that pages are stable.
//!
//! - Reciprocal rank fusion: score = Σ over the legs that found the document of 1 / (constant + rank),
//!   with ranks from 1.
//! - Linear fusion: score = w · s + (1 − w) · t / t_max, where s is the vector similarity normalised to
//!   [0, 1] by [`DistanceMetric::normalized_similarity`], t the BM25 score and t_max the highest BM25
//!   score in the text leg. A leg that did not find the document adds 0.

use std::collections::HashMap;

use docsearch_runtime::schema::DistanceMetric;

/// A document of the vector leg.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorCandidate {
    pub id: String,
    pub distance: f32,
}

/// A document of the text leg.
#[derive(Debug, Clone, PartialEq)]
pub struct TextCandidate {
    pub id: String,
    /// BM25 score.
    pub score: f64,
}

/// A document of the fused ranking, with what each leg knew of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub id: String,
    pub score: f64,
    pub distance: Option<f32>,
    pub text_score: Option<f64>,
    /// Ranks from 1 in each leg.
    pub vector_rank: Option<u32>,
    pub text_rank: Option<u32>,
}

/// Fuses by reciprocal rank. A document listed twice in one leg counts at its first rank.
pub fn reciprocal_rank(
    vector: &[VectorCandidate],
    text: &[TextCandidate],
    constant: u32,
) -> Vec<Fused> {
    let contribution = |rank: u32| 1.0 / (f64::from(constant) + f64::from(rank));
    let mut fused = merge(vector, text);
    for document in &mut fused {
        document.score = document.vector_rank.map_or(0.0, contribution)
            + document.text_rank.map_or(0.0, contribution);
    }
    sort_best_first(&mut fused);
    fused
}

/// Fuses by a weighted sum of the normalised vector similarity and the normalised text score.
pub fn linear(
    vector: &[VectorCandidate],
    text: &[TextCandidate],
    metric: DistanceMetric,
    vector_weight: f64,
) -> Vec<Fused> {
    let max_text_score = text
        .iter()
        .map(|candidate| candidate.score)
        .fold(0.0_f64, f64::max);
    let mut fused = merge(vector, text);
    for document in &mut fused {
        let similarity = document
            .distance
            .map_or(0.0, |distance| metric.normalized_similarity(distance));
        let text_share = match document.text_score {
            Some(score) if max_text_score > 0.0 => score / max_text_score,
            _ => 0.0,
        };
        document.score = vector_weight * similarity + (1.0 - vector_weight) * text_share;
    }
    sort_best_first(&mut fused);
    fused
}

/// Lists every document of either leg once, with its rank and value in each leg, and score 0.
fn merge(vector: &[VectorCandidate], text: &[TextCandidate]) -> Vec<Fused> {
    let mut fused: Vec<Fused> = Vec::with_capacity(vector.len() + text.len());
    let mut positions: HashMap<&str, usize> = HashMap::with_capacity(vector.len() + text.len());

    for (index, candidate) in vector.iter().enumerate() {
        if positions.contains_key(candidate.id.as_str()) {
            continue;
        }
        positions.insert(&candidate.id, fused.len());
        fused.push(Fused {
            id: candidate.id.clone(),
            score: 0.0,
            distance: Some(candidate.distance),
            text_score: None,
            vector_rank: Some(rank(index)),
            text_rank: None,
        });
    }
    for (index, candidate) in text.iter().enumerate() {
        match positions.get(candidate.id.as_str()) {
            Some(&position) => {
                let document = &mut fused[position];
                if document.text_rank.is_none() {
                    document.text_rank = Some(rank(index));
                    document.text_score = Some(candidate.score);
                }
            }
            None => {
                positions.insert(&candidate.id, fused.len());
                fused.push(Fused {
                    id: candidate.id.clone(),
                    score: 0.0,
                    distance: None,
                    text_score: Some(candidate.score),
                    vector_rank: None,
                    text_rank: Some(rank(index)),
                });
            }
        }
    }
    fused
}

fn rank(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Sorts by descending score, then ascending id.
fn sort_best_first(fused: &mut [Fused]) {
    fused.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests;
