//! Codes for the item table: a few bytes per item, each the index of one of 256 learned centroids.
//!
//! - **Product quantisation** (`pqM`): each row is cut into `M` equal slices and each slice
//!   stored as the nearest of 256 centroids learned for that slice. At d = 64 with 16 slices an
//!   item costs 16 bytes instead of 68 (int8 and its scale).
//! - **Residual quantisation** (`rqM`): `M` codebooks each span the whole row, and a row is the
//!   sum of one centroid from each: the first codebook codes the row, each next one what the
//!   earlier ones left (k-means on the residuals). `M` need not divide the width, and every
//!   code shapes every dimension. Scoring stays one table lookup per code (the query's dot
//!   product with each centroid, computed once per query).
//!
//! `localrec eval --item-table` measures what an encoding costs in quality ([`ItemTable`]).
//! Residual codes are what a weights file can store (format version 4,
//! [`super::coded::CodedTable`]); product codes are measured only.

use crate::error::{Error, Result};

use super::quant::{Encoding, Quantized};

/// Centroids per codebook: one byte per code.
pub const CENTROIDS: usize = 256;

/// A row-major `rows x cols` matrix stored as `books` one-byte codes per row.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuantized {
    pub rows: usize,
    pub cols: usize,
    /// Codebooks, one code per row in each: subspaces, or residual stages.
    pub books: usize,
    /// Residual quantisation: every codebook spans the whole row and a row is the sum of its
    /// centroids. Otherwise codebook `j` spans the `j`-th slice of `cols / books` columns.
    pub residual: bool,
    /// `[books][CENTROIDS][width]` ([`Self::width`]), row-major.
    pub codebooks: Vec<f32>,
    /// `[rows][books]`: each row's centroid in each codebook.
    pub codes: Vec<u8>,
}

impl ProductQuantized {
    /// Checks that the parts fit together.
    pub fn new(
        rows: usize,
        cols: usize,
        books: usize,
        residual: bool,
        codebooks: Vec<f32>,
        codes: Vec<u8>,
    ) -> Result<Self> {
        check_shape(cols, books, residual)?;
        let width = if residual { cols } else { cols / books };
        let book_values = books
            .checked_mul(CENTROIDS)
            .and_then(|n| n.checked_mul(width));
        let codes_len = rows.checked_mul(books);
        if book_values != Some(codebooks.len()) || codes_len != Some(codes.len()) {
            return Err(Error::ModelCorrupt(format!(
                "{} quantisation of [{rows}, {cols}] in {books} codebooks needs {} centroid \
                 values and {} codes, found {} and {}",
                if residual { "residual" } else { "product" },
                books.saturating_mul(CENTROIDS).saturating_mul(width),
                rows.saturating_mul(books),
                codebooks.len(),
                codes.len()
            )));
        }
        Ok(Self {
            rows,
            cols,
            books,
            residual,
            codebooks,
            codes,
        })
    }

    /// Width of one centroid: the row's for residual codes, a slice's for product codes.
    pub fn width(&self) -> usize {
        if self.residual {
            self.cols
        } else {
            self.cols / self.books
        }
    }

