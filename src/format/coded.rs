//! Item tables stored as residual-quantisation codes (format version 4, dtype `rqM`): the
//! compact table of a large catalogue.
//!
//! The first `exact` rows (row 0, the padding row, and the most popular items, which the writer
//! puts first) are stored whole as int8. Every other row is `M` one-byte codes: row `r` is the
//! sum over `j < M` of centroid `codes[r][j]` of codebook `j`, each codebook 256 centroids of the
//! row's full width, stored as an int8 matrix (`[M * 256, cols]`, one f32 scale per centroid).
//! Scoring a state `x` takes one table of `x`'s dot product with every centroid (`M * 256 *
//! cols` multiply-adds, computed once per query) and then `M` lookups per coded row.
//!
//! Payload of the tensor, in order: the exact rows as a stored int8 matrix (codes, padding to 4
//! bytes, scales), the codebooks likewise, then the codes stage by stage (every coded row's
//! first code, then every row's second, ...), padded to 4 bytes. Each stage uses its centroids
//! unevenly (on Beauty 6.4 to 7.6 bits of entropy per code) and differently, so stage by stage
//! a gzip stream takes 8% fewer bytes than row by row. A shard's table of a coded model is only
//! the codes: its rows use the core's codebooks.
//!
//! On Beauty (README, "Compact item tables"): 12 stages with the 242 most popular items exact
//! and the codebooks trained on through the codes cost 1.4% of test NDCG@10 against int8, at 12
//! bytes per coded item instead of 68.

use std::sync::Arc;

use crate::error::{Error, Result};

use super::quant::{Encoding, QuantizedMatrix};

/// Centroids per codebook: one byte per code.
pub const CENTROIDS: usize = 256;
/// The most codebooks a table may have (a file claiming more is refused).
pub const MAX_BOOKS: usize = 64;

/// The codebooks of a coded table, shared by its shards' rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebooks {
    pub books: usize,
    /// As stored: `[books * 256, cols]` int8 with a scale per centroid.
    pub stored: QuantizedMatrix,
    /// `stored` decoded: what scoring and decoding read.
    centroids: Vec<f32>,
}

impl Codebooks {
    /// Codebooks from f32 centroids (`[books][256][cols]`, row-major), stored as int8.
    pub fn quantize(books: usize, cols: usize, centroids: &[f32]) -> Result<Self> {
        check_books(books)?;
        if Some(centroids.len()) != (books * CENTROIDS).checked_mul(cols) {
            return Err(Error::InvalidArgument(format!(
                "{} centroid values for {books} codebooks of width {cols}",
                centroids.len()
            )));
        }
        Ok(Self::of(
            books,
            QuantizedMatrix::quantize(centroids, books * CENTROIDS, cols),
        ))
    }

    fn of(books: usize, stored: QuantizedMatrix) -> Self {
        let centroids = stored.dequantize();
        Self {
            books,
            stored,
            centroids,
        }
    }

    /// The centroids as scoring sees them, `[books][256][cols]`.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    fn cols(&self) -> usize {
        self.stored.cols
    }
}

/// A `rows x cols` item table: the first rows int8, the rest residual codes.
#[derive(Debug, Clone, PartialEq)]
pub struct CodedTable {
    pub rows: usize,
    /// Rows `0..exact.rows`, stored whole.
    pub exact: QuantizedMatrix,
    pub codebooks: Arc<Codebooks>,
    /// `books` codes per row after the exact ones.
    pub codes: Vec<u8>,
}

fn check_books(books: usize) -> Result<()> {
    if !(1..=MAX_BOOKS).contains(&books) {
        return Err(Error::ModelCorrupt(format!(
            "{books} codebooks: a coded item table has 1 to {MAX_BOOKS}"
        )));
    }
    Ok(())
}

/// The number of codebooks a dtype `rqM` names (None for other dtypes or out of range).
pub fn books_of_dtype(dtype: &str) -> Option<usize> {
    let m = dtype.strip_prefix("rq")?;
    // Digits only, no sign or leading zero: one spelling per count.
    if m.is_empty() || m.starts_with('0') || !m.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    m.parse().ok().filter(|b| (1..=MAX_BOOKS).contains(b))
}

/// Byte offsets inside a stored table: `[exact rows][codebooks][codes]`.
struct Layout {
    exact: usize,
    books: usize,
    codes: usize,
}

