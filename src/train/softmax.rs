//! Full softmax cross-entropy over the catalogue, with its gradients, outside autodiff.
//!
//! Expressed as tensor ops, full cross-entropy walks the `positions x items` logits about ten times
//! (mask, max, subtract, exp, sum, log, gather, then the same again backwards), each pass a new
//! allocation: at Beauty's size that was most of a training step (an epoch took about 50 s, of
//! which the encoder's forward, backward and Adam take about 3.5 s). Here each chunk of positions
//! makes its logits with one matrix product, turns them into the gradient in place in one exp
//! pass, and multiplies back twice; chunks run on the rayon pool. The training loop hands the
//! gradients to autodiff through a surrogate (`sum(h * dh) + sum(e * de)`, whose gradients are
//! exactly `dh` and `de`), so the encoder's backward pass is burn's, unchanged. Sampled softmax
//! goes the same way ([`sampled_cross_entropy`]): as tensor ops it was a dozen small ops per step
//! (gathers, batched products, masks, log-softmax) and their backward passes.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Logits held at once per chunk (floats): chunks shrink as the catalogue grows.
const CHUNK_FLOATS: usize = 1 << 21;

/// The mean (or weighted mean) cross-entropy, full or sampled, and its gradients.
#[derive(Debug, Clone)]
pub struct CrossEntropy {
    /// The loss: the weighted mean over positions of `-log softmax(h · Eᵀ)[target]`.
    pub loss: f64,
    /// Gradient with respect to the hidden states, `[positions, d]` row-major.
    pub d_hidden: Vec<f32>,
    /// Gradient with respect to the output table, `[rows, d]` row-major (row 0 stays zero, and
    /// with sampled negatives so do the rows no position drew). The trainer's sampled loss
    /// passes only the rows its step gathered ([`super::lazy`]), so this is as small as they are.
    pub d_table: Vec<f32>,
}

/// Cross-entropy of each hidden state (`hidden`, `[p, d]`) against every row of `table`
/// (`[rows, d]`; row 0 is padding and takes no probability), with targets in `1..rows` and
/// optional per-position weights. Runs on the current rayon pool.
pub fn full_cross_entropy(
    hidden: &[f32],
    table: &[f32],
    d: usize,
    targets: &[u32],
    weights: Option<&[f32]>,
) -> Result<CrossEntropy> {
    let p = targets.len();
    let (rows, total) = check("cross-entropy", hidden, table, d, p, targets, weights)?;
    let chunk = (CHUNK_FLOATS / rows.max(1)).clamp(1, 256);
    // One even share of the positions per worker, each walked in chunks with one accumulator
    // for the table's gradient: a single sum of `threads` tables at the end.
    let share = p.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let mut d_hidden = vec![0f32; p * d];
    let parts: Vec<(f64, Vec<f32>)> = d_hidden
        .par_chunks_mut(share * d)
        .enumerate()
        .map(|(part, dh_part)| {
            let mut acc = vec![0f32; rows * d];
            let mut logits = Vec::new();
            let mut loss = 0f64;
            for (c, dh) in dh_part.chunks_mut(chunk * d).enumerate() {
                let start = part * share + c * chunk;
                let n = dh.len() / d;
                logits.resize(n * rows, 0f32);
                loss += chunk_gradient(
                    &hidden[start * d..(start + n) * d],
                    table,
                    d,
                    &targets[start..start + n],
                    weights.map(|w| &w[start..start + n]),
                    total,
                    &mut logits,
                    dh,
                    &mut acc,
                );
            }
            (loss, acc)
        })
        .collect();
    let mut parts = parts.into_iter();
    let (mut loss, mut d_table) = parts.next().unwrap_or((0.0, vec![0f32; rows * d]));
    for (l, acc) in parts {
        loss += l;
        d_table.iter_mut().zip(&acc).for_each(|(x, y)| *x += y);
    }
    Ok(CrossEntropy {
        loss,
        d_hidden,
        d_table,
    })
}

