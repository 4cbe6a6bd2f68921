//! Weights outside burn: what the weights file holds after dequantisation.

use std::collections::BTreeMap;

/// A named f32 tensor outside burn: what the weights file holds after dequantisation.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// All weights of a model by parameter name.
pub type Weights = BTreeMap<String, WeightTensor>;
