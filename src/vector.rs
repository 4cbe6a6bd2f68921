//! The two f32 loops the host-side inference runs most: a dot product and `y += a x`.
//!
//! The CPU bundle is built at opt-level `s`, where rustc turns LLVM's loop and SLP vectorisers
//! off, so in the browser they are written with WebAssembly SIMD; elsewhere the compiler
//! vectorises the portable loops. Both forms add in the same order (no fused multiply-add in
//! either), so results are the same on every platform.

/// `sum(a[i] * b[i])` over the shorter length, summed in 8 lanes (lane `i % 8`), then the lanes
/// in order, then the tail.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "wasm32")]
    // SAFETY: wasm has no run-time feature detection: a module built with SIMD instructions does
    // not compile on an engine without them (the package is built with them throughout).
    #[allow(unused_unsafe)]
    let lanes = unsafe { simd128::dot_lanes(a, b) };
    #[cfg(not(target_arch = "wasm32"))]
    let lanes = dot_lanes(a, b);
    let full = n - n % 8;
    let tail: f32 = a[full..].iter().zip(&b[full..]).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(not(target_arch = "wasm32"))]
fn dot_lanes(a: &[f32], b: &[f32]) -> [f32; 8] {
    let mut lanes = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes
}

/// `y[i] += a * x[i]` over the shorter length.
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len().min(x.len());
    let (y, x) = (&mut y[..n], &x[..n]);
    #[cfg(target_arch = "wasm32")]
    {
        let full = n - n % 4;
        // SAFETY: as in `dot`.
        #[allow(unused_unsafe)]
        unsafe {
            simd128::axpy(&mut y[..full], a, &x[..full])
        };
        for (y, x) in y[full..].iter_mut().zip(&x[full..]) {
            *y += a * x;
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use core::arch::wasm32::*;

    /// The 8 lane sums of [`super::dot`] over the whole chunks of 8.
    #[target_feature(enable = "simd128")]
    pub fn dot_lanes(a: &[f32], b: &[f32]) -> [f32; 8] {
        assert!(a.len() == b.len());
        let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for i in (0..a.len() - a.len() % 8).step_by(8) {
            // SAFETY: `i + 8 <= len` for both; v128_load has no alignment requirement.
            unsafe {
                let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
                let m = f32x4_mul(v128_load(pa as *const v128), v128_load(pb as *const v128));
                lo = f32x4_add(lo, m);
                let m = f32x4_mul(
                    v128_load(pa.add(4) as *const v128),
                    v128_load(pb.add(4) as *const v128),
                );
                hi = f32x4_add(hi, m);
            }
        }
        [
            f32x4_extract_lane::<0>(lo),
            f32x4_extract_lane::<1>(lo),
            f32x4_extract_lane::<2>(lo),
            f32x4_extract_lane::<3>(lo),
            f32x4_extract_lane::<0>(hi),
            f32x4_extract_lane::<1>(hi),
            f32x4_extract_lane::<2>(hi),
            f32x4_extract_lane::<3>(hi),
        ]
    }

    /// `y += a x` for lengths that are a multiple of 4.
    #[target_feature(enable = "simd128")]
    pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        assert!(y.len() == x.len() && y.len().is_multiple_of(4));
        let av = f32x4_splat(a);
        for i in (0..y.len()).step_by(4) {
            // SAFETY: `i + 4 <= len` for both; no alignment requirement.
            unsafe {
                let py = y.as_mut_ptr().add(i) as *mut v128;
                let m = f32x4_mul(av, v128_load(x.as_ptr().add(i) as *const v128));
                v128_store(py, f32x4_add(v128_load(py), m));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy_match_the_plain_loops() {
        for n in [0, 1, 7, 8, 9, 64, 67] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-5, "dot, n {n}");
            let mut y = b.clone();
            axpy(&mut y, 0.5, &a);
            for i in 0..n {
                assert_eq!(y[i], b[i] + 0.5 * a[i], "axpy, n {n}");
            }
        }
    }
}