/// Checks that `p` hidden states and a table of width `d` fit together, that every id is a
/// catalogue row (not padding) and that there is one weight per position; returns the table's
/// rows and the weights' total (the mean's divisor).
#[allow(clippy::too_many_arguments)]
fn check(
    what: &str,
    hidden: &[f32],
    table: &[f32],
    d: usize,
    p: usize,
    ids: &[u32],
    weights: Option<&[f32]>,
) -> Result<(usize, f64)> {
    let rows = table.len() / d.max(1);
    let bad = |why: String| Err(Error::InvalidArgument(format!("{what}: {why}")));
    if d == 0 || rows * d != table.len() || hidden.len() != p * d {
        return bad(format!(
            "{} hidden values and {} table values do not make [{p}, {d}] and [rows, {d}]",
            hidden.len(),
            table.len()
        ));
    }
    if let Some(&t) = ids.iter().find(|&&t| t == 0 || t as usize >= rows) {
        return bad(format!("item {t} is not a catalogue row in 1..{rows}"));
    }
    if weights.is_some_and(|w| w.len() != p) {
        return bad(format!("{p} positions need {p} weights"));
    }
    Ok((
        rows,
        weights.map_or(p as f64, |w| w.iter().map(|&x| x as f64).sum()),
    ))
}

/// Position `i`'s share of the mean: its weight over the total.
fn weight_of(weights: Option<&[f32]>, i: usize, total: f64) -> f64 {
    weights.map_or(1.0, |w| w[i] as f64) / total
}

/// One chunk of `n` positions: its share of the loss; writes the hidden-state gradients to `dh`
/// and adds the table's to `acc`. `logits` is scratch of `n x rows`.
#[allow(clippy::too_many_arguments)]
fn chunk_gradient(
    h: &[f32],
    table: &[f32],
    d: usize,
    targets: &[u32],
    weights: Option<&[f32]>,
    total: f64,
    logits: &mut [f32],
    dh: &mut [f32],
    acc: &mut [f32],
) -> f64 {
    let n = targets.len();
    let rows = table.len() / d;
    // logits = h · tableᵀ, then in place E = exp(logits - max) per row (padding row 0 zeroed).
    gemm(n, d, rows, h, (d, 1), table, (1, d), 0.0, logits, (rows, 1));
    // d loss / d logits = w (E / sum - onehot). The per-row factor w / sum is applied to the
    // small operands instead of the logits (one pass over them fewer): dh = s (E · table) -
    // w table[t], and the table's gradient gets Eᵀ · (s h) - w h at each target row.
    let mut loss = 0f64;
    let mut scaled_h = h.to_vec();
    let mut factors = Vec::with_capacity(n);
    for (r, z) in logits.chunks_exact_mut(rows).enumerate() {
        let t = targets[r] as usize;
        let w = weight_of(weights, r, total);
        let target_logit = z[t];
        let (m, sum) = exp_shifted(&mut z[1..]);
        z[0] = 0.0;
        loss += w * ((m as f64 + sum.ln()) - target_logit as f64);
        let s = (w / sum) as f32;
        scaled_h[r * d..(r + 1) * d]
            .iter_mut()
            .for_each(|x| *x *= s);
        factors.push((s, w as f32));
    }
    gemm(
        n,
        rows,
        d,
        logits,
        (rows, 1),
        table,
        (d, 1),
        0.0,
        dh,
        (d, 1),
    );
    gemm(
        rows,
        n,
        d,
        logits,
        (1, rows),
        &scaled_h,
        (d, 1),
        1.0,
        acc,
        (d, 1),
    );
    for (r, &(s, w)) in factors.iter().enumerate() {
        let t = targets[r] as usize;
        let target_row = &table[t * d..(t + 1) * d];
        for (g, &e) in dh[r * d..(r + 1) * d].iter_mut().zip(target_row) {
            *g = *g * s - w * e;
        }
        for (a, &x) in acc[t * d..(t + 1) * d]
            .iter_mut()
            .zip(&h[r * d..(r + 1) * d])
        {
            *a -= w * x;
        }
    }
    loss
}

