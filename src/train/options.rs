//! Optimisation settings (the model's own live in [`crate::model::SeqRecConfig`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::pq::ItemTable;

/// Optimisation settings (the model's own live in [`SeqRecConfig`]).
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Sampled-softmax negatives; 0 means full cross-entropy over the catalogue; None chooses by
    /// the catalogue's size ([`TrainOptions::negatives_for`]).
    pub negatives: Option<usize>,
    /// Whether one set of negatives serves the whole batch or each sequence draws its own.
    pub negative_sharing: NegativeSharing,
    /// With sampled negatives, train the item table with dense Adam in the model (every row
    /// every step, as before lazy Adam; for comparison) instead of lazy Adam on the rows each
    /// step reads ([`super::lazy`]).
    pub dense_item_adam: bool,
    /// How the shipped file stores the item table: int8, int4 or residual codes (`rqM`: the
    /// trainer then fine-tunes the codebooks through the codes, [`super::pq_tune`]); None
    /// chooses by the catalogue's size ([`ItemTable::for_items`]: int4 above 20,000 items,
    /// rq12 above 100,000).
    pub item_table: Option<ItemTable>,
    /// With residual codes: the items stored whole (int8), the most popular; None: 2% of the
    /// catalogue ([`TrainOptions::exact_head_for`]).
    pub exact_head: Option<usize>,
    /// With residual codes: fine-tuning's epochs at most (patience 5, best validation kept).
    pub finetune_epochs: usize,
    /// With residual codes: histories a fine-tuning epoch trains on, a fresh seeded sample
    /// each epoch when there are more (0: all; [`super::pq_tune::PqTuneOptions::epoch_histories`]).
    pub finetune_histories: usize,
    /// Adam's L2 weight decay (0 = none).
    pub weight_decay: f64,
    /// Loss weight of the positions right after a purchase (1 = like every other position).
    /// Cross-selling happens there, yet those positions are a small share of the loss.
    pub purchase_weight: f64,
    /// Stop after this many epochs without a better validation NDCG@10. 20 by default: near its
    /// plateau the validation curve wanders by a few parts in a thousand from epoch to epoch, so
    /// a shorter wait stops on a local peak. On Beauty (defaults, one thread) the best epoch was
    /// 98 (validation 0.0727) until epoch 113 improved on it (0.0728; test int8 NDCG@10 0.0602);
    /// patience 10 would have stopped at 108. The published runs train 200 epochs and keep the
    /// best-validation one.
    pub patience: usize,
    /// Users whose validation target is ranked after every epoch: a seeded sample of this many
    /// when there are more (0 = all). The test figures always use every user.
    pub validation_users: usize,
    /// Users whose test target is ranked for the final figures: a seeded sample of this many
    /// when there are more (0 = all, the default). At a million items and millions of shoppers
    /// ranking every user twice (f32 and int8) takes longer than an epoch; by the bound in
    /// [`DEFAULT_VALIDATION_USERS`]'s note, a sample of 100,000 keeps the figures' standard error
    /// at most 0.0008 at Beauty's level.
    pub test_users: usize,
    pub seed: u64,
    /// Wall-clock budget for the training loop; with residual codes, also no fine-tuning epoch
    /// starts once this long has passed since the run began.
    pub time_limit: Option<Duration>,
    /// Show progress bars.
    pub progress: bool,
    /// The backend and device the model trains on.
    pub backend: Backend,
}

