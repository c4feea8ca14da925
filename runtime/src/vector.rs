//! Vector encoding: FLOAT32 values as little-endian bytes, the layout RediSearch reads.

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

/// Checks a vector's length against the field dimension and that every value is finite.
pub fn check(values: &[f32], dimension: usize) -> Result<(), InvalidValue> {
    if values.len() != dimension {
        return Err(InvalidValue::new(
            "",
            format!(
                "the vector has {} values but the field's dimension is {dimension}; send exactly {dimension} values",
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
        let error = check(&[1.0, 2.0], 3).unwrap_err();
        assert!(
            error.message.contains("2 values") && error.message.contains("dimension is 3"),
            "{error}"
        );
        let error = check(&[1.0, f32::NAN, 0.0], 3).unwrap_err();
        assert!(error.message.contains("value 1 is NaN"), "{error}");
        assert!(check(&[1.0, f32::INFINITY], 2).is_err());
        assert!(check(&[0.5, -0.5], 2).is_ok());
    }
}