/// Sampled softmax: position `i`'s target against the `n` negatives of its group `groups[i]`
/// (`negatives` holds `n` rows per group, group after group); a negative equal to the target
/// takes no probability. The mean (or weighted mean) over positions, as [`full_cross_entropy`].
/// Groups run in parallel on the rayon pool, each worker adding into one dense gradient of the
/// table (summed once at the end); a group is two small matrix products and one exp pass.
#[allow(clippy::too_many_arguments)]
pub fn sampled_cross_entropy(
    hidden: &[f32],
    table: &[f32],
    d: usize,
    targets: &[u32],
    groups: &[usize],
    negatives: &[u32],
    n: usize,
    weights: Option<&[f32]>,
) -> Result<CrossEntropy> {
    let p = targets.len();
    let ids = [targets, negatives].concat();
    let (rows, total) = check("sampled softmax", hidden, table, d, p, &ids, weights)?;
    let n_groups = negatives.len() / n.max(1);
    let bad = |what: String| Err(Error::InvalidArgument(format!("sampled softmax: {what}")));
    if n == 0 || n_groups * n != negatives.len() || groups.len() != p {
        return bad(format!(
            "{} negatives are not {n} per group, or {} groups for {p} positions",
            negatives.len(),
            groups.len()
        ));
    }
    if let Some(&g) = groups.iter().find(|&&g| g >= n_groups) {
        return bad(format!("group {g} has no negatives ({n_groups} groups)"));
    }
    let mut members = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        members[g].push(i);
    }
    let row = |r: u32| &table[r as usize * d..(r as usize + 1) * d];
    // One even share of the groups per worker, each walked in order with one accumulator for the
    // table's gradient: the sums do not depend on how rayon schedules the work.
    let busy: Vec<usize> = (0..n_groups).filter(|&g| !members[g].is_empty()).collect();
    let share = busy
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    let shares: Vec<(f64, Vec<f32>, Vec<Vec<f32>>)> = busy
        .par_chunks(share)
        .map(|share| {
            let (mut loss, mut acc, mut done) = (0f64, vec![0f32; rows * d], Vec::new());
            let (mut neg_table, mut h, mut z) = (Vec::new(), Vec::new(), Vec::new());
            let mut d_neg = vec![0f32; n * d];
            for &g in share {
                let m = &members[g];
                let negs = &negatives[g * n..(g + 1) * n];
                neg_table.clear();
                for &r in negs {
                    neg_table.extend_from_slice(row(r));
                }
                h.clear();
                for &i in m {
                    h.extend_from_slice(&hidden[i * d..(i + 1) * d]);
                }
                let (k, w1) = (m.len(), n + 1);
                // Row r of z: [target logit, the negatives' logits], then in place its softmax
                // times the position's weight (the gradient with respect to the logits, but for
                // the target's -w, applied below).
                z.clear();
                z.resize(k * w1, 0f32);
                gemm(
                    k,
                    d,
                    n,
                    &h,
                    (d, 1),
                    &neg_table,
                    (1, d),
                    0.0,
                    &mut z[1..],
                    (w1, 1),
                );
                let mut g_target = Vec::with_capacity(k);
                for (r, zr) in z.chunks_exact_mut(w1).enumerate() {
                    let i = m[r];
                    let t = targets[i];
                    let w = weight_of(weights, i, total);
                    let hr = &h[r * d..(r + 1) * d];
                    zr[0] = hr.iter().zip(row(t)).map(|(a, b)| a * b).sum();
                    let pos = zr[0];
                    let masked = negs.contains(&t);
                    if masked {
                        for (v, &x) in zr[1..].iter_mut().zip(negs) {
                            if x == t {
                                *v = f32::NEG_INFINITY;
                            }
                        }
                    }
                    let (top, mut sum) = exp_shifted(zr);
                    // A masked negative takes no probability at all (the exp floors at e^-87).
                    if masked {
                        for (v, &x) in zr[1..].iter_mut().zip(negs) {
                            if x == t {
                                sum -= *v as f64;
                                *v = 0.0;
                            }
                        }
                    }
                    loss += w * ((top as f64 + sum.ln()) - pos as f64);
                    g_target.push((w * (zr[0] as f64 / sum - 1.0)) as f32);
                    let scale = (w / sum) as f32;
                    zr[1..].iter_mut().for_each(|v| *v *= scale);
                }
                // dh = G · negatives + g_t e_t;  d negatives = Gᵀ · h;  d e_t = g_t h.
                let mut dh = vec![0f32; k * d];
                gemm(
                    k,
                    n,
                    d,
                    &z[1..],
                    (w1, 1),
                    &neg_table,
                    (d, 1),
                    0.0,
                    &mut dh,
                    (d, 1),
                );
                gemm(
                    n,
                    k,
                    d,
                    &z[1..],
                    (1, w1),
                    &h,
                    (d, 1),
                    0.0,
                    &mut d_neg,
                    (d, 1),
                );
                for (&x, grad) in negs.iter().zip(d_neg.chunks_exact(d)) {
                    let at = x as usize * d;
                    acc[at..at + d]
                        .iter_mut()
                        .zip(grad)
                        .for_each(|(a, &b)| *a += b);
                }
                for (r, &gt) in g_target.iter().enumerate() {
                    let t = targets[m[r]] as usize;
                    for (x, &e) in dh[r * d..(r + 1) * d].iter_mut().zip(row(t as u32)) {
                        *x += gt * e;
                    }
                    let hr = &h[r * d..(r + 1) * d];
                    for (a, &x) in acc[t * d..(t + 1) * d].iter_mut().zip(hr) {
                        *a += gt * x;
                    }
                }
                done.push(dh);
            }
            (loss, acc, done)
        })
        .collect();
    let mut shares = shares.into_iter();
    let (mut loss, mut d_table, mut dhs) = shares
        .next()
        .unwrap_or_else(|| (0.0, vec![0f32; rows * d], Vec::new()));
    for (l, acc, done) in shares {
        loss += l;
        d_table.iter_mut().zip(&acc).for_each(|(x, y)| *x += y);
        dhs.extend(done);
    }
    let mut d_hidden = vec![0f32; p * d];
    for (&g, dh) in busy.iter().zip(dhs) {
        for (r, &i) in members[g].iter().enumerate() {
            d_hidden[i * d..(i + 1) * d].copy_from_slice(&dh[r * d..(r + 1) * d]);
        }
    }
    Ok(CrossEntropy {
        loss,
        d_hidden,
        d_table,
    })
}

