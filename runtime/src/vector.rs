//! Vector encoding: FLOAT32 values as little-endian bytes, the layout RediSearch reads.

use crate::schema::DistanceMetric;
use crate::validate::InvalidValue;

/// Encodes a vector as little-endian FLOAT32 bytes.
pub fn encode(values: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * 4);
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Decodes little-endian FLOAT32 bytes; `None` when the length is not a multiple of 4.
pub fn decode(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let values = bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect();
    Some(values)
}

/// Checks a vector for a field of `dimension` values and `metric`: the length, that every value is
/// finite, that the squared norm is finite in FLOAT32 and, for COSINE, that the norm is not zero.
/// RediSearch 2.10 computes norms and distances in FLOAT32, so an overflowing norm yields infinite or
/// NaN distances, and COSINE divides by the norm, so a zero vector yields NaN distances.
pub fn check(values: &[f32], dimension: usize, metric: DistanceMetric) -> Result<(), InvalidValue> {
    if values.len() != dimension {
        let noun = if values.len() == 1 { "value" } else { "values" };
        return Err(InvalidValue::new(
            "",
            format!(
                "the vector has {} {noun} but the field's dimension is {dimension}; send exactly {dimension} values",
                values.len()
            ),
        ));
    }
    if let Some((position, value)) = values
        .iter()
        .enumerate()
        .find(|(_, value)| !value.is_finite())
    {
        return Err(InvalidValue::new(
            "",
            format!("value {position} is {value}; vectors must hold finite numbers only"),
        ));
    }
    check_norm(values, metric)
}

/// Checks the squared norm of a vector of finite values, summed in FLOAT32 as RediSearch sums it.
fn check_norm(values: &[f32], metric: DistanceMetric) -> Result<(), InvalidValue> {
    let squared_norm: f32 = values.iter().map(|value| value * value).sum();
    // Under L2 the squared distance between two vectors is at most 2 (|a|² + |b|²), so a vector is
    // accepted only when 4 |v|² is finite: then no distance between two accepted vectors overflows.
    // IP and COSINE distances stay within |a| |b|.
    let bound = if metric == DistanceMetric::L2 {
        squared_norm * 4.0
    } else {
        squared_norm
    };
    if !bound.is_finite() {
        let largest = values
            .iter()
            .map(|value| value.abs())
            .fold(0.0_f32, f32::max);
        return Err(InvalidValue::new(
            "",
            format!(
                "the vector is too long for FLOAT32 (its largest value is {largest:e} in magnitude), so its distances could be infinite or NaN; scale the vector down"
            ),
        ));
    }
    if squared_norm == 0.0 && metric == DistanceMetric::Cosine {
        let message = if values.iter().all(|value| *value == 0.0) {
            "the vector is all zeros, and a zero vector has no direction; the field's metric is COSINE, so send a non-zero vector".to_owned()
        } else {
            "the squared norm of the vector is 0 in FLOAT32, because its values are too small to square; the field's metric is COSINE, which needs a non-zero norm, so scale the vector up".to_owned()
        };
        return Err(InvalidValue::new("", message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_inverts_encode(values in prop::collection::vec(any::<f32>().prop_filter("NaN", |v| !v.is_nan()), 0..64)) {
            prop_assert_eq!(decode(&encode(&values)).unwrap(), values);
        }
    }

    #[test]
    fn encode_is_little_endian() {
        assert_eq!(encode(&[1.0]), vec![0x00, 0x00, 0x80, 0x3f]);
    }

    #[test]
    fn decode_rejects_partial_values() {
        assert_eq!(decode(&[0, 0, 0]), None);
    }

    #[test]
    fn check_rejects_dimension_and_nan() {
        let cosine = DistanceMetric::Cosine;
        let error = check(&[1.0, 2.0], 3, cosine).unwrap_err();
        assert!(
            error.message.contains("2 values") && error.message.contains("dimension is 3"),
            "{error}"
        );
        let error = check(&[1.0], 3, cosine).unwrap_err();
        assert!(error.message.contains("has 1 value but"), "{error}");
        let error = check(&[1.0, f32::NAN, 0.0], 3, cosine).unwrap_err();
        assert!(error.message.contains("value 1 is NaN"), "{error}");
        assert!(check(&[1.0, f32::INFINITY], 2, cosine).is_err());
        assert!(check(&[0.5, -0.5], 2, cosine).is_ok());
    }

    #[test]
    fn check_rejects_overflowing_norm_for_every_metric() {
        for metric in [
            DistanceMetric::Cosine,
            DistanceMetric::L2,
            DistanceMetric::InnerProduct,
        ] {
            let error = check(&[3e38; 4], 4, metric).unwrap_err();
            assert!(error.message.contains("too long for FLOAT32"), "{error}");
            assert!(error.message.contains("3e38"), "{error}");
            assert!(error.message.contains("scale the vector down"), "{error}");
        }
        // 2e19 squared is 4e38, above f32::MAX, although each value is finite.
        assert!(check(&[2e19, 0.0], 2, DistanceMetric::InnerProduct).is_err());
        assert!(check(&[1e19, 0.0], 2, DistanceMetric::InnerProduct).is_ok());
    }

    #[test]
    fn check_leaves_room_for_l2_distances() {
        // The squared L2 distance from 1.8e19 to -1.8e19 is 1.3e39, above f32::MAX (3.4e38).
        assert!(check(&[1.8e19, 0.0], 2, DistanceMetric::L2).is_err());
        assert!(check(&[1.8e19, 0.0], 2, DistanceMetric::InnerProduct).is_ok());
        // 4 × (9e18)² is 3.24e38, so the farthest accepted vectors stay at a finite distance.
        assert!(check(&[9e18, 0.0], 2, DistanceMetric::L2).is_ok());
    }

    #[test]
    fn check_rejects_zero_vector_for_cosine_only() {
        let error = check(&[0.0; 3], 3, DistanceMetric::Cosine).unwrap_err();
        assert!(error.message.contains("no direction"), "{error}");
        assert!(error.message.contains("COSINE"), "{error}");
        assert!(check(&[0.0; 3], 3, DistanceMetric::L2).is_ok());
        assert!(check(&[0.0; 3], 3, DistanceMetric::InnerProduct).is_ok());
    }

    #[test]
    fn check_rejects_norm_that_underflows_for_cosine() {
        // 1e-30 squared is 1e-60, which is 0 in FLOAT32.
        let error = check(&[1e-30, -1e-30], 2, DistanceMetric::Cosine).unwrap_err();
        assert!(error.message.contains("scale the vector up"), "{error}");
        assert!(check(&[1e-30, -1e-30], 2, DistanceMetric::L2).is_ok());
    }
}
