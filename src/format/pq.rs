//! Product quantisation of the item table: each row is cut into `subspaces` equal slices and each
//! slice stored as one byte, the index of the nearest of 256 centroids learned for that slice.
//! At d = 64 with 16 subspaces an item costs 16 bytes instead of 68 (int8 and its scale).
//! `localrec eval --item-table` measures what an encoding costs in quality ([`ItemTable`]);
//! no weights file stores one yet.

use crate::error::{Error, Result};

use super::quant::{Encoding, Quantized};

/// Centroids per subspace: one byte per code.
pub const CENTROIDS: usize = 256;

/// A row-major `rows x cols` matrix stored as product-quantisation codes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuantized {
    pub rows: usize,
    pub cols: usize,
    pub subspaces: usize,
    /// `[subspaces][CENTROIDS][cols / subspaces]`, row-major.
    pub codebooks: Vec<f32>,
    /// `[rows][subspaces]`: each row's centroid in each subspace.
    pub codes: Vec<u8>,
}

impl ProductQuantized {
    /// Checks that the parts fit together.
    pub fn new(
        rows: usize,
        cols: usize,
        subspaces: usize,
        codebooks: Vec<f32>,
        codes: Vec<u8>,
    ) -> Result<Self> {
        check_shape(cols, subspaces)?;
        let books = CENTROIDS.checked_mul(cols);
        let codes_len = rows.checked_mul(subspaces);
        if books != Some(codebooks.len()) || codes_len != Some(codes.len()) {
            return Err(Error::ModelCorrupt(format!(
                "product quantisation of [{rows}, {cols}] in {subspaces} subspaces needs {} \
                 centroid values and {} codes, found {} and {}",
                CENTROIDS * cols,
                rows.saturating_mul(subspaces),
                codebooks.len(),
                codes.len()
            )));
        }
        Ok(Self {
            rows,
            cols,
            subspaces,
            codebooks,
            codes,
        })
    }

    /// Width of one subspace.
    pub fn sub(&self) -> usize {
        self.cols / self.subspaces
    }

    /// Learns the codebooks from `values` (row-major `rows x cols`) with k-means in each
    /// subspace (k-means++ seeding, Lloyd iterations, on a seeded sample of at most
    /// `max_sample` rows; row 0 is the padding row and is left out of training), then codes
    /// every row. Deterministic for a seed.
    pub fn train(
        values: &[f32],
        rows: usize,
        cols: usize,
        subspaces: usize,
        max_sample: usize,
        seed: u64,
    ) -> Result<Self> {
        use rand::{SeedableRng, rngs::StdRng};
        use rayon::prelude::*;
        check_shape(cols, subspaces)?;
        if values.len() != rows * cols || rows < 2 {
            return Err(Error::InvalidArgument(format!(
                "{} values do not make a table of [{rows} >= 2, {cols}]",
                values.len()
            )));
        }
        let sub = cols / subspaces;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x0517_c0de);
        let sample: Vec<usize> = if rows - 1 <= max_sample {
            (1..rows).collect()
        } else {
            let mut s: Vec<usize> = rand::seq::index::sample(&mut rng, rows - 1, max_sample)
                .into_iter()
                .map(|i| i + 1)
                .collect();
            s.sort_unstable();
            s
        };
        let seeds: Vec<u64> = (0..subspaces)
            .map(|j| seed.wrapping_add(j as u64))
            .collect();
        let books: Vec<Vec<f32>> = seeds
            .par_iter()
            .enumerate()
            .map(|(j, &s)| {
                let points: Vec<f32> = sample
                    .iter()
                    .flat_map(|&r| values[r * cols + j * sub..r * cols + (j + 1) * sub].iter())
                    .copied()
                    .collect();
                kmeans(&points, sub, CENTROIDS, 25, s)
            })
            .collect();
        let codebooks: Vec<f32> = books.concat();
        let mut codes = vec![0u8; rows * subspaces];
        codes
            .par_chunks_mut(subspaces)
            .enumerate()
            .for_each(|(r, row_codes)| {
                for (j, code) in row_codes.iter_mut().enumerate() {
                    let x = &values[r * cols + j * sub..r * cols + (j + 1) * sub];
                    *code = nearest(&books[j], sub, x).0 as u8;
                }
            });
        Self::new(rows, cols, subspaces, codebooks, codes)
    }

    /// [`Self::train`] as `localrec eval --item-table pqM` codes a model's item table: k-means
    /// on a sample of at most 65,536 rows.
    pub fn of_table(
        values: &[f32],
        rows: usize,
        cols: usize,
        subspaces: usize,
        seed: u64,
    ) -> Result<Self> {
        Self::train(values, rows, cols, subspaces, 1 << 16, seed)
    }

    /// Back to f32, row-major: each row its centroids side by side.
    pub fn decode(&self) -> Vec<f32> {
        let sub = self.sub();
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for row in self.codes.chunks_exact(self.subspaces) {
            for (j, &c) in row.iter().enumerate() {
                let at = (j * CENTROIDS + c as usize) * sub;
                out.extend_from_slice(&self.codebooks[at..at + sub]);
            }
        }
        out
    }
}

/// How an item table can be stored: what `localrec eval --item-table` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTable {
    /// As a shipped file can hold it: int8 or int4 per row with an f32 scale.
    Quantized(Encoding),
    /// Product quantisation with this many one-byte subspaces.
    Pq(usize),
}

impl std::str::FromStr for ItemTable {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Ok(encoding) = s.parse() {
            return Ok(Self::Quantized(encoding));
        }
        s.strip_prefix("pq")
            .and_then(|m| m.parse().ok())
            .filter(|&m| m > 0)
            .map(Self::Pq)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "item table {s:?}: expected int8, int4 or pqM (M subspaces, e.g. pq16)"
                ))
            })
    }
}

