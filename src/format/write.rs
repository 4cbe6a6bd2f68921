//! Writing weights files (feature `train`): quantisation to int8 and the file's framing.

use sha2::{Digest, Sha256};

use crate::catalog::ItemMeta;
use crate::error::{Error, Result};
use crate::model::{SeqRecConfig, Weights};

use super::coded::CodedTable;
use super::quant::{Encoding, Quantized};
use super::{FORMAT_VERSION, Header, MAGIC, MIN_LEN, TensorEntry, lists, validate_header};

/// What goes into a new weights file.
pub struct ArtefactParts<'a> {
    pub config: &'a SeqRecConfig,
    pub items: &'a [String],
    pub popularity: &'a [u32],
    pub attributes: &'a [Vec<u32>],
    pub catalog: Option<&'a [ItemMeta]>,
    pub weights: &'a Weights,
    pub provenance: serde_json::Value,
    /// Quantised (shipping) or f32 (training checkpoints).
    pub storage: Storage,
}

/// How a file stores its matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Every value as f32 (training checkpoints).
    F32,
    /// Matrices quantised per row: int8, the item table as given (a shipped model).
    Quantized { item_table: Encoding },
}

/// A model file with random weights and `config.n_items` synthetic items (`item-1`, `item-2`, ...,
/// with a Zipf-like popularity), for timing: benchmarks and load tests. Same seed, same bytes.
pub fn random_model(config: &SeqRecConfig, seed: u64, item_table: Encoding) -> Result<Vec<u8>> {
    let (weights, items, popularity) = random_parts(config, seed)?;
    write(&random_artefact(
        config,
        seed,
        &weights,
        &items,
        &popularity,
        item_table,
    ))
}

/// [`random_model`] with the item table as residual codes in `books` codebooks
/// ([`CodedTable`]): the `exact - 1` most popular items (the first) stored whole, every other
/// item uniformly random codes over random centroids, for timing and sizes (uniform codes are
/// the least compressible: a trained table's take a few per cent fewer bytes gzipped).
pub fn random_model_coded(
    config: &SeqRecConfig,
    seed: u64,
    books: usize,
    exact: usize,
) -> Result<Vec<u8>> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let (weights, items, popularity) = random_parts(config, seed)?;
    let rows = config.n_items + 1;
    let d = config.d_model;
    if exact == 0 || exact > rows {
        return Err(Error::InvalidArgument(format!(
            "{exact} exact rows of a table of {rows}"
        )));
    }
    let table = &weights
        .get("item_emb")
        .ok_or_else(|| Error::InvalidArgument("weights lack item_emb".into()))?
        .values;
    // Centroids of the table's scale: its values in a seeded shuffle, shrunk so that a sum of
    // `books` of them has about a row's norm.
    let mut rng = StdRng::seed_from_u64(seed ^ 0xc0de5);
    let shrink = 1.0 / (books as f32).sqrt();
    let centroids: Vec<f32> = (0..books * super::coded::CENTROIDS * d)
        .map(|_| table[rng.random_range(d..table.len())] * shrink)
        .collect();
    let codes: Vec<u8> = (0..(rows - exact) * books).map(|_| rng.random()).collect();
    let coded = CodedTable::new(
        super::quant::QuantizedMatrix::quantize(&table[..exact * d], exact, d),
        std::sync::Arc::new(super::coded::Codebooks::quantize(books, d, &centroids)?),
        codes,
    )?;
    write_coded(
        &random_artefact(config, seed, &weights, &items, &popularity, Encoding::Int8),
        &coded,
    )
}

type RandomParts = (Weights, Vec<String>, Vec<u32>);

fn random_parts(config: &SeqRecConfig, seed: u64) -> Result<RandomParts> {
    let device = crate::cpu_device();
    device.seed(seed);
    let weights = config.init(&device)?.to_weights()?;
    let n = config.n_items;
    let items: Vec<String> = (1..=n).map(|i| format!("item-{i}")).collect();
    let popularity: Vec<u32> = (1..=n)
        .map(|rank| (1_000_000 / rank).max(1) as u32)
        .collect();
    Ok((weights, items, popularity))
}