    /// Learns the codebooks from `values` (row-major `rows x cols`) with k-means (k-means++
    /// seeding, Lloyd iterations, on a seeded sample of at most `max_sample` rows; row 0 is the
    /// padding row and is left out of training), then codes every row: product codes with one
    /// k-means per slice, residual codes with one per stage on what the earlier stages left
    /// (each row coded greedily, stage by stage). Deterministic for a seed.
    pub fn train(
        values: &[f32],
        rows: usize,
        cols: usize,
        books: usize,
        residual: bool,
        max_sample: usize,
        seed: u64,
    ) -> Result<Self> {
        use rand::{SeedableRng, rngs::StdRng};
        use rayon::prelude::*;
        check_shape(cols, books, residual)?;
        if values.len() != rows * cols || rows < 2 {
            return Err(Error::InvalidArgument(format!(
                "{} values do not make a table of [{rows} >= 2, {cols}]",
                values.len()
            )));
        }
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
        let seeds: Vec<u64> = (0..books).map(|j| seed.wrapping_add(j as u64)).collect();
        let mut codes = vec![0u8; rows * books];
        let codebooks = if residual {
            // Stage by stage: k-means on the sample's residuals, then every row's residual
            // loses its nearest centroid.
            let mut left = values.to_vec();
            let mut codebooks = Vec::with_capacity(books * CENTROIDS * cols);
            for (j, &s) in seeds.iter().enumerate() {
                let points: Vec<f32> = sample
                    .iter()
                    .flat_map(|&r| left[r * cols..(r + 1) * cols].iter())
                    .copied()
                    .collect();
                let book = kmeans(&points, cols, CENTROIDS, 25, s);
                left.par_chunks_mut(cols)
                    .zip(codes.par_chunks_mut(books))
                    .for_each(|(x, row_codes)| {
                        let c = nearest(&book, cols, x).0;
                        row_codes[j] = c as u8;
                        for (v, m) in x.iter_mut().zip(&book[c * cols..(c + 1) * cols]) {
                            *v -= m;
                        }
                    });
                codebooks.extend_from_slice(&book);
            }
            codebooks
        } else {
            let sub = cols / books;
            let slices: Vec<Vec<f32>> = seeds
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
            codes
                .par_chunks_mut(books)
                .enumerate()
                .for_each(|(r, row_codes)| {
                    for (j, code) in row_codes.iter_mut().enumerate() {
                        let x = &values[r * cols + j * sub..r * cols + (j + 1) * sub];
                        *code = nearest(&slices[j], sub, x).0 as u8;
                    }
                });
            slices.concat()
        };
        Self::new(rows, cols, books, residual, codebooks, codes)
    }

    /// [`Self::train`] as `localrec eval --item-table pqM|rqM` codes a model's item table:
    /// k-means on a sample of at most 65,536 rows.
    pub fn of_table(
        values: &[f32],
        rows: usize,
        cols: usize,
        books: usize,
        residual: bool,
        seed: u64,
    ) -> Result<Self> {
        Self::train(values, rows, cols, books, residual, 1 << 16, seed)
    }

    /// Codes for `x` (one row) against `codebooks` laid out as [`Self::codebooks`]: the nearest
    /// centroid in each slice, or, for residual codes, stage by stage the nearest centroid to
    /// what the earlier stages left.
    pub fn encode_row(&self, codebooks: &[f32], x: &[f32], out: &mut [u8]) {
        let width = self.width();
        let book = |j: usize| &codebooks[j * CENTROIDS * width..(j + 1) * CENTROIDS * width];
        if self.residual {
            let mut left = x.to_vec();
            for (j, code) in out.iter_mut().enumerate() {
                let c = nearest(book(j), width, &left).0;
                *code = c as u8;
                for (v, m) in left.iter_mut().zip(&book(j)[c * width..(c + 1) * width]) {
                    *v -= m;
                }
            }
        } else {
            for (j, code) in out.iter_mut().enumerate() {
                *code = nearest(book(j), width, &x[j * width..(j + 1) * width]).0 as u8;
            }
        }
    }