impl Layout {
    /// None on overflow.
    fn of(books: usize, rows: usize, cols: usize, exact: usize, with_books: bool) -> Option<Self> {
        let coded = rows.checked_sub(exact)?;
        Some(Self {
            exact: Encoding::Int8.stored_bytes(exact, cols)?,
            books: if with_books {
                Encoding::Int8.stored_bytes(books.checked_mul(CENTROIDS)?, cols)?
            } else {
                0
            },
            codes: coded.checked_mul(books)?.checked_next_multiple_of(4)?,
        })
    }

    fn total(&self) -> Option<usize> {
        self.exact.checked_add(self.books)?.checked_add(self.codes)
    }
}

/// Bytes a stored table takes (codebooks included), or None on overflow or `exact > rows`.
pub fn stored_bytes(books: usize, rows: usize, cols: usize, exact: usize) -> Option<usize> {
    Layout::of(books, rows, cols, exact, true)?.total()
}

/// Bytes a shard's rows take (codes only), or None on overflow.
pub fn shard_bytes(books: usize, rows: usize) -> Option<usize> {
    rows.checked_mul(books)?.checked_next_multiple_of(4)
}

impl CodedTable {
    /// A table from its parts: `exact` rows first, then `codes` (`books` per row).
    pub fn new(exact: QuantizedMatrix, codebooks: Arc<Codebooks>, codes: Vec<u8>) -> Result<Self> {
        let books = codebooks.books;
        if exact.cols != codebooks.cols() || !codes.len().is_multiple_of(books) {
            return Err(Error::InvalidArgument(format!(
                "coded table: {} exact columns, codebooks of {}, {} codes for {books} codebooks",
                exact.cols,
                codebooks.cols(),
                codes.len()
            )));
        }
        Ok(Self {
            rows: exact.rows + codes.len() / books,
            exact,
            codebooks,
            codes,
        })
    }

    pub fn cols(&self) -> usize {
        self.exact.cols
    }

    pub fn books(&self) -> usize {
        self.codebooks.books
    }

    /// The file's dtype for it.
    pub fn dtype(&self) -> String {
        format!("rq{}", self.books())
    }

    /// Reads a stored table (its [`stored_bytes`]); with `codebooks` given (a shard's rows), the
    /// bytes are only the codes and the rows use those codebooks. Every scale is checked.
    pub(crate) fn from_stored(
        books: usize,
        rows: usize,
        cols: usize,
        exact: usize,
        bytes: &[u8],
        codebooks: Option<&Arc<Codebooks>>,
    ) -> Result<Self> {
        check_books(books)?;
        let layout = Layout::of(books, rows, cols, exact, codebooks.is_none())
            .filter(|l| l.total() == Some(bytes.len()))
            .ok_or_else(|| {
                Error::ModelCorrupt(format!(
                    "a {rows} x {cols} rq{books} table with {exact} exact rows is damaged"
                ))
            })?;
        let exact_rows = QuantizedMatrix::from_stored(exact, cols, &bytes[..layout.exact])?;
        let codebooks = match codebooks {
            Some(books_given) => {
                if books_given.books != books || books_given.cols() != cols {
                    return Err(Error::ModelCorrupt(
                        "rows coded for other codebooks cannot join this table".into(),
                    ));
                }
                Arc::clone(books_given)
            }
            None => {
                let stored = QuantizedMatrix::from_stored(
                    books * CENTROIDS,
                    cols,
                    &bytes[layout.exact..layout.exact + layout.books],
                )?;
                Arc::new(Codebooks::of(books, stored))
            }
        };
        let at = layout.exact + layout.books;
        let coded = rows - exact;
        let stored = &bytes[at..at + coded * books];
        let mut codes = vec![0u8; coded * books];
        for (j, stage) in stored.chunks_exact(coded.max(1)).enumerate() {
            for (r, &c) in stage.iter().enumerate() {
                codes[r * books + j] = c;
            }
        }
        Self::new(exact_rows, codebooks, codes)
    }

    /// The stored bytes ([`Self::from_stored`]); `with_books: false` for a shard's rows.
    #[cfg(any(test, feature = "train"))]
    pub(crate) fn write_into(&self, out: &mut Vec<u8>, with_books: bool) {
        self.exact.write_into(out);
        if with_books {
            self.codebooks.stored.write_into(out);
        }
        let books = self.books();
        for j in 0..books {
            out.extend(self.codes.iter().skip(j).step_by(books));
        }
        let n = self.codes.len();
        out.extend(std::iter::repeat_n(0u8, n.next_multiple_of(4) - n));
    }

