//! Per-row symmetric quantisation with f32 scales: int8 for every shipped matrix, int4 as the
//! compact item table of large catalogues ([`Quantized`]).

use crate::error::{Error, Result};

use super::coded::CodedTable;

/// A row-major matrix stored as int8 with one f32 scale per row: `w[r][c] ≈ q[r][c] * scale[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<i8>,
    pub scales: Vec<f32>,
}

impl QuantizedMatrix {
    /// Quantises a row-major `rows × cols` matrix. Each row maps its largest magnitude to ±127.
    pub fn quantize(values: &[f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(values.len(), rows * cols);
        let mut data = Vec::with_capacity(values.len());
        let mut scales = Vec::with_capacity(rows);
        for row in values.chunks_exact(cols.max(1)).take(rows) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales.push(scale);
            data.extend(
                row.iter()
                    .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Self {
            rows,
            cols,
            data,
            scales,
        }
    }

    /// Back to f32, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.data.len());
        for (row, &scale) in self.data.chunks_exact(self.cols.max(1)).zip(&self.scales) {
            out.extend(row.iter().map(|&q| q as f32 * scale));
        }
        out
    }

    /// `scale[r] * Σ_c q[r][c] * x[c]` for every row: the catalogue-scoring hot loop.
    ///
    /// `x` is quantised to i16 with one scale (relative error about 1/65,000 of its largest
    /// element), each row's dot product is exact integer arithmetic, and the result is scaled
    /// back in f32. Integer sums do not depend on the order of addition, so the wasm SIMD path
    /// (`i32x4.dot_i16x8_s`, 16 int8 weights per step) and the portable loop give bit-identical
    /// scores, on every platform.
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        #[cfg(target_arch = "wasm32")]
        if self.cols.is_multiple_of(16) {
            let (xq, sx) = quantize_state(&x[..self.cols], int8_state_limit(self.cols));
            out.clear();
            out.resize(self.rows, 0.0);
            // SAFETY: wasm has no run-time feature detection: a module built with SIMD
            // instructions simply does not compile on an engine without them, and every browser
            // with WebAssembly SIMD (all current ones) runs it. Lengths are checked inside.
            #[allow(unused_unsafe)]
            unsafe {
                simd128::scores(&self.data, &self.scales, self.cols, &xq, sx, out)
            };
            return;
        }
        self.matvec_portable(x, out);
    }

    /// [`Self::matvec`] without SIMD (the reference the SIMD path is tested against).
    pub fn matvec_portable(&self, x: &[f32], out: &mut Vec<f32>) {
        let (xq, sx) = quantize_state(&x[..self.cols], int8_state_limit(self.cols));
        out.clear();
        out.extend(
            self.data
                .chunks_exact(self.cols.max(1))
                .zip(&self.scales)
                .map(|(row, &scale)| {
                    let dot: i32 = row
                        .iter()
                        .zip(&xq)
                        .map(|(&q, &v)| q as i32 * v as i32)
                        .sum();
                    dot as f32 * (scale * sx)
                }),
        );
    }
}

impl QuantizedMatrix {
    /// An int8 matrix from its stored bytes, as [`Quantized::from_stored`].
    pub(crate) fn from_stored(rows: usize, cols: usize, bytes: &[u8]) -> Result<Self> {
        let (data, scales) = stored_parts(Encoding::Int8, rows, cols, bytes)?;
        Ok(Self {
            rows,
            cols,
            data: bytemuck::cast_slice(data).to_vec(),
            scales,
        })
    }

    /// The stored bytes: codes, zero padding to 4 bytes, f32 scales (little-endian).
    #[cfg(any(test, feature = "train"))]
    pub(crate) fn write_into(&self, out: &mut Vec<u8>) {
        out.extend(self.data.iter().map(|&v| v as u8));
        write_scales(self.data.len(), &self.scales, out);
    }
}