    /// Back to f32, row-major: each row its centroids side by side, or summed (residual).
    pub fn decode(&self) -> Vec<f32> {
        let width = self.width();
        let centroid = |j: usize, c: u8| {
            let at = (j * CENTROIDS + c as usize) * width;
            &self.codebooks[at..at + width]
        };
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for row in self.codes.chunks_exact(self.books) {
            if self.residual {
                let start = out.len();
                out.resize(start + self.cols, 0.0);
                for (j, &c) in row.iter().enumerate() {
                    for (v, m) in out[start..].iter_mut().zip(centroid(j, c)) {
                        *v += m;
                    }
                }
            } else {
                for (j, &c) in row.iter().enumerate() {
                    out.extend_from_slice(centroid(j, c));
                }
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
    /// Residual quantisation with this many one-byte stages.
    Rq(usize),
}

impl ItemTable {
    /// The trainer's default is residual codes (rq12, [`ItemTable::DEFAULT_STAGES`] stages)
    /// above this many items; up to it, [`Encoding::for_items`] (int8, then int4 above 20,000).
    /// README, "Compact item tables", gives the measurements behind it.
    pub const RQ_ABOVE: usize = 100_000;
    /// The default residual code's one-byte stages.
    pub const DEFAULT_STAGES: usize = 12;

    /// The trainer's default for a catalogue of `n_items`.
    pub fn for_items(n_items: usize) -> Self {
        if n_items > Self::RQ_ABOVE {
            Self::Rq(Self::DEFAULT_STAGES)
        } else {
            Self::Quantized(Encoding::for_items(n_items))
        }
    }
}

impl std::str::FromStr for ItemTable {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Ok(encoding) = s.parse() {
            return Ok(Self::Quantized(encoding));
        }
        let count = |prefix: &str| {
            s.strip_prefix(prefix)
                .and_then(|m| m.parse::<usize>().ok())
                .filter(|&m| m > 0)
        };
        count("pq")
            .map(Self::Pq)
            .or_else(|| count("rq").map(Self::Rq))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "item table {s:?}: expected int8, int4, pqM (M subspaces, e.g. pq16) or rqM \
                     (M residual stages, e.g. rq12)"
                ))
            })
    }
}

impl serde::Serialize for ItemTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for ItemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Quantized(encoding) => encoding.fmt(f),
            Self::Pq(m) => write!(f, "pq{m}"),
            Self::Rq(m) => write!(f, "rq{m}"),
        }
    }
}

impl ItemTable {
    /// Codebooks and whether they are residual, for the encodings that store codes.
    pub fn codes(self) -> Option<(usize, bool)> {
        match self {
            Self::Pq(m) => Some((m, false)),
            Self::Rq(m) => Some((m, true)),
            Self::Quantized(_) => None,
        }
    }

    /// Bytes stored per item at width `cols` (codes and per-row scales; shared codebooks not
    /// counted).
    pub fn bytes_per_item(self, cols: usize) -> usize {
        match self {
            Self::Quantized(encoding) => encoding.row_bytes(cols),
            Self::Pq(m) | Self::Rq(m) => m,
        }
    }

    /// Bytes shared by every item (the codebooks, as f32).
    pub fn shared_bytes(self, cols: usize) -> usize {
        match self {
            Self::Pq(_) => CENTROIDS * cols * 4,
            Self::Rq(m) => m * CENTROIDS * cols * 4,
            Self::Quantized(_) => 0,
        }
    }

    /// Codes of `values` (`rows x cols`) in this encoding ([`ProductQuantized::of_table`]);
    /// None for int8 and int4.
    pub fn code(
        self,
        values: &[f32],
        rows: usize,
        cols: usize,
        seed: u64,
    ) -> Result<Option<ProductQuantized>> {
        self.codes()
            .map(|(books, residual)| {
                ProductQuantized::of_table(values, rows, cols, books, residual, seed)
            })
            .transpose()
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
            Self::Pq(m) => ProductQuantized::of_table(values, rows, cols, m, false, seed)?.decode(),
            Self::Rq(m) => ProductQuantized::of_table(values, rows, cols, m, true, seed)?.decode(),
        })
    }
}