/// Replaces each value `v` of `z` by `exp(v - max)`; returns the max and the sum of the new values.
/// One pass over the logits per row with a vectorisable exp. Over a chunk of 173 Beauty rows
/// (2.1 M logits) the pass took 7.8 ms with libm's `expf`, 4.9 ms with `wide`'s f32x8 exp
/// (compiled for the x86-64 baseline: SSE2, no rounding instruction) and 2.9 ms with these
/// loops, which compile to 8-lane code with AVX2 and FMA (checked at run time).
fn exp_shifted(z: &mut [f32]) -> (f32, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { exp_shifted_avx2(z) };
    }
    exp_shifted_lanes(z)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_shifted_avx2(z: &mut [f32]) -> (f32, f64) {
    exp_shifted_lanes(z)
}

/// The loops of [`exp_shifted`], over 16 independent lanes so they vectorise without
/// reassociating floating-point sums.
#[inline(always)]
fn exp_shifted_lanes(z: &mut [f32]) -> (f32, f64) {
    const L: usize = 16;
    let (body, tail) = z.split_at_mut(z.len() / L * L);
    let mut lanes = [f32::NEG_INFINITY; L];
    for c in body.chunks_exact(L) {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let m = lanes
        .iter()
        .chain(tail.iter())
        .fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut sums = [0f32; L];
    for c in body.chunks_exact_mut(L) {
        for (s, v) in sums.iter_mut().zip(c) {
            *v = exp_le0(*v - m);
            *s += *v;
        }
    }
    let mut sum: f64 = sums.iter().map(|&x| x as f64).sum();
    for v in tail {
        *v = exp_le0(*v - m);
        sum += *v as f64;
    }
    (m, sum)
}

/// `e^x` for `x <= 0` (Cephes' expf: `2^n e^r`, `|r| <= ln 2 / 2`, a degree-6 polynomial;
/// relative error about 2e-7), flushing below `e^-87` to that value's order.
#[inline(always)]
fn exp_le0(x: f32) -> f32 {
    let x = x.max(-87.0);
    // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick (no rounding instruction).
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `c = a · b + beta c` for row/column strides `(rs, cs)`, `a` m x k, `b` k x n.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
    (rsc, csc): (usize, usize),
) {
    let end = |rs: usize, cs: usize, r: usize, col: usize| (r - 1) * rs + (col - 1) * cs + 1;
    if m == 0 || n == 0 {
        return;
    }
    assert!(k == 0 || a.len() >= end(rsa, csa, m, k));
    assert!(k == 0 || b.len() >= end(rsb, csb, k, n));
    assert!(c.len() >= end(rsc, csc, m, n));
    // SAFETY: the asserts above keep every index the product reads or writes inside the slices,
    // and `c` is borrowed mutably, apart from `a` and `b`.
    unsafe {
        // gemm's convention: dst = alpha dst + beta (lhs rhs), dst not read when read_dst is
        // false. One thread: the rayon workers already split the positions.
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            csc as isize,
            rsc as isize,
            beta != 0.0,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            beta,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss and gradients from the definition, in f64, one position at a time.
    fn reference(
        hidden: &[f32],
        table: &[f32],
        d: usize,
        targets: &[u32],
        weights: Option<&[f32]>,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let rows = table.len() / d;
        let total: f64 =
            weights.map_or(targets.len() as f64, |w| w.iter().map(|&x| x as f64).sum());
        let (mut loss, mut dh, mut de) = (0.0, vec![0.0; hidden.len()], vec![0.0; table.len()]);
        for (r, &t) in targets.iter().enumerate() {
            let w = weights.map_or(1.0, |w| w[r] as f64) / total;
            let h = &hidden[r * d..(r + 1) * d];
            let z: Vec<f64> = (0..rows)
                .map(|j| (0..d).map(|k| h[k] as f64 * table[j * d + k] as f64).sum())
                .collect();
            let m = z[1..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = z[1..].iter().map(|v| (v - m).exp()).sum();
            loss += w * (m + s.ln() - z[t as usize]);
            for j in 1..rows {
                let g = w * ((z[j] - m).exp() / s - if j == t as usize { 1.0 } else { 0.0 });
                for k in 0..d {
                    dh[r * d + k] += g * table[j * d + k] as f64;
                    de[j * d + k] += g * h[k] as f64;
                }
            }
        }
        (loss, dh, de)
    }

    /// Deterministic values in [-0.5, 0.5) (a linear congruential generator).
    fn noise(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        }
    }

    fn close(a: &[f32], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (*x as f64 - y).abs() < 1e-5)
    }

    #[test]
    fn exp_is_accurate_over_the_range_softmax_uses() {
        let mut x = 0f32;
        while x > -87.0 {
            let (want, got) = ((x as f64).exp(), exp_le0(x) as f64);
            assert!(
                (got - want).abs() <= 4e-7 * want,
                "exp({x}) = {got}, not {want}"
            );
            x -= 0.0137;
        }
        assert!(exp_le0(-1e30) < 1e-37 && exp_le0(f32::NEG_INFINITY) < 1e-37);
        let mut z: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        let want_max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let want_sum: f64 = z.iter().map(|&v| ((v - want_max) as f64).exp()).sum();
        let (m, sum) = exp_shifted(&mut z);
        assert_eq!(m, want_max);
        assert!((sum - want_sum).abs() < 1e-5 * want_sum);
    }

    #[test]
    fn sampled_matches_the_definition() {
        let mut next = noise(11);
        let (d, rows, n) = (4usize, 12usize, 3usize);
        let table: Vec<f32> = (0..rows * d).map(|_| next()).collect();
        let hidden: Vec<f32> = (0..5 * d).map(|_| 2.0 * next()).collect();
        let targets = [3u32, 5, 7, 2, 11];
        let groups = [0usize, 0, 1, 1, 1];
        let negatives = [5u32, 9, 1, 2, 4, 6];
        let got = sampled_cross_entropy(&hidden, &table, d, &targets, &groups, &negatives, n, None)
            .unwrap();
        let dot = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum::<f64>()
        };
        let mut loss = 0.0;
        let mut dh = vec![0f64; 5 * d];
        let mut de = vec![0f64; rows * d];
        for i in 0..5 {
            let h = &hidden[i * d..(i + 1) * d];
            let t = targets[i] as usize;
            let mut cands = vec![t];
            cands.extend(
                negatives[groups[i] * n..(groups[i] + 1) * n]
                    .iter()
                    .map(|&x| x as usize),
            );
            let z: Vec<f64> = cands
                .iter()
                .enumerate()
                .map(|(j, &c)| {
                    if j > 0 && c == t {
                        f64::NEG_INFINITY
                    } else {
                        dot(h, &table[c * d..(c + 1) * d])
                    }
                })
                .collect();
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
            loss += (m + s.ln() - z[0]) / 5.0;
            for (j, &c) in cands.iter().enumerate() {
                let g = ((z[j] - m).exp() / s - if j == 0 { 1.0 } else { 0.0 }) / 5.0;
                for k in 0..d {
                    dh[i * d + k] += g * table[c * d + k] as f64;
                    de[c * d + k] += g * h[k] as f64;
                }
            }
        }
        assert!((got.loss - loss).abs() < 1e-5, "{} vs {loss}", got.loss);
        assert!(close(&got.d_hidden, &dh));
        assert!(close(&got.d_table, &de));
        assert!(got.d_table[..d].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn matches_the_definition_across_chunks_and_weights() {
        // 3000 rows make several chunks of positions.
        let mut next = noise(7);
        let (d, rows) = (8, 3000);
        let table: Vec<f32> = (0..rows * d).map(|_| next()).collect();
        for p in [1usize, 5, 1500] {
            let hidden: Vec<f32> = (0..p * d).map(|_| 2.0 * next()).collect();
            let targets: Vec<u32> = (0..p).map(|i| 1 + (i * 37 % (rows - 1)) as u32).collect();
            let weights: Vec<f32> = (0..p).map(|i| 1.0 + (i % 3) as f32).collect();
            for w in [None, Some(weights.as_slice())] {
                let got = full_cross_entropy(&hidden, &table, d, &targets, w).unwrap();
                let (loss, dh, de) = reference(&hidden, &table, d, &targets, w);
                assert!((got.loss - loss).abs() < 1e-5, "{} vs {loss}", got.loss);
                assert!(close(&got.d_hidden, &dh), "hidden gradients, p = {p}");
                assert!(close(&got.d_table, &de), "table gradients, p = {p}");
                assert!(got.d_table[..d].iter().all(|&x| x == 0.0));
            }
        }
        // Inputs that do not fit together are refused, not read out of bounds.
        let (h, t) = (vec![0.5f32; 2 * d], [1u32, 2]);
        assert!(full_cross_entropy(&h, &table, d, &t, None).is_ok());
        assert!(full_cross_entropy(&h[1..], &table, d, &t, None).is_err());
        assert!(full_cross_entropy(&h, &table, d, &[1, 0], None).is_err());
        assert!(full_cross_entropy(&h, &table, d, &[1, rows as u32], None).is_err());
        assert!(full_cross_entropy(&h, &table, d, &t, Some(&[1.0])).is_err());
        assert!(full_cross_entropy(&h, &table, 0, &t, None).is_err());
    }
}