fn random_artefact<'a>(
    config: &'a SeqRecConfig,
    seed: u64,
    weights: &'a Weights,
    items: &'a [String],
    popularity: &'a [u32],
    item_table: Encoding,
) -> ArtefactParts<'a> {
    ArtefactParts {
        config,
        items,
        popularity,
        attributes: &[],
        catalog: None,
        weights,
        provenance: serde_json::json!({ "random_weights": true, "seed": seed }),
        storage: Storage::Quantized { item_table },
    }
}

/// Serialises a model. Matrices are quantised here. The file is assembled in one buffer
/// of its final size: each tensor's bytes are known before any is written (a quantised matrix is
/// quantised first; it is a quarter of its f32 size), so the header with every offset comes
/// first and the tensors are written after it once. (Growing the payload and then framing it
/// held up to three copies of a 500k-item table at once: the trainer's checkpoint after each
/// epoch was its peak memory.)
pub fn write(parts: &ArtefactParts<'_>) -> Result<Vec<u8>> {
    write_with(parts, None)
}

/// [`write`] with the item table stored as `table` (residual-quantisation codes, format version
/// 4) instead of quantised from the weights: a shipped model (`parts.storage` quantised) whose
/// items are in `table`'s row order, the ones it stores whole first.
pub fn write_coded(parts: &ArtefactParts<'_>, table: &CodedTable) -> Result<Vec<u8>> {
    let rows = parts.config.n_items + 1;
    if table.rows != rows || table.cols() != parts.config.d_model || parts.storage == Storage::F32 {
        return Err(Error::InvalidArgument(format!(
            "a coded table of [{}, {}] for a shipped model of [{rows}, {}]",
            table.rows,
            table.cols(),
            parts.config.d_model
        )));
    }
    write_with(parts, Some(table))
}

fn write_with(parts: &ArtefactParts<'_>, coded: Option<&CodedTable>) -> Result<Vec<u8>> {
    /// A tensor's bytes in the payload.
    enum Body<'a> {
        Quantized(Quantized),
        Coded(&'a CodedTable),
        F32(&'a [f32]),
    }
    let mut bodies = Vec::new();
    let mut tensors = Vec::new();
    let mut payload_len = 0usize;
    for (name, shape) in parts.config.param_shapes() {
        let w = parts
            .weights
            .get(&name)
            .ok_or_else(|| Error::InvalidArgument(format!("weights lack tensor {name}")))?;
        if w.shape != shape {
            return Err(Error::InvalidArgument(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                w.shape
            )));
        }
        let offset = payload_len;
        if let (Some(table), "item_emb") = (coded, name.as_str()) {
            payload_len += super::coded::stored_bytes(
                table.books(),
                table.rows,
                table.cols(),
                table.exact.rows,
            )
            .ok_or_else(|| Error::InvalidArgument("the item table is too large".into()))?;
            bodies.push(Body::Coded(table));
            tensors.push(TensorEntry {
                name,
                shape,
                dtype: table.dtype(),
                offset,
                bytes: payload_len - offset,
                exact: Some(table.exact.rows),
            });
            continue;
        }
        let (body, dtype) = match parts.storage {
            Storage::Quantized { item_table } if shape.len() == 2 => {
                let encoding = if name == "item_emb" {
                    item_table
                } else {
                    Encoding::Int8
                };
                let q = Quantized::quantize(&w.values, shape[0], shape[1], encoding);
                // Codes padded to 4 bytes, then one f32 scale per row (`Encoding::scales_at`).
                payload_len += encoding
                    .stored_bytes(shape[0], shape[1])
                    .ok_or_else(|| Error::InvalidArgument(format!("tensor {name} is too large")))?;
                (Body::Quantized(q), encoding.dtype())
            }
            _ => {
                payload_len += 4 * w.values.len();
                (Body::F32(&w.values), "f32")
            }
        };
        bodies.push(body);
        tensors.push(TensorEntry {
            name,
            shape,
            dtype: dtype.into(),
            offset,
            bytes: payload_len - offset,
            exact: None,
        });
    }
    let header = Header {
        config: parts.config.clone(),
        items: parts.items.to_vec(),
        popularity: parts.popularity.to_vec(),
        attributes: parts.attributes.to_vec(),
        catalog: parts.catalog.map(<[ItemMeta]>::to_vec),
        tensors,
        provenance: parts.provenance.clone(),
        shards: None,
        lists: None,
    };
    frame_model(header, payload_len, 0, |out| {
        for body in &bodies {
            match body {
                // Every tensor starts 4-aligned in the payload, so padding the codes to a
                // multiple of 4 aligns the scales.
                Body::Quantized(q) => q.write_into(out),
                Body::Coded(table) => table.write_into(out, true),
                Body::F32(values) => out.extend(values.iter().flat_map(|v| v.to_le_bytes())),
            }
        }
    })
}

