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