/// A stored matrix's codes and checked scales (`encoding.stored_bytes(rows, cols)` bytes).
fn stored_parts(
    encoding: Encoding,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> Result<(&[u8], Vec<f32>)> {
    let (Some(codes), Some(scales_at)) = (
        encoding.code_bytes(rows, cols),
        encoding.scales_at(rows, cols),
    ) else {
        return Err(Error::ModelCorrupt(format!(
            "a {rows} x {cols} matrix is too large"
        )));
    };
    if encoding.stored_bytes(rows, cols) != Some(bytes.len()) {
        return Err(Error::ModelCorrupt(format!(
            "a {rows} x {cols} {encoding} matrix is damaged"
        )));
    }
    let scales: Vec<f32> = bytes[scales_at..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if scales.iter().any(|s| !s.is_finite() || *s <= 0.0) {
        return Err(Error::ModelCorrupt(format!(
            "a {rows} x {cols} matrix has an invalid scale"
        )));
    }
    Ok((&bytes[..codes], scales))
}

/// Zero padding after `written` code bytes to 4 bytes, then the scales.
#[cfg(any(test, feature = "train"))]
fn write_scales(written: usize, scales: &[f32], out: &mut Vec<u8>) {
    out.extend(std::iter::repeat_n(
        0u8,
        written.next_multiple_of(4) - written,
    ));
    out.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
}

/// How a shipped file stores a matrix (per-row symmetric, one f32 scale per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// int8 (-127..=127): every matrix of a file, and the item table up to
    /// [`Encoding::INT4_ABOVE`] items.
    #[default]
    Int8,
    /// int4 (-7..=7), two values per byte: the item table of a large catalogue, 0.53 of int8's
    /// bytes per item at width 64.
    Int4,
}

impl Encoding {
    /// The trainer's default item table is int4 above this many items, int8 up to it. Below it
    /// the whole int8 file is small (1.21 MB, 967 kB gzipped at Beauty's 12,101 items) and int8
    /// keeps the NDCG@10 int4 costs (-0.76% on Beauty); above it the item table is most of the
    /// file and int4 nearly halves it (README, "Shipped item table").
    pub const INT4_ABOVE: usize = 20_000;

    /// The trainer's default for a catalogue of `n_items`.
    pub fn for_items(n_items: usize) -> Self {
        if n_items > Self::INT4_ABOVE {
            Self::Int4
        } else {
            Self::Int8
        }
    }

    /// The tensor dtype a weights file names it by.
    pub fn dtype(self) -> &'static str {
        match self {
            Self::Int8 => "i8",
            Self::Int4 => "i4",
        }
    }

    /// The encoding a weights file's dtype names (None for f32 and unknown dtypes).
    pub fn of_dtype(dtype: &str) -> Option<Self> {
        match dtype {
            "i8" => Some(Self::Int8),
            "i4" => Some(Self::Int4),
            _ => None,
        }
    }

    /// Bytes of the codes of a `rows x cols` matrix, or None on overflow.
    fn code_bytes(self, rows: usize, cols: usize) -> Option<usize> {
        match self {
            Self::Int8 => rows.checked_mul(cols),
            Self::Int4 => rows.checked_mul(cols.div_ceil(2)),
        }
    }

    /// Bytes one row of width `cols` takes: its codes and its f32 scale.
    pub fn row_bytes(self, cols: usize) -> usize {
        4 + match self {
            Self::Int8 => cols,
            Self::Int4 => cols.div_ceil(2),
        }
    }

    /// Where the f32 scales start in a stored matrix: after the codes, 4-byte aligned.
    pub(crate) fn scales_at(self, rows: usize, cols: usize) -> Option<usize> {
        self.code_bytes(rows, cols)?.checked_next_multiple_of(4)
    }

    /// Bytes a stored `rows x cols` matrix takes, scales included, or None on overflow.
    pub(crate) fn stored_bytes(self, rows: usize, cols: usize) -> Option<usize> {
        self.scales_at(rows, cols)?
            .checked_add(rows.checked_mul(4)?)
    }
}

impl std::str::FromStr for Encoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "int8" => Ok(Self::Int8),
            "int4" => Ok(Self::Int4),
            _ => Err(Error::InvalidArgument(format!(
                "item table {s:?}: expected int8 or int4"
            ))),
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Int8 => "int8",
            Self::Int4 => "int4",
        })
    }
}

/// A row-major matrix stored as int4 with one f32 scale per row: `w[r][c] ≈ q[r][c] * scale[r]`,
/// `q` in -7..=7. A row takes `half = ceil(cols / 2)` bytes; byte `k` is the signed value
/// `16 * q[k + half] + q[k]` (within -119..=119), so one 16-byte load gives 16 consecutive
/// columns from each half, and the byte sign-extended to 16 bits is already a weighted sum of
/// both: the wasm SIMD loop scores it with native 16-bit shifts and multiply-adds only
/// ([`pack`], [`unpack`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Int4Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<u8>,
    pub scales: Vec<f32>,
}

