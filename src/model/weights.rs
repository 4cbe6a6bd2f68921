//! Weights outside burn: what the weights file holds after dequantisation.

use std::collections::BTreeMap;

use burn::prelude::Tensor;

use crate::error::{Error, Result};

/// A named f32 tensor outside burn: what the weights file holds after dequantisation.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// All weights of a model by parameter name.
pub type Weights = BTreeMap<String, WeightTensor>;

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
