//! Optimisation settings (the model's own live in [`crate::model::SeqRecConfig`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Optimisation settings (the model's own live in [`SeqRecConfig`]).
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Sampled-softmax negatives; 0 means full cross-entropy over the catalogue.
    pub negatives: usize,
    /// Whether one set of negatives serves the whole batch or each sequence draws its own.
    pub negative_sharing: NegativeSharing,
    /// Adam's L2 weight decay (0 = none).
    pub weight_decay: f64,
    /// Loss weight of the positions right after a purchase (1 = like every other position).
    /// Cross-selling happens there, yet those positions are a small share of the loss.
    pub purchase_weight: f64,
    /// Stop after this many epochs without a better validation NDCG@10.
    pub patience: usize,
    pub seed: u64,
    /// Wall-clock budget for the training loop.
    pub time_limit: Option<Duration>,
    /// Show progress bars.
    pub progress: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 200,
            batch_size: 128,
            learning_rate: 1e-3,
            negatives: 256,
            negative_sharing: NegativeSharing::Sequence,
            weight_decay: 0.0,
            purchase_weight: 1.0,
            patience: 10,
            seed: 42,
            time_limit: None,
            progress: true,
        }
    }
}

/// How sampled-softmax negatives are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NegativeSharing {
    /// One uniform draw shared by every position of the batch (cheapest, least diverse).
    Batch,
    /// Each sequence draws its own negatives, shared by its positions (one batched matmul).
    Sequence,
    /// Every position draws its own negatives (most diverse, most memory: positions x n x d).
    Position,
}
