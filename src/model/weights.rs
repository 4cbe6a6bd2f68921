//! Weights outside burn: what the weights file holds after dequantisation.

use std::collections::BTreeMap;

use burn::prelude::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};

/// A named f32 tensor outside burn: what the weights file holds after dequantisation.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// All weights of a model by parameter name.
pub type Weights = BTreeMap<String, WeightTensor>;

/// A float tensor of `values` (row-major) in `shape` on `device`: [`Tensor::from_data`], except
/// in the CPU-only wasm bundle, where the values go to burn-flex as they are. `from_data`
/// converts through `TensorData::try_cast`, which links a conversion between every pair of
/// dtypes (about 180 kB of that bundle's 1.38 MB of wasm) for values that are already the
/// tensor's dtype.
pub fn float_tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    let data = TensorData::new(values, shape);
    #[cfg(all(target_arch = "wasm32", not(feature = "webgpu")))]
    {
        let _ = device;
        Tensor::from_primitive::<burn_flex::Flex>(burn_flex::FlexTensor::from_data(data))
    }
    #[cfg(not(all(target_arch = "wasm32", not(feature = "webgpu"))))]
    Tensor::from_data(data, device)
}

/// [`float_tensor`] for a vector of i64 (burn's int dtype): row indices.
pub fn int_tensor(values: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = values.len();
    let data = TensorData::new(values, [n]);
    #[cfg(all(target_arch = "wasm32", not(feature = "webgpu")))]
    {
        let _ = device;
        Tensor::from_primitive::<burn_flex::Flex>(burn_flex::FlexTensor::from_data(data))
    }
    #[cfg(not(all(target_arch = "wasm32", not(feature = "webgpu"))))]
    Tensor::from_data(data, device)
}

/// A tensor's values as plain f32, row-major (a blocking readback: native or CPU only).
pub fn floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| Error::Compute(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Compute(format!("{e:?}")))
}

/// [`floats`] for a tensor whose buffer may be shared (a parameter's value, a clone kept for
/// later). burn-ndarray hands over a buffer it owns alone without a copy, but reads a shared one
/// element by element through a dynamic-rank iterator: 22 ms for Beauty's 12,102 x 64 item
/// table, once per training step (3.9 s of a 25.6 s epoch at batch 128). A scaled copy, made in
/// one vectorised pass, is owned alone. (burn-flex, the default backend, copies a shared buffer
/// with one memcpy in either case; the trainer keeps this for `--backend ndarray`.)
pub fn floats_shared<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    floats(t.detach().mul_scalar(1.0))
}
