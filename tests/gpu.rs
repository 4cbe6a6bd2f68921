//! Training on a GPU (`--features gpu`, `TrainOptions::backend` Wgpu) against the CPU. On a
//! machine without a GPU, Mesa's software Vulkan driver (lavapipe, Debian `mesa-vulkan-drivers`,
//! which `make bootstrap` installs) gives burn an adapter; where there is no adapter at all the
//! test says so and checks only that asking for one is a clear error.

#![cfg(feature = "gpu")]

mod common;

use common::walks::{prepared_walks, three_epochs, tiny_config};
use localrec::error::Error;
use localrec::train::{self, Backend};

/// A few epochs of a tiny model on the GPU follow the CPU's curve (the loss stays on the device
/// there, as tensor operations differentiated by autodiff; on the CPU it runs outside autodiff),
/// in both losses, and validation ranks alike. Both start from the same weights: the trainer
/// draws them on the CPU from the seed whatever the device.
#[test]
fn gpu_trains_as_the_cpu_does() {
    let device = match Backend::Wgpu.device() {
        Ok(device) => device,
        Err(Error::BackendUnavailable(why)) => {
            eprintln!("SKIPPED gpu_trains_as_the_cpu_does: no GPU adapter here ({why})");
            return;
        }
        Err(other) => panic!("asking for a GPU failed otherwise: {other}"),
    };
    eprintln!("training on {device:?}");
    let data = prepared_walks(300, 3);
    let config = tiny_config(&data)
        // Dropout masks come from each backend's own generator; without dropout both runs
        // compute the same function.
        .with_dropout(0.0);
    for negatives in [0, 8] {
        let cpu = three_epochs(&config, &data, negatives, Backend::Flex);
        let gpu = three_epochs(&config, &data, negatives, Backend::Wgpu);
        let losses = |t: &train::Trained| t.curve.iter().map(|e| e.loss).collect::<Vec<f64>>();
        let (c, g) = (losses(&cpu), losses(&gpu));
        assert_eq!(g.len(), 3);
        for (a, b) in g.iter().zip(&c) {
            assert!(
                (a - b).abs() < 1e-3 * b.abs(),
                "{negatives} negatives: gpu {g:?} vs cpu {c:?}"
            );
        }
        assert!(g[2] < g[0] - 0.05, "training moved the loss: {g:?}");
        let (vc, vg) = (cpu.curve[2].valid.ndcg10, gpu.curve[2].valid.ndcg10);
        assert!(
            (vc - vg).abs() < 0.02,
            "validation NDCG@10 cpu {vc} vs gpu {vg}"
        );
    }
}