impl Int4Matrix {
    /// Quantises a row-major `rows × cols` matrix. Each row maps its largest magnitude to ±7.
    /// (Choosing each row's scale among clipping levels 7, 6.5, ... 5 by squared error instead
    /// tested the same on Beauty: -0.77% vs -0.76% test NDCG@10 against int8.)
    pub fn quantize(values: &[f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(values.len(), rows * cols);
        let half = cols.div_ceil(2);
        let mut data = Vec::with_capacity(rows * half);
        let mut scales = Vec::with_capacity(rows);
        let mut q = vec![0i8; 2 * half];
        for row in values.chunks_exact(cols.max(1)).take(rows) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 7.0 } else { 1.0 };
            scales.push(scale);
            for (slot, v) in q.iter_mut().zip(row) {
                *slot = (v / scale).round().clamp(-7.0, 7.0) as i8;
            }
            q[cols..].iter_mut().for_each(|v| *v = 0);
            data.extend((0..half).map(|k| pack(q[k], q[k + half])));
        }
        Self {
            rows,
            cols,
            data,
            scales,
        }
    }

    /// Row `r` back to f32 into `out` (`cols` values).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let half = self.cols.div_ceil(2);
        let scale = self.scales[r];
        let (low, high) = out[..self.cols].split_at_mut(half);
        for (k, &b) in self.data[r * half..(r + 1) * half].iter().enumerate() {
            let (l, h) = unpack(b);
            low[k] = l as f32 * scale;
            // An odd width's last byte has no high value.
            if let Some(o) = high.get_mut(k) {
                *o = h as f32 * scale;
            }
        }
    }

    /// Back to f32, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        for (r, row) in out.chunks_exact_mut(self.cols.max(1)).enumerate() {
            self.row_into(r, row);
        }
        out
    }

    /// `scale[r] * Σ_c q[r][c] * x[c]` for every row, as [`QuantizedMatrix::matvec`]: exact
    /// integer sums, so the wasm SIMD path and the portable loop agree bit for bit.
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        #[cfg(target_arch = "wasm32")]
        if self.cols.is_multiple_of(32) {
            let (xq, sx) = quantize_state(&x[..self.cols], INT4_STATE_LIMIT);
            out.clear();
            out.resize(self.rows, 0.0);
            // SAFETY: as in `QuantizedMatrix::matvec`; lengths are checked inside.
            #[allow(unused_unsafe)]
            unsafe {
                simd128::scores_int4(&self.data, &self.scales, self.cols, &xq, sx, out)
            };
            return;
        }
        self.matvec_portable(x, out);
    }

    /// [`Self::matvec`] without SIMD (the reference the SIMD path is tested against).
    pub fn matvec_portable(&self, x: &[f32], out: &mut Vec<f32>) {
        let half = self.cols.div_ceil(2);
        let (mut xq, sx) = quantize_state(&x[..self.cols], INT4_STATE_LIMIT);
        // An odd width's last high nibble is zero; a zero state value beside it keeps the loop
        // branch-free.
        xq.resize(2 * half, 0);
        let (lo, hi) = xq.split_at(half);
        out.clear();
        out.extend(
            self.data
                .chunks_exact(half.max(1))
                .zip(&self.scales)
                .map(|(row, &scale)| {
                    let dot: i32 = row
                        .iter()
                        .zip(lo.iter().zip(hi))
                        .map(|(&b, (&l, &h))| {
                            let (low, high) = unpack(b);
                            low as i32 * l as i32 + high as i32 * h as i32
                        })
                        .sum();
                    dot as f32 * (scale * sx)
                }),
        );
    }
}

/// One byte of an int4 row: `16 * high + low` as a signed byte (both in -7..=7).
fn pack(low: i8, high: i8) -> u8 {
    (16 * high + low) as u8
}

/// [`pack`]'s two values: `high = floor((byte + 8) / 16)`, `low = byte - 16 * high`.
fn unpack(b: u8) -> (i8, i8) {
    let e = b as i8 as i16;
    let high = (e + 8) >> 4;
    ((e - 16 * high) as i8, high as i8)
}

/// The int4 scoring loops' bound on the quantised state: the SIMD loop multiplies the high
/// values by `x[k + half] - 16 * x[k]`, which must fit an i16 (17 * 1927 = 32,759). That is 11
/// bits of the state against 15 for int8; its rounding error (1/3,854 of the largest state value)
/// is small beside int4's own step (1/14 of a row's largest weight).
const INT4_STATE_LIMIT: f32 = 1927.0;

/// A quantised matrix in either encoding: what a shipped file's item table is, scored and read
/// row by row on the host without an f32 copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantized {
    Int8(QuantizedMatrix),
    Int4(Int4Matrix),
    /// Residual-quantisation codes with the first rows whole ([`CodedTable`]).
    Coded(CodedTable),
}