/// The defaults are the published SASRec recipe for Amazon Beauty (CE-SCE-LLMRec's full
/// cross-entropy runs: random batches of 512, Adam lr 5e-4 with epsilon 1e-8, weight decay 1e-8,
/// dropout 0.6, up to 200 epochs), with early stopping after 20 epochs without a better
/// validation. On Beauty: test int8 NDCG@10 0.0602 / HR@10 0.0990 (the published runs:
/// 0.0591-0.0601 / 0.0977-0.0994), best validation 0.0728 at epoch 113 of 133 (published: 0.0729
/// at 120), 35 minutes on one thread while builds and browser tests shared the machine. With
/// batches of similar-length histories instead of random ones the same recipe tested at 0.0530
/// / 0.0882 (its validation peaked at 0.0645); with that batching, lr 1e-3 peaked at epoch 40
/// but tested at 0.0510 / 0.0837, and the old recipe (batch 128, lr 1e-3, dropout 0.5) gave
/// 0.0510 / 0.0856.
impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 200,
            batch_size: 512,
            learning_rate: 5e-4,
            negatives: None,
            negative_sharing: NegativeSharing::Sequence,
            dense_item_adam: false,
            item_table: None,
            exact_head: None,
            finetune_epochs: 40,
            finetune_histories: super::pq_tune::DEFAULT_EPOCH_HISTORIES,
            weight_decay: 1e-8,
            purchase_weight: 1.0,
            patience: 20,
            validation_users: DEFAULT_VALIDATION_USERS,
            test_users: 0,
            seed: 42,
            time_limit: None,
            progress: true,
            backend: Backend::Flex,
        }
    }
}

/// Validation users ranked per epoch by default. Ranking a user costs a pass over the whole
/// catalogue, so at a million items and millions of shoppers an unbounded validation would take
/// longer than the epoch; 25,000 keeps it to a fixed cost and keeps every user of a Beauty-sized
/// log. Its standard error is bounded, not measured: a per-user NDCG@10 lies in [0, 1], so at a
/// mean m its standard deviation is at most sqrt(m (1 - m)), 0.25 at Beauty's 0.065, which
/// makes the sample's standard error at most 0.0016.
pub const DEFAULT_VALIDATION_USERS: usize = 25_000;

/// Largest catalogue trained with full cross-entropy by default. On Beauty (12,101 items) full
/// cross-entropy reached validation NDCG@10 0.061 against 0.060 for 256 sampled negatives (test
/// 0.0486 vs 0.0485, dropout 0.2, one block). Computed outside autodiff (`super::softmax`) an
/// epoch costs about 17 s there against 50 s as tensor ops, but its time still grows with the
/// catalogue (a batch of 128 x 50 positions makes 6,400 x items logits, in chunks), so larger
/// shops sample.
pub const FULL_SOFTMAX_MAX_ITEMS: usize = 20_000;

impl TrainOptions {
    /// The negatives a catalogue of `n_items` trains with: the chosen number, else full
    /// cross-entropy (0) up to [`FULL_SOFTMAX_MAX_ITEMS`] items and 256 sampled above.
    pub fn negatives_for(&self, n_items: usize) -> usize {
        self.negatives
            .unwrap_or(if n_items <= FULL_SOFTMAX_MAX_ITEMS {
                0
            } else {
                256
            })
    }
}

impl TrainOptions {
    /// How the shipped file stores a catalogue of `n_items`: the chosen encoding, else int8 up
    /// to [`crate::format::quant::Encoding::INT4_ABOVE`] items, int4 up to [`ItemTable::RQ_ABOVE`] and rq12 above.
    pub fn item_table_for(&self, n_items: usize) -> ItemTable {
        self.item_table
            .unwrap_or_else(|| ItemTable::for_items(n_items))
    }