fn check_shape(cols: usize, books: usize, residual: bool) -> Result<()> {
    if books == 0 || cols == 0 || (!residual && !cols.is_multiple_of(books)) {
        return Err(Error::InvalidArgument(format!(
            "{books} subspaces must divide the table's width {cols}"
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
    use rayon::prelude::*;
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
        assign
            .par_iter_mut()
            .zip(far.par_iter_mut())
            .enumerate()
            .for_each(|(i, (a, f))| (*a, *f) = nearest(&centroids, dim, point(i)));
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

    /// Squared error of the decoded codes relative to the values' squared norm.
    fn relative_error(codes: &ProductQuantized, values: &[f32]) -> f32 {
        let e: f32 = codes
            .decode()
            .iter()
            .zip(values)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        e / values.iter().map(|v| v * v).sum::<f32>()
    }

    #[test]
    fn more_subspaces_reconstruct_better_and_training_is_seeded() {
        let (rows, cols) = (3000, 16);
        let values = table(rows, cols);
        let error = |subspaces: usize| {
            let pq =
                ProductQuantized::train(&values, rows, cols, subspaces, false, 10_000, 1).unwrap();
            (relative_error(&pq, &values), pq)
        };
        let (e2, a) = error(2);
        let (e8, _) = error(8);
        assert!(e8 < e2, "8 subspaces {e8} vs 2 subspaces {e2}");
        assert!(e8 < 0.05, "relative error {e8}");
        assert_eq!(a, error(2).1, "same seed, same codes");
    }

    #[test]
    fn residual_stages_each_reconstruct_better_and_rows_code_as_trained() {
        let (rows, cols) = (3000, 16);
        let values = table(rows, cols);
        let error = |codes: &ProductQuantized| relative_error(codes, &values);
        // 3 stages: a count that does not divide the width.
        let mut last = f32::INFINITY;
        for stages in 1..=3 {
            let rq = ProductQuantized::train(&values, rows, cols, stages, true, 10_000, 1).unwrap();
            assert_eq!(
                (rq.width(), rq.codebooks.len()),
                (cols, stages * CENTROIDS * cols)
            );
            let e = error(&rq);
            assert!(e < last, "{stages} stages: {e} after {last}");
            last = e;
            // Coding a row again with the trained codebooks gives the codes training gave it.
            let mut out = vec![0u8; stages];
            for r in [1, 17, rows - 1] {
                rq.encode_row(&rq.codebooks, &values[r * cols..(r + 1) * cols], &mut out);
                assert_eq!(out, rq.codes[r * stages..(r + 1) * stages], "row {r}");
            }
        }
        // Two stages of 256 centroids beat one slice's worth of product codes at equal bytes.
        let pq = ProductQuantized::train(&values, rows, cols, 2, false, 10_000, 1).unwrap();
        let rq = ProductQuantized::train(&values, rows, cols, 2, true, 10_000, 1).unwrap();
        let mut out = vec![0u8; 2];
        pq.encode_row(&pq.codebooks, &values[5 * cols..6 * cols], &mut out);
        assert_eq!(out, pq.codes[10..12]);
        assert!(
            error(&rq) < error(&pq),
            "rq2 {} vs pq2 {}",
            error(&rq),
            error(&pq)
        );
    }

    #[test]
    fn encodings_parse_and_count_their_bytes() {
        let parse = |s: &str| s.parse::<ItemTable>();
        assert_eq!(parse("pq16").unwrap(), ItemTable::Pq(16));
        assert_eq!(parse("rq12").unwrap(), ItemTable::Rq(12));
        assert_eq!(parse("int4").unwrap(), ItemTable::Quantized(Encoding::Int4));
        for bad in ["pq0", "rq", "rq-1", "q8", "pqx"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ItemTable::Rq(12).bytes_per_item(64), 12);
        assert_eq!(ItemTable::Rq(12).shared_bytes(64), 12 * 256 * 64 * 4);
        assert_eq!(ItemTable::Pq(16).shared_bytes(64), 256 * 64 * 4);
        assert_eq!(ItemTable::Rq(3).codes(), Some((3, true)));
    }

    #[test]
    fn sizes_that_do_not_fit_are_refused() {
        let pq = |rows, cols, books, residual, values: usize, codes: usize| {
            ProductQuantized::new(
                rows,
                cols,
                books,
                residual,
                vec![0.0; values],
                vec![0; codes],
            )
        };
        assert!(pq(2, 16, 3, false, 256 * 16, 6).is_err());
        assert!(pq(2, 16, 4, false, 256 * 16, 7).is_err());
        assert!(pq(2, 16, 4, false, 255 * 16, 8).is_err());
        assert!(pq(usize::MAX, 16, 4, false, 256 * 16, 0).is_err());
        assert!(pq(2, 16, 4, false, 256 * 16, 8).is_ok());
        assert!(pq(2, 16, 3, true, 3 * 256 * 16, 6).is_ok());
        assert!(pq(2, 16, 3, true, 256 * 16, 6).is_err());
        assert!(pq(2, 16, usize::MAX, true, 0, 0).is_err());
    }
}