impl Quantized {
    /// Quantises a row-major `rows × cols` matrix.
    pub fn quantize(values: &[f32], rows: usize, cols: usize, encoding: Encoding) -> Self {
        match encoding {
            Encoding::Int8 => Self::Int8(QuantizedMatrix::quantize(values, rows, cols)),
            Encoding::Int4 => Self::Int4(Int4Matrix::quantize(values, rows, cols)),
        }
    }

    /// A matrix from its stored bytes (`encoding.stored_bytes(rows, cols)` of them: codes,
    /// padding to 4 bytes, f32 scales). Scales must be finite and positive.
    pub(crate) fn from_stored(
        encoding: Encoding,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self> {
        let (data, scales) = stored_parts(encoding, rows, cols, bytes)?;
        Ok(match encoding {
            Encoding::Int8 => Self::Int8(QuantizedMatrix {
                rows,
                cols,
                data: bytemuck::cast_slice(data).to_vec(),
                scales,
            }),
            Encoding::Int4 => Self::Int4(Int4Matrix {
                rows,
                cols,
                data: data.to_vec(),
                scales,
            }),
        })
    }

    /// The stored bytes: codes, zero padding to 4 bytes, f32 scales (little-endian); a coded
    /// table's with its codebooks ([`CodedTable::from_stored`]).
    #[cfg(any(test, feature = "train"))]
    pub(crate) fn write_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int8(q) => q.write_into(out),
            Self::Int4(q) => {
                out.extend_from_slice(&q.data);
                write_scales(q.data.len(), &q.scales, out);
            }
            Self::Coded(t) => t.write_into(out, true),
        }
    }

    /// How the table is stored, as `rec.model.itemTable` reports it: `int8`, `int4` or `rqM`.
    pub fn describe(&self) -> String {
        match self {
            Self::Int8(_) => Encoding::Int8.to_string(),
            Self::Int4(_) => Encoding::Int4.to_string(),
            Self::Coded(t) => t.dtype(),
        }
    }

    /// The file's dtype for this table.
    pub fn dtype(&self) -> String {
        match self {
            Self::Int8(_) => Encoding::Int8.dtype().into(),
            Self::Int4(_) => Encoding::Int4.dtype().into(),
            Self::Coded(t) => t.dtype(),
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            Self::Int8(q) => q.rows,
            Self::Int4(q) => q.rows,
            Self::Coded(t) => t.rows,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Self::Int8(q) => q.cols,
            Self::Int4(q) => q.cols,
            Self::Coded(t) => t.cols(),
        }
    }

    /// Scores every row against `x` (the catalogue-scoring hot loop).
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        match self {
            Self::Int8(q) => q.matvec(x, out),
            Self::Int4(q) => q.matvec(x, out),
            Self::Coded(t) => t.matvec(x, out),
        }
    }

    /// Row `r` back to f32 into `out` (`cols` values): the same values as [`Self::dequantize`].
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        match self {
            Self::Int8(q) => {
                let cols = q.cols;
                let scale = q.scales[r];
                for (o, &v) in out.iter_mut().zip(&q.data[r * cols..(r + 1) * cols]) {
                    *o = v as f32 * scale;
                }
            }
            Self::Int4(q) => q.row_into(r, out),
            Self::Coded(t) => t.row_into(r, out),
        }
    }

    /// Rows `rows` (each below [`Self::rows`]) as a new matrix, codes and scales copied as they
    /// are. A coded table's rows stored whole must come first ([`CodedTable::select`]).
    pub fn select(&self, rows: impl IntoIterator<Item = usize>) -> Result<Self> {
        fn pick<T: Copy>(
            data: &[T],
            scales: &[f32],
            width: usize,
            rows: impl IntoIterator<Item = usize>,
        ) -> (Vec<T>, Vec<f32>, usize) {
            let (mut d, mut s, mut n) = (Vec::new(), Vec::new(), 0);
            for r in rows {
                d.extend_from_slice(&data[r * width..(r + 1) * width]);
                s.push(scales[r]);
                n += 1;
            }
            (d, s, n)
        }
        Ok(match self {
            Self::Int8(q) => {
                let (data, scales, rows) = pick(&q.data, &q.scales, q.cols, rows);
                Self::Int8(QuantizedMatrix {
                    rows,
                    cols: q.cols,
                    data,
                    scales,
                })
            }
            Self::Int4(q) => {
                let (data, scales, rows) = pick(&q.data, &q.scales, q.cols.div_ceil(2), rows);
                Self::Int4(Int4Matrix {
                    rows,
                    cols: q.cols,
                    data,
                    scales,
                })
            }
            Self::Coded(t) => Self::Coded(t.select(rows)?),
        })
    }

    /// Appends `other`'s rows (same encoding and width, else an error and no change).
    pub fn append(&mut self, other: Quantized) -> Result<()> {
        match (self, other) {
            (Self::Int8(a), Self::Int8(b)) if a.cols == b.cols => {
                a.data.extend_from_slice(&b.data);
                a.scales.extend_from_slice(&b.scales);
                a.rows += b.rows;
            }
            (Self::Int4(a), Self::Int4(b)) if a.cols == b.cols => {
                a.data.extend_from_slice(&b.data);
                a.scales.extend_from_slice(&b.scales);
                a.rows += b.rows;
            }
            (Self::Coded(a), Self::Coded(b)) => a.append(b)?,
            _ => {
                return Err(Error::ModelCorrupt(
                    "rows of another encoding or width cannot join this table".into(),
                ));
            }
        }
        Ok(())
    }

    /// A shard's rows of this table: their stored bytes' size, how a shard file names them, and
    /// reading them (int8 and int4 rows as stored; coded rows are codes for this table's
    /// codebooks).
    pub(crate) fn shard_bytes(&self, rows: usize) -> Option<usize> {
        match self {
            Self::Int8(_) => Encoding::Int8.stored_bytes(rows, self.cols()),
            Self::Int4(_) => Encoding::Int4.stored_bytes(rows, self.cols()),
            Self::Coded(t) => super::coded::shard_bytes(t.books(), rows),
        }
    }

    /// Reads `rows` rows of a shard of this table ([`Self::shard_bytes`] bytes).
    pub(crate) fn shard_from_stored(&self, rows: usize, bytes: &[u8]) -> Result<Self> {
        let cols = self.cols();
        match self {
            Self::Int8(_) => Self::from_stored(Encoding::Int8, rows, cols, bytes),
            Self::Int4(_) => Self::from_stored(Encoding::Int4, rows, cols, bytes),
            Self::Coded(t) => Ok(Self::Coded(CodedTable::from_stored(
                t.books(),
                rows,
                cols,
                0,
                bytes,
                Some(&t.codebooks),
            )?)),
        }
    }

    /// The stored bytes of a shard's rows (a coded table's without its codebooks).
    #[cfg(any(test, feature = "train"))]
    pub(crate) fn write_shard_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::Coded(t) => t.write_into(out, false),
            _ => self.write_into(out),
        }
    }

    /// Back to f32, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        match self {
            Self::Int8(q) => q.dequantize(),
            Self::Int4(q) => q.dequantize(),
            Self::Coded(t) => t.dequantize(),
        }
    }

    /// Rows `ids`, decoded, one after another (`ids.len() * cols` values); an id past the
    /// table is an error.
    pub fn gather(&self, ids: impl IntoIterator<Item = usize>) -> Result<Vec<f32>> {
        let cols = self.cols();
        let mut out = Vec::new();
        for r in ids {
            if r >= self.rows() {
                return Err(Error::InvalidArgument(format!(
                    "row {r} of a {}-row table",
                    self.rows()
                )));
            }
            let at = out.len();
            out.resize(at + cols, 0.0);
            self.row_into(r, &mut out[at..]);
        }
        Ok(out)
    }

    /// Rows `ids` decoded and scaled to unit length (zero rows stay zero): what cosine
    /// similarities read.
    pub fn unit_rows(&self, ids: impl IntoIterator<Item = usize>) -> Result<Vec<f32>> {
        let mut rows = self.gather(ids)?;
        for row in rows.chunks_exact_mut(self.cols().max(1)) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
        Ok(rows)
    }
}