impl std::fmt::Display for ItemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Quantized(encoding) => encoding.fmt(f),
            Self::Pq(m) => write!(f, "pq{m}"),
        }
    }
}

impl ItemTable {
    /// Bytes stored per item at width `cols` (codes and per-row scales; shared codebooks not
    /// counted).
    pub fn bytes_per_item(self, cols: usize) -> usize {
        match self {
            Self::Quantized(encoding) => encoding.row_bytes(cols),
            Self::Pq(m) => m,
        }
    }

    /// Bytes shared by every item (product quantisation's codebooks, as f32).
    pub fn shared_bytes(self, cols: usize) -> usize {
        match self {
            Self::Pq(_) => CENTROIDS * cols * 4,
            Self::Quantized(_) => 0,
        }
    }

    /// What scoring sees of `values` (`rows x cols`) once stored this way: the table encoded
    /// and decoded again.
    pub fn round_trip(
        self,
        values: &[f32],
        rows: usize,
        cols: usize,
        seed: u64,
    ) -> Result<Vec<f32>> {
        Ok(match self {
            Self::Quantized(encoding) => {
                Quantized::quantize(values, rows, cols, encoding).dequantize()
            }
            Self::Pq(m) => ProductQuantized::of_table(values, rows, cols, m, seed)?.decode(),
        })
    }
}

fn check_shape(cols: usize, subspaces: usize) -> Result<()> {
    if subspaces == 0 || cols == 0 || !cols.is_multiple_of(subspaces) {
        return Err(Error::InvalidArgument(format!(
            "{subspaces} subspaces must divide the table's width {cols}"
        )));
    }
    Ok(())
}

/// The nearest centroid of `book` (`k x dim`) to `x`, and the squared distance.
pub(crate) fn nearest(book: &[f32], dim: usize, x: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (i, c) in book.chunks_exact(dim).enumerate() {
        let d: f32 = c.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// k-means of `points` (`n x dim`, row-major) into `k` centroids: k-means++ seeding, then
/// `iters` Lloyd steps; a centroid left without points takes the point farthest from its own.
/// With fewer distinct points than `k` the spare centroids repeat points (codes stay valid).
fn kmeans(points: &[f32], dim: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let n = points.len() / dim;
    let point = |i: usize| &points[i * dim..(i + 1) * dim];
    let dist =
        |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum() };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centroids = Vec::with_capacity(k * dim);
    centroids.extend_from_slice(point(rng.random_range(0..n)));
    let mut closest: Vec<f32> = (0..n).map(|i| dist(point(i), &centroids[..dim])).collect();
    while centroids.len() < k * dim {
        let total: f64 = closest.iter().map(|&d| d as f64).sum();
        let pick = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &d) in closest.iter().enumerate() {
                target -= d as f64;
                if target <= 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            rng.random_range(0..n)
        };
        let start = centroids.len();
        centroids.extend_from_slice(point(pick));
        let c = centroids[start..].to_vec();
        for (i, d) in closest.iter_mut().enumerate() {
            *d = d.min(dist(point(i), &c));
        }
    }
    let mut assign = vec![0usize; n];
    let mut far = vec![0f32; n];
    for _ in 0..iters {
        for i in 0..n {
            let (c, d) = nearest(&centroids, dim, point(i));
            assign[i] = c;
            far[i] = d;
        }
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &c) in assign.iter().enumerate() {
            counts[c] += 1;
            for (s, &v) in sums[c * dim..(c + 1) * dim].iter_mut().zip(point(i)) {
                *s += v as f64;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                // Re-seed an empty cluster at the worst-served point.
                let (worst, _) =
                    far.iter()
                        .enumerate()
                        .fold(
                            (0, f32::NEG_INFINITY),
                            |b, (i, &d)| if d > b.1 { (i, d) } else { b },
                        );
                centroids[c * dim..(c + 1) * dim].copy_from_slice(point(worst));
                far[worst] = 0.0;
                continue;
            }
            for (x, s) in centroids[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(&sums[c * dim..(c + 1) * dim])
            {
                *x = (*s / counts[c] as f64) as f32;
            }
        }
    }
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) + ((i / cols) % 5) as f32 * 0.1)
            .collect()
    }

    #[test]
    fn more_subspaces_reconstruct_better_and_training_is_seeded() {
        let (rows, cols) = (3000, 16);
        let values = table(rows, cols);
        let error = |subspaces: usize| {
            let pq = ProductQuantized::train(&values, rows, cols, subspaces, 10_000, 1).unwrap();
            let e: f32 = pq
                .decode()
                .iter()
                .zip(&values)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            let total: f32 = values.iter().map(|v| v * v).sum();
            (e / total, pq)
        };
        let (e2, a) = error(2);
        let (e8, _) = error(8);
        assert!(e8 < e2, "8 subspaces {e8} vs 2 subspaces {e2}");
        assert!(e8 < 0.05, "relative error {e8}");
        assert_eq!(a, error(2).1, "same seed, same codes");
    }

    #[test]
    fn sizes_that_do_not_fit_are_refused() {
        assert!(ProductQuantized::new(2, 16, 3, vec![0.0; 256 * 16], vec![0; 6]).is_err());
        assert!(ProductQuantized::new(2, 16, 4, vec![0.0; 256 * 16], vec![0; 7]).is_err());
        assert!(ProductQuantized::new(2, 16, 4, vec![0.0; 255 * 16], vec![0; 8]).is_err());
        assert!(ProductQuantized::new(usize::MAX, 16, 4, vec![0.0; 256 * 16], vec![]).is_err());
        assert!(ProductQuantized::new(2, 16, 4, vec![0.0; 256 * 16], vec![0; 8]).is_ok());
    }
}