    /// The items a residual-coded table stores whole: the chosen count, else 2% of the
    /// catalogue (at least one). On Beauty (12,101 items) 2% kept rq12 within 1.5% of int8's
    /// test NDCG@10 where 1% lost 2.7%; at a million items 2% is the shard core's default
    /// 20,000 items, which must hold them.
    pub fn exact_head_for(&self, n_items: usize) -> usize {
        self.exact_head
            .unwrap_or((n_items / 50).max(1))
            .min(n_items)
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

/// The backend and device training runs on. The CPU backends (the browser's CPU path and the
/// shipped model's evaluation use burn-flex, [`crate::cpu_device`]) train to the same losses to
/// the fourth digit; flex is faster: on Beauty at one thread (batch 128, idle machine) the
/// encoder's forward and backward took 1.7 and 1.6 s per epoch against 2.4 and 3.6-4.0 s with
/// ndarray, and whole epochs ran 1.35x (full cross-entropy) and 1.88x (256 sampled negatives) as
/// fast (`benches/train-throughput.sh`). The GPU devices need the `gpu` cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn-flex: burn 0.22's recommended CPU backend (faer's `gemm`, SIMD element-wise ops).
    #[default]
    Flex,
    /// burn-ndarray (deprecated in burn 0.22), for comparison.
    NdArray,
    /// A GPU through burn's wgpu runtime on the graphics API wgpu prefers here (Vulkan on Linux,
    /// Metal on macOS, DX12 on Windows), WGSL shaders (SPIR-V on Vulkan with burn's `vulkan`
    /// feature added to the build).
    Wgpu,
    /// A GPU through burn's wgpu runtime pinned to Vulkan: fails rather than settling on
    /// another API.
    Vulkan,
    /// An NVIDIA GPU through burn's CUDA runtime (the `cuda` cargo feature; its build downloads
    /// a kernel-compiler bundle, see the README).
    Cuda,
}

impl Backend {
    /// Whether this is a CPU backend: the loss then runs outside autodiff on the host
    /// ([`super::softmax`]); on a GPU it stays on the device as tensor operations.
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::NdArray)
    }

    /// The device (without autodiff). A GPU device is acquired once per process; where there is
    /// no adapter, or the binary was built without the `gpu` feature, this is
    /// [`Error::BackendUnavailable`] with the reason.
    pub fn device(self) -> Result<burn::prelude::Device> {
        match self {
            Backend::Flex => Ok(burn::prelude::Device::flex()),
            #[allow(deprecated)]
            Backend::NdArray => Ok(burn::prelude::Device::ndarray()),
            Backend::Wgpu | Backend::Vulkan | Backend::Cuda => gpu_device(self),
        }
    }
}

#[cfg(feature = "gpu")]
fn gpu_device(backend: Backend) -> Result<burn::prelude::Device> {
    use std::sync::OnceLock;

    use burn::tensor::wgpu::WgpuBackend;
    // burn's wgpu runtime can be initialised once per device and API in a process.
    static WGPU: OnceLock<std::result::Result<burn::prelude::Device, String>> = OnceLock::new();
    static VULKAN: OnceLock<std::result::Result<burn::prelude::Device, String>> = OnceLock::new();
    if backend == Backend::Cuda {
        #[cfg(feature = "cuda")]
        return Ok(burn::prelude::Device::cuda(0usize));
        #[cfg(not(feature = "cuda"))]
        return Err(Error::BackendUnavailable(
            "training on CUDA needs the `cuda` cargo feature: `cargo build --release --features \
             cuda` (its build downloads burn's CUDA kernel-compiler bundle)"
                .into(),
        ));
    }
    let (cell, api, name) = match backend {
        Backend::Vulkan => (&VULKAN, WgpuBackend::Vulkan, "Vulkan"),
        _ => (&WGPU, WgpuBackend::Auto, "wgpu"),
    };
    cell.get_or_init(|| {
        burn::prelude::Device::wgpu_options()
            .graphics_api(api)
            .init()
            .map_err(|e| format!("no {name} GPU adapter or device: {e}"))
    })
    .clone()
    .map_err(Error::BackendUnavailable)
}

#[cfg(not(feature = "gpu"))]
fn gpu_device(backend: Backend) -> Result<burn::prelude::Device> {
    Err(Error::BackendUnavailable(format!(
        "training on {backend:?} needs the `gpu` cargo feature: build with \
         `cargo build --release --features gpu`"
    )))
}