    /// Row `r` as scoring sees it, into `out` (`cols` values).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let cols = self.cols();
        if r < self.exact.rows {
            let scale = self.exact.scales[r];
            for (o, &v) in out
                .iter_mut()
                .zip(&self.exact.data[r * cols..(r + 1) * cols])
            {
                *o = v as f32 * scale;
            }
            return;
        }
        let books = self.books();
        let centroids = self.codebooks.centroids();
        out[..cols].iter_mut().for_each(|v| *v = 0.0);
        let at = (r - self.exact.rows) * books;
        for (j, &c) in self.codes[at..at + books].iter().enumerate() {
            let from = (j * CENTROIDS + c as usize) * cols;
            for (o, m) in out.iter_mut().zip(&centroids[from..from + cols]) {
                *o += m;
            }
        }
    }

    /// Every row decoded, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let cols = self.cols();
        let mut out = vec![0.0; self.rows * cols];
        for (r, row) in out.chunks_exact_mut(cols.max(1)).enumerate() {
            self.row_into(r, row);
        }
        out
    }

    /// Every row's score against `x`: the exact rows as [`QuantizedMatrix::matvec`], each coded
    /// row the sum of its centroids' dot products with `x` (one lookup table per call), added in
    /// codebook order so every platform gives the same scores.
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        let cols = self.cols();
        let books = self.books();
        self.exact.matvec(x, out);
        let lut: Vec<f32> = self
            .codebooks
            .centroids()
            .chunks_exact(cols.max(1))
            .map(|c| c.iter().zip(&x[..cols]).map(|(a, b)| a * b).sum())
            .collect();
        out.reserve(self.rows - self.exact.rows);
        out.extend(self.codes.chunks_exact(books).map(|row| {
            let mut s = 0f32;
            for (j, &c) in row.iter().enumerate() {
                s += lut[j * CENTROIDS + c as usize];
            }
            s
        }));
    }

    /// Rows `rows`, in order, as a new table with the same codebooks: the exact rows among them
    /// must come first (a selection that puts a coded row before an exact one is refused).
    pub fn select(&self, rows: impl IntoIterator<Item = usize>) -> Result<Self> {
        let (cols, books, exact) = (self.cols(), self.books(), self.exact.rows);
        let mut kept = QuantizedMatrix {
            rows: 0,
            cols,
            data: Vec::new(),
            scales: Vec::new(),
        };
        let mut codes = Vec::new();
        for r in rows {
            if r < exact {
                if !codes.is_empty() {
                    return Err(Error::InvalidArgument(format!(
                        "row {r} is stored whole and follows a coded row: the rows stored whole \
                         come first"
                    )));
                }
                kept.data
                    .extend_from_slice(&self.exact.data[r * cols..(r + 1) * cols]);
                kept.scales.push(self.exact.scales[r]);
                kept.rows += 1;
            } else {
                let at = (r - exact) * books;
                codes.extend_from_slice(&self.codes[at..at + books]);
            }
        }
        Self::new(kept, Arc::clone(&self.codebooks), codes)
    }

    /// Appends `other`'s rows: coded rows only, with the same codebooks (a shard of this model).
    pub fn append(&mut self, other: CodedTable) -> Result<()> {
        if other.exact.rows > 0
            || !(Arc::ptr_eq(&self.codebooks, &other.codebooks)
                || self.codebooks == other.codebooks)
        {
            return Err(Error::ModelCorrupt(
                "rows coded for other codebooks cannot join this table".into(),
            ));
        }
        self.codes.extend_from_slice(&other.codes);
        self.rows += other.rows;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `rows` rows (`exact` whole) over 3 codebooks of width 8.
    fn table(rows: usize, exact: usize) -> CodedTable {
        let (books, cols) = (3, 8);
        let centroids: Vec<f32> = (0..books * CENTROIDS * cols)
            .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 300.0)
            .collect();
        let codebooks = Arc::new(Codebooks::quantize(books, cols, &centroids).unwrap());
        let whole: Vec<f32> = (0..exact * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let codes = (0..(rows - exact) * books)
            .map(|i| (i * 131 % 256) as u8)
            .collect();
        CodedTable::new(
            QuantizedMatrix::quantize(&whole, exact, cols),
            codebooks,
            codes,
        )
        .unwrap()
    }

    #[test]
    fn dtype_names_the_codebooks() {
        assert_eq!(books_of_dtype("rq12"), Some(12));
        assert_eq!(books_of_dtype("rq64"), Some(64));
        for bad in ["rq0", "rq65", "rq012", "rq+1", "rq", "pq8", "i8", "rq1x"] {
            assert_eq!(books_of_dtype(bad), None, "{bad}");
        }
    }

    #[test]
    fn rows_decode_as_their_centroids_summed_and_scores_match_them() {
        let t = table(20, 4);
        assert_eq!((t.rows, t.dtype()), (20, "rq3".to_string()));
        let all = t.dequantize();
        let centroids = t.codebooks.centroids();
        // A coded row is its three centroids summed.
        let r = 9;
        let codes = &t.codes[(r - 4) * 3..(r - 3) * 3];
        for c in 0..8 {
            let sum: f32 = (0..3)
                .map(|j| centroids[(j * CENTROIDS + codes[j] as usize) * 8 + c])
                .sum();
            assert!((all[r * 8 + c] - sum).abs() < 1e-6);
        }
        // An exact row is its int8 row.
        assert_eq!(all[8..16], t.exact.dequantize()[8..16]);
        let x: Vec<f32> = (0..8).map(|c| (c as f32 * 0.7).cos()).collect();
        let mut out = Vec::new();
        t.matvec(&x, &mut out);
        assert_eq!(out.len(), 20);
        for (r, row) in all.chunks_exact(8).enumerate() {
            let want: f32 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
            assert!(
                (out[r] - want).abs() < 1e-3,
                "row {r}: {} vs {want}",
                out[r]
            );
        }
    }

    #[test]
    fn stored_bytes_round_trip_and_damage_is_refused() {
        let t = table(21, 5);
        let mut bytes = Vec::new();
        t.write_into(&mut bytes, true);
        assert_eq!(Some(bytes.len()), stored_bytes(3, 21, 8, 5));
        let back = CodedTable::from_stored(3, 21, 8, 5, &bytes, None).unwrap();
        assert_eq!(back, t);
        // The codes stage by stage: every coded row's first code, then their second, ...
        // 16 coded rows, 3 codes each: the last 48 bytes.
        let at = bytes.len() - 48;
        let stage_1: Vec<u8> = t.codes.iter().skip(1).step_by(3).copied().collect();
        assert_eq!(bytes[at + 16..at + 32], stage_1[..]);
        for (rows, exact, len) in [
            (21, 5, bytes.len() - 1),
            (22, 5, bytes.len()),
            (21, 6, bytes.len()),
        ] {
            let err = CodedTable::from_stored(3, rows, 8, exact, &bytes[..len], None).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "{rows} {exact} {len}");
        }
        assert!(
            stored_bytes(3, 4, 8, 5).is_none(),
            "more exact rows than rows"
        );
        assert!(stored_bytes(3, usize::MAX, 8, 0).is_none());
        // A zero scale in the codebooks is refused.
        let mut zero = bytes.clone();
        let at = Encoding::Int8.stored_bytes(5, 8).unwrap()
            + Encoding::Int8.scales_at(3 * CENTROIDS, 8).unwrap();
        zero[at..at + 4].copy_from_slice(&0f32.to_le_bytes());
        assert!(CodedTable::from_stored(3, 21, 8, 5, &zero, None).is_err());
        assert!(CodedTable::from_stored(0, 21, 8, 5, &bytes, None).is_err());
    }

    #[test]
    fn a_shard_of_coded_rows_selects_writes_and_appends_back() {
        let t = table(30, 4);
        let core = t.select((0..4).chain(10..20)).unwrap();
        assert_eq!((core.rows, core.exact.rows), (14, 4));
        let shard = t.select((4..10).chain(20..30)).unwrap();
        assert_eq!(shard.exact.rows, 0);
        let mut bytes = Vec::new();
        shard.write_into(&mut bytes, false);
        assert_eq!(Some(bytes.len()), shard_bytes(3, 16));
        let read = CodedTable::from_stored(3, 16, 8, 0, &bytes, Some(&core.codebooks)).unwrap();
        let mut joined = core.clone();
        joined.append(read).unwrap();
        assert_eq!(joined.rows, 30);
        let mut row = vec![0.0; 8];
        let mut want = vec![0.0; 8];
        joined.row_into(14, &mut row);
        t.row_into(4, &mut want);
        assert_eq!(row, want);
        // Exact rows after a coded one, and rows with other codebooks, are refused.
        assert!(t.select([5, 1]).is_err());
        let other = table(10, 0);
        let mut bad = core.clone();
        let foreign = CodedTable {
            codebooks: Arc::new(Codebooks::quantize(3, 8, &vec![0.5; 3 * CENTROIDS * 8]).unwrap()),
            ..other
        };
        assert!(bad.append(foreign).is_err());
        assert!(
            bad.append(t.select([0]).unwrap()).is_err(),
            "exact rows cannot join"
        );
        assert_eq!(bad, core, "a refused append changes nothing");
    }
}
