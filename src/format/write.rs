//! Writing weights files (feature `train`): quantisation to int8 and the file's framing.

use sha2::{Digest, Sha256};

use crate::catalog::ItemMeta;
use crate::error::{Error, Result};
use crate::model::{SeqRecConfig, Weights};

use super::quant::{Encoding, Quantized};
use super::{FORMAT_VERSION, Header, MAGIC, MIN_LEN, TensorEntry, validate_header};

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
    let device = crate::cpu_device();
    device.seed(seed);
    let weights = config.init(&device)?.to_weights()?;
    let n = config.n_items;
    let items: Vec<String> = (1..=n).map(|i| format!("item-{i}")).collect();
    let popularity: Vec<u32> = (1..=n)
        .map(|rank| (1_000_000 / rank).max(1) as u32)
        .collect();
    write(&ArtefactParts {
        config,
        items: &items,
        popularity: &popularity,
        attributes: &[],
        catalog: None,
        weights: &weights,
        provenance: serde_json::json!({ "random_weights": true, "seed": seed }),
        storage: Storage::Quantized { item_table },
    })
}

/// Serialises a model. Matrices are quantised here. The file is assembled in one buffer
/// of its final size: each tensor's bytes are known before any is written (a quantised matrix is
/// quantised first; it is a quarter of its f32 size), so the header with every offset comes
/// first and the tensors are written after it once. (Growing the payload and then framing it
/// held up to three copies of a 500k-item table at once: the trainer's checkpoint after each
/// epoch was its peak memory.)
pub fn write(parts: &ArtefactParts<'_>) -> Result<Vec<u8>> {
    /// A tensor's bytes in the payload.
    enum Body<'a> {
        Quantized(Quantized),
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
    };
    // The oldest version that holds this file, so int8 files load in earlier builds.
    let (version, _) = header.oldest_version();
    validate_header(&header, payload_len, version)?;
    let header = serde_json::to_vec(&header).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(framed(&header, version, payload_len, |out| {
        for body in &bodies {
            match body {
                // Every tensor starts 4-aligned in the payload, so padding the codes to a
                // multiple of 4 aligns the scales.
                Body::Quantized(q) => q.write_into(out),
                Body::F32(values) => out.extend(values.iter().flat_map(|v| v.to_le_bytes())),
            }
        }
    }))
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