/// Frames a model: `header`, whose tensor entries lie in the first `tensors_len` bytes of the
/// payload (which `tensors` writes), with its per-item lists moved into a section after them
/// ([`lists`]); checked, and written as the oldest version that holds it (version 7, the lists'),
/// at least `min_version`.
pub(super) fn frame_model(
    mut header: Header,
    tensors_len: usize,
    min_version: u32,
    tensors: impl FnOnce(&mut Vec<u8>),
) -> Result<Vec<u8>> {
    let section = lists::seal(&mut header, tensors_len)?;
    let payload_len = tensors_len
        .checked_add(section.len())
        .ok_or_else(|| Error::InvalidArgument("the model is too large".into()))?;
    let version = header.oldest_version().max(min_version);
    validate_header(&header, payload_len, version)?;
    let json = serde_json::to_vec(&header).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(framed(&json, version, payload_len, |out| {
        tensors(out);
        out.extend_from_slice(&section);
    }))
}

/// A model file of any version this build reads, checked whole and rewritten as the newest
/// version (`localrec upgrade`): every tensor's bytes as stored (the same weights, bit for bit),
/// the per-item lists in the payload. Its SHA-256 changes, its answers do not. Returns the new
/// file and the version the old one was.
pub fn upgrade(bytes: &[u8]) -> Result<(Vec<u8>, u32)> {
    let (mut header, payload, _, from) = super::read_header(bytes)?;
    // Every tensor decoded and checked (finite values, scales), as a load would.
    super::decode_tensors(&header, payload, false)?;
    let mut raw = Vec::with_capacity(header.tensors.len());
    let mut at = 0usize;
    for t in &mut header.tensors {
        raw.push(&payload[t.offset..t.offset + t.bytes]);
        t.offset = at;
        at += t.bytes;
    }
    header.lists = None;
    let file = frame_model(header, at, 0, |out| {
        raw.iter().for_each(|r| out.extend_from_slice(r))
    })?;
    Ok((file, from))
}

/// Frames header JSON and payload as a file of the newest format version: magic, version, both
/// lengths and the SHA-256 trailer. No validation: [`write`] checks first (the fuzzer frames raw
/// bytes).
pub fn envelope(header: &[u8], payload: &[u8]) -> Vec<u8> {
    framed(header, FORMAT_VERSION, payload.len(), |out| {
        out.extend_from_slice(payload)
    })
}

/// [`envelope`] with the payload's `len` bytes appended by `payload` into the file's buffer,
/// which is allocated once at its final size.
pub(super) fn framed(
    header: &[u8],
    version: u32,
    len: usize,
    payload: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIN_LEN + header.len() + len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(len as u64).to_le_bytes());
    let start = out.len();
    payload(&mut out);
    debug_assert_eq!(
        out.len() - start,
        len,
        "the payload's size was computed beforehand"
    );
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}
