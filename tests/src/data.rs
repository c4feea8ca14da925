//! Test data and ground truth computed independently of the services: seeded random vectors, documents
//! built from them, and exact brute-force nearest neighbours.

use std::collections::HashMap;

use docsearch_proto::v1 as pb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A seeded random unit-free vector with components uniform in [-1, 1).
pub fn random_vectors(seed: u64, count: usize, dimension: usize) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..dimension)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect()
        })
        .collect()
}

/// Cosine distance as RediSearch defines it (1 - cosine similarity), computed in f64.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let mut dot = 0.0f64;
    let mut norm_a = 0.0f64;
    let mut norm_b = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    1.0 - dot / (norm_a.sqrt() * norm_b.sqrt())
}

/// The exact k nearest neighbours of `query` among `candidates` (id, vector), nearest first, ties
/// broken by id.
pub fn exact_top_k<'a>(
    query: &[f32],
    candidates: impl Iterator<Item = (&'a str, &'a [f32])>,
    k: usize,
) -> Vec<(String, f64)> {
    let mut scored: Vec<(String, f64)> = candidates
        .map(|(id, vector)| (id.to_owned(), cosine_distance(query, vector)))
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

pub fn text(value: &str) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Text(value.to_owned())),
    }
}

pub fn number(value: f64) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Number(value)),
    }
}

pub fn tags(values: &[&str]) -> pb::FieldValue {
    pb::FieldValue {
        kind: Some(pb::field_value::Kind::Tags(pb::TagList {
            values: values.iter().map(|value| (*value).to_owned()).collect(),
        })),
    }
}

/// A document with the given fields and one vector under `vector_field`.
pub fn document(
    id: &str,
    fields: Vec<(&str, pb::FieldValue)>,
    vector_field: &str,
    vector: Vec<f32>,
) -> pb::Document {
    let fields: HashMap<String, pb::FieldValue> = fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let mut vectors = HashMap::new();
    vectors.insert(vector_field.to_owned(), pb::Vector { values: vector });
    pb::Document {
        id: id.to_owned(),
        fields,
        vectors,
    }
}

/// Schema field constructors.
pub mod schema {
    use super::pb;

    pub fn text(name: &str) -> pb::FieldSchema {
        field(name, pb::field_schema::Kind::Text(pb::TextField::default()))
    }

    pub fn tag(name: &str) -> pb::FieldSchema {
        field(name, pb::field_schema::Kind::Tag(pb::TagField::default()))
    }

    pub fn numeric(name: &str) -> pb::FieldSchema {
        field(
            name,
            pb::field_schema::Kind::Numeric(pb::NumericField { sortable: true }),
        )
    }

    pub fn vector(name: &str, algorithm: pb::VectorAlgorithm, dimension: u32) -> pb::FieldSchema {
        field(
            name,
            pb::field_schema::Kind::Vector(pb::VectorField {
                algorithm: algorithm as i32,
                dimension,
                metric: pb::DistanceMetric::Cosine as i32,
                ..Default::default()
            }),
        )
    }

    pub fn field(name: &str, kind: pb::field_schema::Kind) -> pb::FieldSchema {
        pb::FieldSchema {
            name: name.to_owned(),
            index_missing: false,
            kind: Some(kind),
        }
    }
}
