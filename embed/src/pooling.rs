//! Mean pooling and L2 normalisation, as the sentence-transformers Pooling and Normalize
//! modules compute them.

use candle_core::{D, Result, Tensor};

/// The floor for the number of unmasked tokens, which sentence-transformers uses to avoid
/// dividing by zero.
const MIN_TOKEN_COUNT: f64 = 1e-9;
/// The floor for the L2 norm, as in `torch.nn.functional.normalize`.
const MIN_NORM: f64 = 1e-12;

/// Averages token embeddings over the tokens that the attention mask marks as real.
///
/// `hidden` has shape (batch, tokens, hidden size) and `attention_mask` has shape
/// (batch, tokens) with 1 for a real token and 0 for padding. Returns (batch, hidden size).
pub(crate) fn mean_pool(hidden: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
    let mask = attention_mask
        .to_dtype(hidden.dtype())?
        .unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let token_counts = mask.sum(1)?.maximum(MIN_TOKEN_COUNT)?;
    summed.broadcast_div(&token_counts)
}

/// Divides each row of a (batch, dimension) tensor by its L2 norm.
pub(crate) fn l2_normalize(vectors: &Tensor) -> Result<Tensor> {
    let norms = vectors
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .maximum(MIN_NORM)?;
    vectors.broadcast_div(&norms)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    fn rows(tensor: &Tensor) -> Vec<Vec<f32>> {
        tensor.to_vec2::<f32>().expect("tensor is 2-D f32")
    }

    #[test]
    fn mean_pool_ignores_padding() -> Result<()> {
        // Batch of two: the first text has three real tokens, the second one real token and
        // two padding tokens whose values would change the mean if they counted.
        let hidden = Tensor::new(
            &[
                [[1f32, 2.0], [3.0, 4.0], [5.0, 6.0]],
                [[10.0, 20.0], [100.0, 100.0], [100.0, 100.0]],
            ],
            &Device::Cpu,
        )?;
        let mask = Tensor::new(&[[1u32, 1, 1], [1, 0, 0]], &Device::Cpu)?;
        let pooled = mean_pool(&hidden, &mask)?;
        assert_eq!(rows(&pooled), vec![vec![3.0, 4.0], vec![10.0, 20.0]]);
        Ok(())
    }

    #[test]
    fn mean_pool_all_masked_returns_zero() -> Result<()> {
        let hidden = Tensor::new(&[[[1f32, 2.0]]], &Device::Cpu)?;
        let mask = Tensor::new(&[[0u32]], &Device::Cpu)?;
        let pooled = mean_pool(&hidden, &mask)?;
        assert_eq!(rows(&pooled), vec![vec![0.0, 0.0]]);
        Ok(())
    }

    #[test]
    fn l2_normalize_scales_rows_to_unit_norm() -> Result<()> {
        let vectors = Tensor::new(&[[3f32, 4.0], [0.0, -2.0]], &Device::Cpu)?;
        let normalized = l2_normalize(&vectors)?;
        assert_eq!(rows(&normalized), vec![vec![0.6, 0.8], vec![0.0, -1.0]]);
        Ok(())
    }

    #[test]
    fn l2_normalize_keeps_zero_vector() -> Result<()> {
        let vectors = Tensor::new(&[[0f32, 0.0]], &Device::Cpu)?;
        let normalized = l2_normalize(&vectors)?;
        assert_eq!(rows(&normalized), vec![vec![0.0, 0.0]]);
        Ok(())
    }
}