/// The int8 scoring loops' bound on the quantised state: a row's integer dot product
/// (|weights| ≤ 127) cannot overflow an i32.
fn int8_state_limit(cols: usize) -> f32 {
    (i32::MAX as f64 / (127.0 * cols.max(1) as f64)).min(32767.0) as f32
}

/// Quantises a state vector to i16 with one scale, `x[c] ≈ q[c] * scale`, `|q[c]| ≤ limit`.
/// (The int4 limit also keeps a row's dot product far inside an i32: 119 * 1927 per column
/// pair.)
fn quantize_state(x: &[f32], limit: f32) -> (Vec<i16>, f32) {
    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 && max.is_finite() {
        max / limit
    } else {
        1.0
    };
    let q = x
        .iter()
        .map(|v| (v / scale).round().clamp(-limit, limit) as i16)
        .collect();
    (q, scale)
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use core::arch::wasm32::*;

    /// Rows scored together: the state's vectors are loaded once for four rows, and their four
    /// sums reduced, converted and scaled in one vector each.
    const BLOCK: usize = 4;

    /// `[sum(a), sum(b), sum(c), sum(d)]`: four rows' lane sums at once (wrapping, as the
    /// scalar sum of lanes: integer addition in any order gives the same result).
    #[target_feature(enable = "simd128")]
    fn sums(a: v128, b: v128, c: v128, d: v128) -> v128 {
        let ab = i32x4_add(
            i32x4_shuffle::<0, 4, 1, 5>(a, b),
            i32x4_shuffle::<2, 6, 3, 7>(a, b),
        );
        let cd = i32x4_add(
            i32x4_shuffle::<0, 4, 1, 5>(c, d),
            i32x4_shuffle::<2, 6, 3, 7>(c, d),
        );
        i32x4_add(
            i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
            i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
        )
    }

    fn lane_sum(acc: v128) -> i32 {
        i32x4_extract_lane::<0>(acc)
            .wrapping_add(i32x4_extract_lane::<1>(acc))
            .wrapping_add(i32x4_extract_lane::<2>(acc))
            .wrapping_add(i32x4_extract_lane::<3>(acc))
    }

    /// The 16 values `s[c..c + 16]` as two vectors.
    ///
    /// # Safety
    /// `c + 16 <= s.len()`.
    #[target_feature(enable = "simd128")]
    unsafe fn halves(s: &[i16], c: usize) -> (v128, v128) {
        // SAFETY: in bounds by the caller's promise; v128_load has no alignment requirement.
        unsafe {
            (
                v128_load(s.as_ptr().add(c) as *const v128),
                v128_load(s.as_ptr().add(c + 8) as *const v128),
            )
        }
    }

    /// Scores every row: `dot(r) as f32 * (scales[r] * sx)`, where `dot(r)` sums the lanes of
    /// `step(acc, r, c, state(c))` folded over the column steps `c < steps`; `state(c)` (the
    /// state's vectors of step `c`) is loaded once per four rows. Four rows at a time, then one
    /// at a time.
    #[target_feature(enable = "simd128")]
    fn score_rows<S: Copy>(
        scales: &[f32],
        sx: f32,
        out: &mut [f32],
        steps: usize,
        state: impl Fn(usize) -> S,
        step: impl Fn(v128, usize, usize, S) -> v128,
    ) {
        assert!(scales.len() == out.len());
        let full = out.len() - out.len() % BLOCK;
        let sxv = f32x4_splat(sx);
        for r in (0..full).step_by(BLOCK) {
            let mut acc = [i32x4_splat(0); BLOCK];
            for c in 0..steps {
                // The state's vectors of this step, loaded once for the block's rows.
                let x = state(c);
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = step(*a, r + k, c, x);
                }
            }
            let dots = f32x4_convert_i32x4(sums(acc[0], acc[1], acc[2], acc[3]));
            // SAFETY: `r + 4 <= full <= out.len() = scales.len()`; no alignment requirement.
            unsafe {
                let scale = f32x4_mul(v128_load(scales.as_ptr().add(r) as *const v128), sxv);
                v128_store(out.as_mut_ptr().add(r) as *mut v128, f32x4_mul(dots, scale));
            }
        }
        for r in full..out.len() {
            let acc = (0..steps).fold(i32x4_splat(0), |acc, c| step(acc, r, c, state(c)));
            out[r] = lane_sum(acc) as f32 * (scales[r] * sx);
        }
    }

    /// Row dot products of int8 weights with an i16 state, 16 weights per step.
    #[target_feature(enable = "simd128")]
    pub fn scores(data: &[i8], scales: &[f32], cols: usize, x: &[i16], sx: f32, out: &mut [f32]) {
        assert!(cols.is_multiple_of(16) && x.len() == cols && data.len() == cols * out.len());
        // SAFETY (both closures): `r < out.len()` and `c + 16 <= cols` = x.len(), so the loads
        // stay inside `data` (`cols * out.len()` long, asserted above) and `x`; no alignment
        // requirement.
        let state = |step: usize| unsafe { halves(x, step * 16) };
        score_rows(
            scales,
            sx,
            out,
            cols / 16,
            state,
            |acc, r, step, (x0, x1)| {
                let q =
                    unsafe { v128_load(data.as_ptr().add(r * cols + step * 16) as *const v128) };
                let acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_low_i8x16(q), x0));
                i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_high_i8x16(q), x1))
            },
        )
    }

    /// Row dot products of int4 weights (`Int4Matrix`'s layout) with an i16 state, 16 bytes
    /// (32 weights) per step. A byte sign-extended to 16 bits is `e = 16 * high + low`, so
    /// `low * x[k] + high * x[k + half] = e * x[k] + high * (x[k + half] - 16 * x[k])`, with
    /// `high = (e + 8) >> 4`: two multiply-adds, one add and one shift per 8 bytes, all on native
    /// 16-bit lanes (wasm's 8-bit shifts are emulated on x86). `x` is bounded by
    /// `INT4_STATE_LIMIT`, so `x[k + half] - 16 * x[k]` fits an i16.
    #[target_feature(enable = "simd128")]
    pub fn scores_int4(
        data: &[u8],
        scales: &[f32],
        cols: usize,
        x: &[i16],
        sx: f32,
        out: &mut [f32],
    ) {
        let half = cols / 2;
        assert!(cols.is_multiple_of(32) && x.len() == cols && data.len() == half * out.len());
        assert!(x.iter().all(|v| v.unsigned_abs() <= 1927));
        let (low_x, high_x) = x.split_at(half);
        let mixed: Vec<i16> = low_x
            .iter()
            .zip(high_x)
            .map(|(&l, &h)| h - 16 * l)
            .collect();
        let eight = i16x8_splat(8);
        // SAFETY (both closures): `r < out.len()` and `c + 16 <= half` = low_x.len() =
        // mixed.len(), so the loads stay inside `data` (`half * out.len()` long, asserted
        // above), `low_x` and `mixed`; no alignment requirement.
        let state = |step: usize| unsafe {
            let ((x0, x1), (m0, m1)) = (halves(low_x, step * 16), halves(&mixed, step * 16));
            (x0, x1, m0, m1)
        };
        score_rows(
            scales,
            sx,
            out,
            half / 16,
            state,
            |acc, r, step, (x0, x1, m0, m1)| {
                let b =
                    unsafe { v128_load(data.as_ptr().add(r * half + step * 16) as *const v128) };
                let e0 = i16x8_extend_low_i8x16(b);
                let e1 = i16x8_extend_high_i8x16(b);
                let h0 = i16x8_shr(i16x8_add(e0, eight), 4);
                let h1 = i16x8_shr(i16x8_add(e1, eight), 4);
                let acc = i32x4_add(acc, i32x4_dot_i16x8(e0, x0));
                let acc = i32x4_add(acc, i32x4_dot_i16x8(e1, x1));
                let acc = i32x4_add(acc, i32x4_dot_i16x8(h0, m0));
                i32x4_add(acc, i32x4_dot_i16x8(h1, m1))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let values: Vec<f32> = (0..64 * 10)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let q = QuantizedMatrix::quantize(&values, 10, 64);
        let back = q.dequantize();
        for (r, (row, back_row)) in values.chunks(64).zip(back.chunks(64)).enumerate() {
            let step = q.scales[r];
            for (a, b) in row.iter().zip(back_row) {
                assert!(
                    (a - b).abs() <= step * 0.5 + 1e-6,
                    "row {r}: {a} vs {b}, step {step}"
                );
            }
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((step * 127.0 - max).abs() < 1e-4);
        }
    }

    #[test]
    fn zero_rows_and_extremes() {
        let q = QuantizedMatrix::quantize(&[0.0, 0.0, -2.0, 1.0], 2, 2);
        assert_eq!(q.data, vec![0, 0, -127, 64]);
        assert_eq!(q.dequantize()[..2], [0.0, 0.0]);
    }

    #[test]
    fn matvec_matches_dequantised_dot() {
        let values: Vec<f32> = (0..30).map(|i| (i as f32 * 0.37).sin()).collect();
        let q = QuantizedMatrix::quantize(&values, 5, 6);
        let x = [0.5, -1.0, 0.25, 2.0, 0.0, 1.5];
        let mut out = Vec::new();
        q.matvec(&x, &mut out);
        let deq = q.dequantize();
        for r in 0..5 {
            let row = &deq[r * 6..r * 6 + 6];
            let expected: f32 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
            // The state is quantised to i16: error below 1e-4 of the largest term's magnitude.
            let bound: f32 = row.iter().map(|a| a.abs() * 2.0).sum::<f32>() / 32767.0;
            assert!(
                (out[r] - expected).abs() <= bound,
                "row {r}: {} vs {expected} (bound {bound})",
                out[r]
            );
        }
    }

    /// Values of a few magnitudes and signs, `rows x cols`, some rows all zero.
    fn table(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| {
                if (i / cols) % 5 == 3 {
                    0.0
                } else {
                    ((i * 7919 % 1013) as f32 - 506.0) / 97.0 * (1 + i / cols % 3) as f32
                }
            })
            .collect()
    }

    #[test]
    fn int4_packs_two_columns_a_byte_low_half_first() {
        // Row [1, 2, 3, -7, -1] (scale 1): half = 3; bytes hold (1, -7), (2, -1), (3, 0) as
        // 16 * high + low: -111, -14, 3.
        let q = Int4Matrix::quantize(&[1.0, 2.0, 3.0, -7.0, -1.0], 1, 5);
        assert_eq!(q.scales, vec![1.0]);
        assert_eq!(q.data, vec![-111i8 as u8, -14i8 as u8, 3]);
        assert_eq!(q.dequantize(), vec![1.0, 2.0, 3.0, -7.0, -1.0]);
        for low in -7..=7 {
            for high in -7..=7 {
                assert_eq!(unpack(pack(low, high)), (low, high));
            }
        }
    }

    #[test]
    fn int4_round_trip_is_within_half_a_step() {
        for cols in [64, 7, 1, 32] {
            let values = table(40, cols);
            let q = Int4Matrix::quantize(&values, 40, cols);
            assert_eq!(q.data.len(), 40 * cols.div_ceil(2));
            let back = q.dequantize();
            let mut row_back = vec![0.0; cols];
            for (r, (row, back_row)) in values.chunks(cols).zip(back.chunks(cols)).enumerate() {
                let step = q.scales[r];
                let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                if max == 0.0 {
                    assert!(back_row.iter().all(|&v| v == 0.0));
                    continue;
                }
                assert!((step * 7.0 - max).abs() < 1e-4);
                for (a, b) in row.iter().zip(back_row) {
                    assert!(
                        (a - b).abs() <= step * 0.5 + 1e-5,
                        "row {r}: {a} vs {b}, step {step}"
                    );
                }
                Quantized::Int4(q.clone()).row_into(r, &mut row_back);
                assert_eq!(&row_back[..], back_row, "row_into = dequantize");
            }
        }
    }

    #[test]
    fn int4_matvec_matches_the_dequantised_dot() {
        for cols in [64, 9] {
            let values = table(12, cols);
            let q = Int4Matrix::quantize(&values, 12, cols);
            let x: Vec<f32> = (0..cols).map(|c| (c as f32 * 0.37).sin()).collect();
            let mut out = Vec::new();
            q.matvec(&x, &mut out);
            let deq = q.dequantize();
            for r in 0..12 {
                let row = &deq[r * cols..(r + 1) * cols];
                let expected: f32 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
                // The state is quantised to 1927 steps either side (`INT4_STATE_LIMIT`).
                let bound: f32 = row.iter().map(|a| a.abs()).sum::<f32>() / 1927.0;
                assert!((out[r] - expected).abs() <= bound + 1e-6, "{cols} row {r}");
            }
        }
    }

    #[test]
    fn stored_bytes_round_trip_for_both_encodings() {
        let values = table(6, 10);
        for encoding in [Encoding::Int8, Encoding::Int4] {
            let q = Quantized::quantize(&values, 6, 10, encoding);
            let mut bytes = Vec::new();
            q.write_into(&mut bytes);
            assert_eq!(Some(bytes.len()), encoding.stored_bytes(6, 10));
            assert_eq!(Quantized::from_stored(encoding, 6, 10, &bytes).unwrap(), q);
            // Wrong length and a zero scale are refused.
            let err = Quantized::from_stored(encoding, 6, 10, &bytes[1..]).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT");
            let mut zero = bytes.clone();
            let at = encoding.scales_at(6, 10).unwrap();
            zero[at..at + 4].copy_from_slice(&0f32.to_le_bytes());
            let err = Quantized::from_stored(encoding, 6, 10, &zero).unwrap_err();
            assert!(err.to_string().contains("invalid scale"), "{err}");
            // Gathered rows are the dequantised rows; a row past the table is an error.
            let all = q.dequantize();
            assert_eq!(q.gather([4, 0]).unwrap()[..10], all[40..50]);
            assert!(q.gather([6]).is_err());
            let units = q.unit_rows([1]).unwrap();
            let norm: f32 = units.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn wide_rows_do_not_overflow() {
        // 2048 columns of ±127 against a state of equal magnitudes: the integer dot product is
        // as large as it can be and must still come out right.
        let cols = 2048;
        let values: Vec<f32> = (0..cols)
            .map(|c| if c % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let q = QuantizedMatrix::quantize(&values, 1, cols);
        let mut out = Vec::new();
        q.matvec(&values, &mut out);
        assert!(
            (out[0] - cols as f32).abs() < 1e-2 * cols as f32,
            "{}",
            out[0]
        );
    }
}
