//! The `model.lrec` weights file: everything the browser needs, checked before use.
//!
//! Layout (all integers little-endian):
//!
//! | bytes        | content                                                        |
//! |--------------|----------------------------------------------------------------|
//! | 8            | magic `\x89LREC\r\n\x1a`                                       |
//! | 4            | format version ([`FORMAT_VERSION`])                            |
//! | 8            | header length `H`                                              |
//! | `H`          | header, UTF-8 JSON ([`Header`])                                |
//! | 8            | payload length `P`                                             |
//! | `P`          | payload: tensors at the offsets the header gives               |
//! | 32           | SHA-256 of every byte before it                                |
//!
//! Matrices (embedding tables and linear weights) are stored as per-row symmetric int8 with f32
//! scales; vectors (biases, LayerNorm) as f32. Version 2 adds int4 (dtype `i4`, two values per
//! byte, [`quant::Int4Matrix`]) for the item table only; a file is written as the oldest version
//! that can hold it, so int8 files stay version 1 and load in every earlier build. Version 3 adds
//! cores and catalogue shards ([`shard`]): a core's header lists the shards holding the items it
//! leaves out. Version 4 adds item tables of residual-quantisation codes ([`coded`]); version 5
//! shards whose ids are numbered runs ([`shard::NumberedIds`]); version 6 models whose positions
//! are a relative attention bias ([`crate::model::Positions::Relative`]); version 7 the per-item
//! lists (ids, popularity, attribute ids) as a binary section of the payload ([`lists`]) instead
//! of JSON arrays in the header. Every file is written as version 7 since; files of every
//! earlier version still load (`localrec upgrade` rewrites one as version 7).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::ItemMeta;
use crate::error::{Error, Result};
use crate::model::{SeqRecConfig, WeightTensor, Weights};
use quant::{Encoding, Quantized};

pub mod coded;
pub mod lists;
#[cfg(feature = "train")]
pub mod pq;
pub mod quant;
pub mod shard;
pub mod stream;
#[cfg(feature = "train")]
mod write;
#[cfg(feature = "train")]
pub use write::{
    ArtefactParts, Storage, envelope, random_model, random_model_coded, upgrade, write, write_coded,
};

/// First bytes of every weights file.
pub const MAGIC: [u8; 8] = *b"\x89LREC\r\n\x1a";
/// The newest format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 7;
/// The oldest format version this build reads.
pub const OLDEST_VERSION: u32 = 1;
/// The version that introduced int4 item tables.
pub(crate) const INT4_VERSION: u32 = 2;
/// The version that introduced positions counted from the oldest event
/// ([`crate::model::Positions`]).
pub(crate) const POSITIONS_VERSION: u32 = 3;
/// The version that introduced item tables stored as residual-quantisation codes
/// ([`coded::CodedTable`]).
pub(crate) const CODED_VERSION: u32 = 4;
/// The version that introduced a relative attention bias instead of a position table
/// ([`crate::model::Positions::Relative`]).
pub(crate) const RELATIVE_VERSION: u32 = 6;
/// The version that introduced the per-item lists as a section of the payload ([`lists`]).
pub(crate) const LISTS_VERSION: u32 = 7;
const DIGEST_LEN: usize = 32;
pub(crate) const MIN_LEN: usize = 8 + 4 + 8 + 8 + DIGEST_LEN;

/// How one tensor is stored in the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    pub name: String,
    pub shape: Vec<usize>,
    /// `"i8"` (per-row int8 + f32 scales), `"i4"` (per-row int4 + f32 scales; the item table
    /// only, version 2), `"rqM"` (residual-quantisation codes in `M` codebooks with the first
    /// [`Self::exact`] rows int8; the item table only, version 4, [`coded`]) or `"f32"`.
    pub dtype: String,
    /// Byte offset of the values in the payload; for `i8` and `i4`, the f32 scales follow the
    /// codes, 4-byte aligned.
    pub offset: usize,
    /// Bytes used, scales included.
    pub bytes: usize,
    /// `rqM` only: how many of the first rows are stored whole (int8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<usize>,
}

/// The JSON header: what `localrec inspect` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    #[serde(deserialize_with = "config_of_any_version")]
    pub config: SeqRecConfig,
    /// Shop item ids; `items[i]` is embedding row `i + 1`. (In the JSON of files before version
    /// 7; since, read from the payload's section at [`Self::lists`].)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Training-set interaction counts per item (same order as `items`): the cold-start ranking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub popularity: Vec<u32>,
    /// Attribute ids per item (same order as `items`), when the model reads attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Vec<u32>>,
    /// Since version 7: where the payload holds `items`, `popularity` and `attributes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists: Option<lists::ListsEntry>,
    /// Catalogue metadata per item (same order as `items`), when the trainer had a catalogue.
    #[serde(default)]
    pub catalog: Option<Vec<ItemMeta>>,
    pub tensors: Vec<TensorEntry>,
    /// Free-form provenance: trainer version, data, seed, metrics. (Not read in the browser,
    /// which has no use for it: its JSON is skipped there.)
    #[serde(default)]
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub provenance: serde_json::Value,
    /// In a core (version 3): the shards holding the catalogue's other items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<shard::ShardIndex>,
}

/// A header's config as stored: every field of [`SeqRecConfig`], those added since format
/// version 1 began optional, since a file that predates one implies the value every earlier file
/// had, not a new config's default: `layout` pre-norm (before it, every block was), `positions`
/// counted from the newest event. Read as it is rather than through `serde_json::Value` and
/// burn's config deserializer (`Value` was in the browser's bundle for this alone); a test
/// holds it to every field a config writes.
#[derive(Deserialize)]
struct StoredConfig {
    n_items: usize,
    d_model: usize,
    layers: usize,
    heads: usize,
    max_len: usize,
    dropout: f64,
    query_buckets: usize,
    max_query_tokens: usize,
    n_attributes: usize,
    max_attributes: usize,
    event_types: bool,
    layout: Option<crate::model::BlockLayout>,
    positions: Option<crate::model::Positions>,
}

fn config_of_any_version<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<SeqRecConfig, D::Error> {
    let c = StoredConfig::deserialize(d)?;
    Ok(SeqRecConfig::new(c.n_items)
        .with_d_model(c.d_model)
        .with_layers(c.layers)
        .with_heads(c.heads)
        .with_max_len(c.max_len)
        .with_dropout(c.dropout)
        .with_query_buckets(c.query_buckets)
        .with_max_query_tokens(c.max_query_tokens)
        .with_n_attributes(c.n_attributes)
        .with_max_attributes(c.max_attributes)
        .with_event_types(c.event_types)
        .with_layout(c.layout.unwrap_or(crate::model::BlockLayout::PreNorm))
        .with_positions(c.positions.unwrap_or(crate::model::Positions::FromNewest)))
}

/// A loaded, verified weights file.
#[derive(Debug, Clone)]
pub struct Artefact {
    pub header: Header,
    /// Dequantised weights, ready to build the model. [`read_for_inference`] leaves the item
    /// table out (it stays in [`Self::item_table`]).
    pub weights: Weights,
    /// The item table as stored (int8 or int4), for host-side scoring; None in f32 checkpoints
    /// read with [`read`] ([`read_for_inference`] quantises theirs to int8).
    pub item_table: Option<Quantized>,
    /// The file's format version.
    pub version: u32,
    /// Hex SHA-256 of the whole file (what `sha256sum` prints).
    pub sha256: String,
    /// File size in bytes.
    pub size: usize,
}

fn corrupt(msg: impl Into<String>) -> Error {
    Error::ModelCorrupt(msg.into())
}

fn read_u64(bytes: &[u8], at: usize) -> Result<usize> {
    let raw: [u8; 8] = at
        .checked_add(8)
        .and_then(|end| bytes.get(at..end))
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            corrupt(format!(
                "file is truncated at byte {at} ({} bytes in all)",
                bytes.len()
            ))
        })?;
    usize::try_from(u64::from_le_bytes(raw)).map_err(|_| corrupt("length field out of range"))
}

/// SHA-256 digests of a weights file computed outside this crate (the browser's native
/// `crypto.subtle`, ten times faster than SHA-256 compiled to wasm): of its body (every byte before
/// the trailer), checked against the trailer, and of the whole file, reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub body: [u8; DIGEST_LEN],
    pub file: [u8; DIGEST_LEN],
}

/// Checks magic, version, lengths and checksum, then returns the parsed header, the payload
/// slice, the file's SHA-256 (hex) and its format version.
pub fn read_header(bytes: &[u8]) -> Result<(Header, &[u8], String, u32)> {
    read_header_with(bytes, None)
}

/// [`read_header`] with the file's digests given ([`Digests`]) instead of computed here.
pub fn read_header_with<'a>(
    bytes: &'a [u8],
    digests: Option<&Digests>,
) -> Result<(Header, &'a [u8], String, u32)> {
    let frame = unframe(bytes, digests)?;
    let mut header = parse_header(frame.header, frame.payload.len(), frame.version)?;
    open_lists(&mut header, frame.payload)?;
    Ok((header, frame.payload, frame.sha256, frame.version))
}

/// Reads a version-7 header's per-item lists from `payload` (a no-op for a header that lists
/// them in its JSON). `validate_header` checked the section's range.
pub(crate) fn open_lists(header: &mut Header, payload: &[u8]) -> Result<()> {
    let Some(entry) = header.lists.clone() else {
        return Ok(());
    };
    lists::open(
        header,
        &entry,
        &payload[entry.offset..entry.offset + entry.bytes],
    )
}

/// Parses a model's JSON header and checks it against the payload's length and the version.
pub(crate) fn parse_header(json: &[u8], payload_len: usize, version: u32) -> Result<Header> {
    let header: Header = serde_json::from_slice(json).map_err(|e| {
        let shard = serde_json::from_slice::<shard::ShardHeader>(json).is_ok();
        corrupt(if shard {
            "this is a catalogue shard, not a model: load the core file that lists it".into()
        } else {
            format!("header is not valid JSON for this version: {e}")
        })
    })?;
    validate_header(&header, payload_len, version)?;
    Ok(header)
}

/// Refuses a file whose first 8 bytes (when there are 8) are not [`MAGIC`].
fn check_magic(bytes: &[u8]) -> Result<()> {
    match bytes.get(..8) {
        Some(magic) if magic != MAGIC => {
            Err(corrupt("not a localrec model file (bad magic bytes)"))
        }
        _ => Ok(()),
    }
}

/// The format version in bytes 8..12 (the caller checked there are 12), if this build reads it.
fn read_version(bytes: &[u8]) -> Result<u32> {
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(Error::ModelVersion {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    Ok(version)
}

/// What a file's two length fields say: the header is `bytes[20..header_end]`, the payload the
/// `payload_len` bytes after the payload-length field (`header_end..header_end + 8`), and the
/// file `file_len` bytes with its trailer.
pub(crate) struct Lengths {
    pub header_end: usize,
    pub payload_len: usize,
    pub file_len: usize,
}

/// Reads the length fields of `bytes` (at least 20 of them): refused where the payload-length
/// field would end past `limit` (the file's size, or the most a stream may bring) or the file's
/// length overflows; None while the payload-length field is not in `bytes` yet (a stream).
pub(crate) fn lengths(bytes: &[u8], limit: usize) -> Result<Option<Lengths>> {
    let header_len = read_u64(bytes, 12)?;
    let header_end = 20usize
        .checked_add(header_len)
        .filter(|end| end.checked_add(8).is_some_and(|e| e <= limit))
        .ok_or_else(|| {
            corrupt(format!(
                "header length field says {header_len} bytes, more than the file can hold \
                 ({limit} bytes): truncated or damaged"
            ))
        })?;
    if bytes.len() < header_end + 8 {
        return Ok(None);
    }
    let payload_len = read_u64(bytes, header_end)?;
    let file_len = (header_end + 8)
        .checked_add(payload_len)
        .and_then(|n| n.checked_add(DIGEST_LEN))
        .ok_or_else(|| corrupt("payload length out of range"))?;
    Ok(Some(Lengths {
        header_end,
        payload_len,
        file_len,
    }))
}

/// A file's framing, checked: magic, version, lengths and the SHA-256 trailer.
pub(crate) struct Frame<'a> {
    /// The header's JSON bytes, not parsed yet.
    pub header: &'a [u8],
    pub payload: &'a [u8],
    /// Hex SHA-256 of the whole file.
    pub sha256: String,
    pub version: u32,
}

/// Checks magic, version, lengths and checksum of a weights or shard file.
pub(crate) fn unframe<'a>(bytes: &'a [u8], digests: Option<&Digests>) -> Result<Frame<'a>> {
    check_magic(bytes)?;
    if bytes.len() < 12 {
        return Err(corrupt(format!(
            "file is truncated: {} bytes, a model file has at least {MIN_LEN}",
            bytes.len()
        )));
    }
    let version = read_version(bytes)?;
    if bytes.len() < MIN_LEN {
        return Err(corrupt(format!(
            "file is truncated: {} bytes, a model file has at least {MIN_LEN}",
            bytes.len()
        )));
    }
    let Lengths {
        header_end,
        payload_len,
        file_len: expected,
    } = lengths(bytes, bytes.len())?
        // Not reached: with the file's size as the limit, the payload-length field is in `bytes`.
        .ok_or_else(|| corrupt("file is truncated"))?;
    let payload_start = header_end + 8;
    if bytes.len() != expected {
        return Err(corrupt(format!(
            "file is {} bytes but its length fields say {expected}: truncated or padded",
            bytes.len()
        )));
    }
    let (body, trailer) = bytes.split_at(expected - DIGEST_LEN);
    let digests = match digests {
        Some(d) => d.clone(),
        None => {
            // One pass: the whole file's digest continues from the body's state over the
            // trailer. (Two passes took about 0.75 s of a million-item model's 2 s load in the
            // browser's wasm.)
            let mut hasher = Sha256::new();
            hasher.update(body);
            let body = hasher.clone().finalize().into();
            hasher.update(trailer);
            Digests {
                body,
                file: hasher.finalize().into(),
            }
        }
    };
    if digests.body.as_slice() != trailer {
        return Err(corrupt(
            "SHA-256 checksum mismatch: the file was modified or damaged",
        ));
    }
    Ok(Frame {
        header: &bytes[20..header_end],
        payload: &bytes[payload_start..payload_start + payload_len],
        sha256: hex(&digests.file),
        version,
    })
}

impl Header {
    /// What this file holds that a format version introduced, oldest first: the version and
    /// what needs it.
    fn features(&self) -> Vec<(u32, &'static str)> {
        use crate::model::Positions;
        let c = &self.config;
        [
            (
                self.tensors.iter().any(|t| t.dtype == "i4"),
                INT4_VERSION,
                "an int4 item table",
            ),
            (
                c.positions == Positions::FromOldest,
                POSITIONS_VERSION,
                "positions counted from the oldest event",
            ),
            (
                self.shards.is_some(),
                shard::SHARDS_VERSION,
                "a core with shards",
            ),
            (
                self.tensors
                    .iter()
                    .any(|t| coded::books_of_dtype(&t.dtype).is_some()),
                CODED_VERSION,
                "an item table of residual-quantisation codes",
            ),
            (
                c.positions == Positions::Relative,
                RELATIVE_VERSION,
                "a relative attention bias",
            ),
            (
                self.lists.is_some(),
                LISTS_VERSION,
                "per-item lists in the payload",
            ),
        ]
        .into_iter()
        .filter(|&(has, ..)| has)
        .map(|(_, version, what)| (version, what))
        .collect()
    }

    /// The oldest format version that can hold this file: what a file is written as (every
    /// file since version 7, whose lists are in the payload), and the least a file that holds
    /// it may claim.
    #[cfg(feature = "train")]
    pub(crate) fn oldest_version(&self) -> u32 {
        self.features()
            .iter()
            .map(|&(version, _)| version)
            .max()
            .unwrap_or(OLDEST_VERSION)
    }

    /// Refuses a file that claims `version` but holds what a later version introduced, naming
    /// the oldest such feature.
    fn check_version(&self, version: u32) -> Result<()> {
        match self.features().into_iter().find(|&(v, _)| v > version) {
            Some((needed, what)) => Err(corrupt(format!(
                "{what} needs format version {needed}; this file is version {version}"
            ))),
            None => Ok(()),
        }
    }
}

impl Artefact {
    /// Attribute ids by embedding row (row 0, padding, has none).
    pub fn item_attrs(&self) -> Vec<Vec<u32>> {
        by_row(self.header.attributes.clone())
    }

    /// [`Self::item_attrs`], moved out of the header instead of copied.
    pub fn take_item_attrs(&mut self) -> Vec<Vec<u32>> {
        by_row(std::mem::take(&mut self.header.attributes))
    }

    /// Popularity by embedding row (row 0 is 0).
    pub fn popularity_rows(&self) -> Vec<u32> {
        std::iter::once(0)
            .chain(self.header.popularity.iter().copied())
            .collect()
    }

    /// Builds the model on `device` from the verified weights. A file read with
    /// [`read_for_inference`] gives a model without its item table, which encodes with rows the
    /// caller gathers ([`crate::model::SeqRec::encode_newest_with_items`]).
    pub fn model(&self, device: &burn::prelude::Device) -> Result<crate::model::SeqRec> {
        self.header.config.init_with(device, &self.weights)
    }
}

/// Parses and verifies a weights file and dequantises its tensors (the trainer and tools).
pub fn read(bytes: &[u8]) -> Result<Artefact> {
    read_with(bytes, true, None)
}

/// [`read`] without the item table's f32 copy: it stays quantised in
/// [`Artefact::item_table`], which the browser scores against and gathers history rows from.
/// At a million items that is 256 MB of f32 not made.
/// `digests`, when given, are the file's ([`Digests`]) and save hashing it here.
pub fn read_for_inference(bytes: &[u8], digests: Option<&Digests>) -> Result<Artefact> {
    read_with(bytes, false, digests)
}

fn read_with(bytes: &[u8], item_table_f32: bool, digests: Option<&Digests>) -> Result<Artefact> {
    let (header, payload, sha256, version) = read_header_with(bytes, digests)?;
    let decoded = decode_tensors(&header, payload, item_table_f32)?;
    Ok(assemble(header, decoded, sha256, bytes.len(), version))
}

/// A header's attribute lists by embedding row: an empty list for row 0 (padding) in front,
/// none at all when the model has none.
fn by_row(mut attributes: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
    if !attributes.is_empty() {
        attributes.insert(0, Vec::new());
    }
    attributes
}

/// Every tensor of a checked header decoded from `payload` ([`decode_tensor`]).
pub(crate) fn decode_tensors(
    header: &Header,
    payload: &[u8],
    item_table_f32: bool,
) -> Result<Vec<Decoded>> {
    header
        .tensors
        .iter()
        // `validate_header` checked every size with checked arithmetic and every range against
        // the payload, so these slices cannot go out of bounds.
        .map(|t| decode_tensor(t, &payload[t.offset..t.offset + t.bytes], item_table_f32))
        .collect()
}

/// One stored tensor, decoded: its f32 values for the model, and for the item table the table
/// as stored (int8 or int4) for host-side scoring.
pub(crate) struct Decoded {
    values: Option<Vec<f32>>,
    pub(crate) item_table: Option<Quantized>,
}

/// Decodes tensor `t` from its payload bytes `data` (exactly `t.bytes` long, within a validated
/// header). The item table keeps no f32 copy unless `item_table_f32`.
pub(crate) fn decode_tensor(t: &TensorEntry, data: &[u8], item_table_f32: bool) -> Result<Decoded> {
    let item_emb = t.name == "item_emb";
    if let Some(books) = coded::books_of_dtype(&t.dtype) {
        // Only the item table (`validate_header`), 2-D, with its exact rows given.
        let table = coded::CodedTable::from_stored(
            books,
            t.shape[0],
            t.shape[1],
            t.exact.unwrap_or(0),
            data,
            None,
        )
        .map_err(|e| corrupt(format!("tensor {}: {e}", t.name)))?;
        let q = Quantized::Coded(table);
        return Ok(Decoded {
            values: item_table_f32.then(|| q.dequantize()),
            item_table: Some(q),
        });
    }
    let values = match Encoding::of_dtype(&t.dtype) {
        Some(encoding) => {
            // The shape is 2-D: `validate_header` checked it against the config.
            let q = Quantized::from_stored(encoding, t.shape[0], t.shape[1], data)
                .map_err(|e| corrupt(format!("tensor {}: {e}", t.name)))?;
            if item_emb {
                // Quantised values are finite when their scales are (checked by `from_stored`).
                return Ok(Decoded {
                    values: item_table_f32.then(|| q.dequantize()),
                    item_table: Some(q),
                });
            }
            q.dequantize()
        }
        None => f32s(data),
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(corrupt(format!(
            "tensor {} holds NaN or infinite values",
            t.name
        )));
    }
    if item_emb && !item_table_f32 {
        // An f32 file (a training checkpoint) read for inference: its table is quantised to
        // int8 here, as the trainer would ship it.
        return Ok(Decoded {
            values: None,
            item_table: Some(Quantized::quantize(
                &values,
                t.shape[0],
                t.shape[1],
                Encoding::Int8,
            )),
        });
    }
    Ok(Decoded {
        values: Some(values),
        item_table: None,
    })
}

/// The artefact of a verified header and its decoded tensors (in the header's order).
pub(crate) fn assemble(
    header: Header,
    decoded: Vec<Decoded>,
    sha256: String,
    size: usize,
    version: u32,
) -> Artefact {
    let mut weights = Weights::new();
    let mut item_table = None;
    for (t, d) in header.tensors.iter().zip(decoded) {
        if d.item_table.is_some() {
            item_table = d.item_table;
        }
        if let Some(values) = d.values {
            weights.insert(
                t.name.clone(),
                WeightTensor {
                    shape: t.shape.clone(),
                    values,
                },
            );
        }
    }
    Artefact {
        header,
        weights,
        item_table,
        sha256,
        size,
        version,
    }
}

/// Bytes a stored tensor takes (None inside: the size does not fit this platform), or None for
/// a dtype and shape that do not go together.
pub(crate) fn stored_bytes(t: &TensorEntry) -> Option<Option<usize>> {
    let (dtype, shape) = (t.dtype.as_str(), t.shape.as_slice());
    if let (Some(books), [rows, cols], Some(exact)) = (coded::books_of_dtype(dtype), shape, t.exact)
    {
        return Some(coded::stored_bytes(books, *rows, *cols, exact));
    }
    if t.exact.is_some() {
        return None;
    }
    match (Encoding::of_dtype(dtype), shape) {
        (Some(encoding), [rows, cols]) => Some(encoding.stored_bytes(*rows, *cols)),
        (None, _) if dtype == "f32" => {
            Some(shape.iter().try_fold(4usize, |n, &d| n.checked_mul(d)))
        }
        _ => None,
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The header must agree with itself and with the architecture: tensor names and shapes exactly
/// as the config asks, every tensor inside the payload, per-item tables the size of the vocabulary.
fn validate_header(h: &Header, payload_len: usize, version: u32) -> Result<()> {
    let c = &h.config;
    c.validate()
        .map_err(|e| corrupt(format!("bad config: {e}")))?;
    h.check_version(version)?;
    if let Some(index) = &h.shards {
        index.validate(c.n_items)?;
        if h.catalog.is_none() {
            return Err(corrupt("a core with shards needs its catalogue metadata"));
        }
    }
    match &h.lists {
        None => validate_items(h)?,
        Some(entry) => {
            if !(h.items.is_empty() && h.popularity.is_empty() && h.attributes.is_empty()) {
                return Err(corrupt(
                    "the header lists items itself and in the payload: one or the other",
                ));
            }
            if (c.n_attributes > 0) != entry.attribute_ids.is_some() {
                return Err(corrupt(if c.n_attributes > 0 {
                    "the model reads attributes but the file stores no attribute lists"
                } else {
                    "the file stores attribute lists for a model that reads none"
                }));
            }
            let fits = entry.min_bytes(c.n_items).is_some_and(|least| {
                entry.bytes >= least
                    && entry
                        .offset
                        .checked_add(entry.bytes)
                        .is_some_and(|end| end <= payload_len)
            });
            if !fits {
                return Err(corrupt(
                    "the per-item lists lie outside the payload or are too short for their counts",
                ));
            }
        }
    }
    if let Some(cat) = &h.catalog
        && cat.len() != c.n_items
    {
        return Err(corrupt(format!(
            "catalogue covers {} of {} items",
            cat.len(),
            c.n_items
        )));
    }
    // The config is bounded (validate) before any shape is derived from it.
    let expected = c.param_shapes();
    if expected.len() != h.tensors.len() {
        return Err(corrupt(format!(
            "{} tensors stored, the config needs {}",
            h.tensors.len(),
            expected.len()
        )));
    }
    for ((name, shape), t) in expected.iter().zip(&h.tensors) {
        if &t.name != name || &t.shape != shape {
            return Err(corrupt(format!(
                "tensor {} {:?} does not match the config's {name} {shape:?}",
                t.name, t.shape
            )));
        }
        if (t.dtype == "i4" || coded::books_of_dtype(&t.dtype).is_some()) && name != "item_emb" {
            return Err(corrupt(format!(
                "tensor {name} is {}: only the item table may be",
                t.dtype
            )));
        }
        let need = match stored_bytes(t) {
            Some(Some(need)) => need,
            Some(None) => {
                return Err(corrupt(format!(
                    "tensor {name} {shape:?} is too large for this platform"
                )));
            }
            None => {
                return Err(corrupt(format!(
                    "tensor {name} has unsupported dtype {:?}",
                    t.dtype
                )));
            }
        };
        if t.bytes != need
            || t.offset
                .checked_add(t.bytes)
                .is_none_or(|end| end > payload_len)
        {
            return Err(corrupt(format!(
                "tensor {name} lies outside the payload or has the wrong size"
            )));
        }
    }
    Ok(())
}

/// The per-item lists must cover the vocabulary, attribute ids within the config's.
pub(crate) fn validate_items(h: &Header) -> Result<()> {
    let c = &h.config;
    if h.items.len() != c.n_items {
        return Err(corrupt(format!(
            "config says {} items, vocabulary has {}",
            c.n_items,
            h.items.len()
        )));
    }
    if h.popularity.len() != c.n_items {
        return Err(corrupt(format!(
            "popularity has {} entries for {} items",
            h.popularity.len(),
            c.n_items
        )));
    }
    if c.n_attributes > 0 && h.attributes.len() != c.n_items {
        return Err(corrupt(format!(
            "attributes cover {} of {} items",
            h.attributes.len(),
            c.n_items
        )));
    }
    if h.attributes
        .iter()
        .flatten()
        .any(|&a| a == 0 || a as usize > c.n_attributes)
    {
        return Err(corrupt("an attribute id is out of range"));
    }
    Ok(())
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;

    pub(super) fn tiny() -> (SeqRecConfig, Vec<String>, Weights) {
        // Positions from the newest event: a file of the oldest kind (version 1 with int8).
        let config = SeqRecConfig::new(3)
            .with_positions(crate::model::Positions::FromNewest)
            .with_d_model(4)
            .with_layers(1)
            .with_max_len(5);
        let items = vec!["a".to_string(), "b".into(), "c".into()];
        let weights = weights_for(&config);
        (config, items, weights)
    }

    /// Fixed weights in `config`'s shapes.
    fn weights_for(config: &SeqRecConfig) -> Weights {
        let mut weights = Weights::new();
        for (i, (name, shape)) in config.param_shapes().into_iter().enumerate() {
            let n: usize = shape.iter().product();
            let values = (0..n)
                .map(|j| ((i * 31 + j * 7) % 17) as f32 / 8.0 - 1.0)
                .collect();
            weights.insert(name, WeightTensor { shape, values });
        }
        weights
    }

    pub(super) fn bytes() -> Vec<u8> {
        bytes_with(Encoding::Int8)
    }

    pub(super) fn bytes_with(item_table: Encoding) -> Vec<u8> {
        stored(Storage::Quantized { item_table })
    }

    /// [`tiny`]'s model written with `storage`.
    pub(super) fn stored(storage: Storage) -> Vec<u8> {
        stored_with(&tiny().0, storage)
    }

    /// [`tiny`]'s items with `config` and weights in its shapes, written with `storage`.
    fn stored_with(config: &SeqRecConfig, storage: Storage) -> Vec<u8> {
        let (_, items, _) = tiny();
        let weights = weights_for(config);
        write(&tiny_parts(config, &items, &weights, storage)).unwrap()
    }

    /// What [`stored_with`] writes.
    fn tiny_parts<'a>(
        config: &'a SeqRecConfig,
        items: &'a [String],
        weights: &'a Weights,
        storage: Storage,
    ) -> ArtefactParts<'a> {
        ArtefactParts {
            config,
            items,
            popularity: &[5, 3, 1],
            attributes: &[],
            catalog: None,
            weights,
            provenance: serde_json::json!({"seed": 1}),
            storage,
        }
    }

    fn version_of(file: &[u8]) -> u32 {
        u32::from_le_bytes(file[8..12].try_into().unwrap())
    }

    /// `file` with its version field set to `version` and its checksum made good again.
    fn as_version(mut file: Vec<u8>, version: u32) -> Vec<u8> {
        file[8..12].copy_from_slice(&version.to_le_bytes());
        let body = file.len() - DIGEST_LEN;
        let digest = Sha256::digest(&file[..body]);
        file[body..].copy_from_slice(&digest);
        file
    }

    /// `file` (written as version 7) with its per-item lists as JSON arrays in the header, as
    /// every file before version 7 held them, and its payload without their section (the last).
    pub(super) fn json_lists(file: &[u8]) -> Vec<u8> {
        let (mut header, payload, _, _) = read_header(file).unwrap();
        let entry = header.lists.take().unwrap();
        envelope(
            &serde_json::to_vec(&header).unwrap(),
            &payload[..entry.offset],
        )
    }

    /// [`tiny`]'s model reading attributes, with ids that are not ASCII.
    fn attributed() -> (Vec<u8>, Vec<String>, Vec<Vec<u32>>) {
        let config = tiny().0.with_n_attributes(4).with_max_attributes(2);
        let items = vec!["crème".to_string(), "b".into(), "日本-7".into()];
        let attributes = vec![vec![1, 4], vec![], vec![2]];
        let weights = weights_for(&config);
        let int8 = Storage::Quantized {
            item_table: Encoding::Int8,
        };
        let parts = ArtefactParts {
            attributes: &attributes,
            ..tiny_parts(&config, &items, &weights, int8)
        };
        (write(&parts).unwrap(), items, attributes)
    }

    /// A file's header JSON and payload.
    fn parts_of(file: &[u8]) -> (serde_json::Value, Vec<u8>) {
        let header_len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
        let header = serde_json::from_slice(&file[20..20 + header_len]).unwrap();
        (
            header,
            file[20 + header_len + 8..file.len() - DIGEST_LEN].to_vec(),
        )
    }

    /// Since version 7 the ids, popularity and attribute lists are a binary section after the
    /// tensors, not JSON arrays: they read back as written; a file of an earlier version (lists
    /// in its JSON) reads as the same model, and `upgrade` turns it back into the version-7
    /// file byte for byte; a file claiming version 6 with lists in its payload is refused.
    #[test]
    fn per_item_lists_are_a_payload_section_since_version_7() {
        let (file, items, attributes) = attributed();
        assert_eq!(version_of(&file), 7);
        let (header, payload) = parts_of(&file);
        for field in ["items", "popularity", "attributes"] {
            assert!(header.get(field).is_none(), "{field} in the JSON");
        }
        let entry: lists::ListsEntry = serde_json::from_value(header["lists"].clone()).unwrap();
        assert_eq!(
            entry.offset + entry.bytes,
            payload.len(),
            "the section comes last"
        );
        assert_eq!(entry.attribute_ids, Some(3));
        // 3 popularity counts, 3 id lengths, 3 attribute counts and 3 attribute ids (one byte
        // each), then the ids' text.
        let section = &payload[entry.offset..];
        assert_eq!(section[..12], [5, 3, 1, 6, 1, 8, 2, 0, 1, 1, 4, 2]);
        assert_eq!(&section[12..], items.concat().as_bytes());
        let a = read(&file).unwrap();
        assert_eq!(
            (&a.header.items, &a.header.popularity, &a.header.attributes),
            (&items, &vec![5, 3, 1], &attributes)
        );
        assert_eq!(a.header.lists, Some(entry));
        let legacy = as_version(json_lists(&file), 1);
        let old = read(&legacy).unwrap();
        assert_eq!(old.version, 1);
        assert_eq!(
            (
                &old.header.items,
                &old.header.popularity,
                &old.header.attributes
            ),
            (&items, &vec![5, 3, 1], &attributes)
        );
        assert_eq!((&old.weights, &old.item_table), (&a.weights, &a.item_table));
        assert_eq!(upgrade(&legacy).unwrap(), (file.clone(), 1));
        assert_eq!(
            upgrade(&file).unwrap(),
            (file.clone(), 7),
            "a version-7 file is unchanged"
        );
        let err = read(&as_version(file, 6)).unwrap_err();
        assert!(
            err.to_string()
                .contains("per-item lists in the payload needs format version 7"),
            "{err}"
        );
    }

    /// A damaged header entry or section is refused by name, with its checksum made good (what a
    /// writer with a bug, or an attacker, would send).
    #[test]
    fn damaged_per_item_lists_are_refused_by_name() {
        let (file, _, _) = attributed();
        let (header, payload) = parts_of(&file);
        let refused = |header: &serde_json::Value, payload: &[u8], why: &str| {
            let err = read(&envelope(&serde_json::to_vec(header).unwrap(), payload)).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "{why}: {err}");
            assert!(err.to_string().contains(why), "{why}: {err}");
        };
        let entry = header["lists"].clone();
        let at = entry["offset"].as_u64().unwrap() as usize;
        let bytes = entry["bytes"].as_u64().unwrap();
        let edits: [(&str, serde_json::Value, &str); 9] = [
            ("bytes", serde_json::json!(bytes + 1), "outside the payload"),
            (
                "bytes",
                serde_json::json!(bytes - 1),
                "more than their text",
            ),
            ("bytes", serde_json::json!(11), "too short for their counts"),
            ("offset", serde_json::json!(at + 4), "outside the payload"),
            (
                "offset",
                serde_json::json!(usize::MAX),
                "outside the payload",
            ),
            ("attribute_ids", serde_json::json!(usize::MAX), "too short"),
            ("attribute_ids", serde_json::json!(4), "less than the ids"),
            ("attribute_ids", serde_json::json!(2), "more than the ids"),
            (
                "attribute_ids",
                serde_json::Value::Null,
                "stores no attribute lists",
            ),
        ];
        for (field, value, why) in edits {
            let mut h = header.clone();
            if value.is_null() {
                h["lists"].as_object_mut().unwrap().remove(field);
            } else {
                h["lists"][field] = value;
            }
            refused(&h, &payload, why);
        }
        let mut h = header.clone();
        h["items"] = serde_json::json!(["a", "b", "c"]);
        refused(&h, &payload, "one or the other");
        // The section (one byte a number here): popularity [5, 3, 1], id lengths [6, 1, 8],
        // attribute counts [2, 0, 1], attribute ids [1, 4, 2], then the text.
        let damaged: [(usize, &[u8], &str); 7] = [
            (5, &[9], "more than their text"),
            (5, &[7], "less than their text"),
            (12, &[0xff], "not UTF-8"),
            (9, &[9], "attribute id is out of range"),
            (6, &[3], "more than the ids"),
            (8, &[0], "less than the ids"),
            (0, &[0xff; 5], "exceeds 32 bits"),
        ];
        for (offset, bytes, why) in damaged {
            let mut p = payload.clone();
            p[at + offset..at + offset + bytes.len()].copy_from_slice(bytes);
            refused(&header, &p, why);
        }
    }

    #[test]
    fn int4_item_tables_read_with_or_without_their_f32_copy() {
        let (config, _, weights) = tiny();
        let file = bytes_with(Encoding::Int4);
        assert_eq!(version_of(&file), 7, "every file is written as version 7");
        let full = read(&file).unwrap();
        assert_eq!(full.version, 7);
        for t in &full.header.tensors {
            let want = match (t.name.as_str(), t.shape.len()) {
                ("item_emb", _) => "i4",
                (_, 2) => "i8",
                _ => "f32",
            };
            assert_eq!(t.dtype, want, "{}", t.name);
        }
        let rows = config.n_items + 1;
        let int4 = quant::Int4Matrix::quantize(&weights["item_emb"].values, rows, config.d_model);
        assert_eq!(full.weights["item_emb"].values, int4.dequantize());
        assert_eq!(full.item_table, Some(Quantized::Int4(int4.clone())));
        let lean = read_for_inference(&file, None).unwrap();
        assert!(!lean.weights.contains_key("item_emb"));
        assert_eq!(lean.weights.len() + 1, full.weights.len());
        assert_eq!(lean.item_table, Some(Quantized::Int4(int4)));
        for (name, w) in &lean.weights {
            assert_eq!(w, &full.weights[name], "{name}");
        }
        lean.model(&crate::cpu_device()).unwrap();
        full.model(&crate::cpu_device()).unwrap();
        for cut in [0, 30, file.len() / 2, file.len() - 1] {
            assert_eq!(read(&file[..cut]).unwrap_err().code(), "MODEL_CORRUPT");
        }
    }

    /// [`tiny`]'s model with its item table as residual codes: rows 0 and 1 whole, rows 2 and
    /// 3 coded in 2 codebooks.
    pub(super) fn coded_tiny() -> (Vec<u8>, coded::CodedTable) {
        let (config, items, weights) = tiny();
        let d = config.d_model;
        let centroids: Vec<f32> = (0..2 * coded::CENTROIDS * d)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0)
            .collect();
        let table = coded::CodedTable::new(
            quant::QuantizedMatrix::quantize(&weights["item_emb"].values[..2 * d], 2, d),
            std::sync::Arc::new(coded::Codebooks::quantize(2, d, &centroids).unwrap()),
            vec![3, 200, 17, 255],
        )
        .unwrap();
        let storage = Storage::Quantized {
            item_table: Encoding::Int8,
        };
        let file = write_coded(&tiny_parts(&config, &items, &weights, storage), &table).unwrap();
        (file, table)
    }

    /// Residual codes need version 4; they read back as written, with or without the f32 copy,
    /// and a file that puts them elsewhere, leaves out or misstates the exact rows, or claims
    /// an older version is refused.
    #[test]
    fn coded_item_tables_need_version_4_and_read_back_as_written() {
        let (file, table) = coded_tiny();
        let full = read(&file).unwrap();
        let t = full
            .header
            .tensors
            .iter()
            .find(|t| t.name == "item_emb")
            .unwrap();
        assert_eq!((t.dtype.as_str(), t.exact), ("rq2", Some(2)));
        assert_eq!(full.item_table, Some(Quantized::Coded(table.clone())));
        assert_eq!(full.weights["item_emb"].values, table.dequantize());
        let lean = read_for_inference(&file, None).unwrap();
        assert!(!lean.weights.contains_key("item_emb"));
        assert_eq!(lean.item_table.as_ref().unwrap().describe(), "rq2");
        lean.model(&crate::cpu_device()).unwrap();
        let err = read(&as_version(file.clone(), 3)).unwrap_err();
        assert!(err.to_string().contains("residual-quantisation"), "{err}");
        let header_len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
        let payload = &file[20 + header_len + 8..file.len() - DIGEST_LEN];
        let header: serde_json::Value = serde_json::from_slice(&file[20..20 + header_len]).unwrap();
        let edited = |name: &str, field: &str, value: serde_json::Value| {
            let mut h = header.clone();
            let t = h["tensors"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|t| t["name"] == name)
                .unwrap();
            if value.is_null() {
                t.as_object_mut().unwrap().remove(field);
            } else {
                t[field] = value;
            }
            read(&envelope(&serde_json::to_vec(&h).unwrap(), payload)).unwrap_err()
        };
        for (name, field, value) in [
            ("item_emb", "exact", serde_json::Value::Null),
            ("item_emb", "exact", serde_json::json!(3)),
            ("item_emb", "exact", serde_json::json!(usize::MAX)),
            ("item_emb", "dtype", serde_json::json!("rq3")),
            ("item_emb", "dtype", serde_json::json!("rq0")),
            ("blocks.0.wo", "dtype", serde_json::json!("rq2")),
            ("blocks.0.wo", "exact", serde_json::json!(1)),
        ] {
            let err = edited(name, field, value.clone());
            assert_eq!(
                err.code(),
                "MODEL_CORRUPT",
                "{name}.{field} = {value}: {err}"
            );
        }
        for cut in [0, 30, file.len() / 2, file.len() - 1] {
            assert_eq!(read(&file[..cut]).unwrap_err().code(), "MODEL_CORRUPT");
        }
    }

    /// A training checkpoint (every tensor f32) still loads for inference: its item table is
    /// quantised to int8 on the way in, as the shipped file's would be.
    #[test]
    fn f32_checkpoints_read_for_inference_get_an_int8_table() {
        let (config, _, weights) = tiny();
        let file = stored(Storage::F32);
        assert_eq!(read(&file).unwrap().item_table, None);
        let lean = read_for_inference(&file, None).unwrap();
        assert!(!lean.weights.contains_key("item_emb"));
        let rows = config.n_items + 1;
        let int8 = Quantized::quantize(
            &weights["item_emb"].values,
            rows,
            config.d_model,
            Encoding::Int8,
        );
        assert_eq!(lean.item_table, Some(int8));
    }

    /// Positions counted from the oldest event need version 3, a relative attention bias (its
    /// table `pos_bias`) version 6: the same file claiming the version before is refused, by
    /// name (before its lists in the payload, which need version 7, are named).
    #[test]
    fn positions_need_the_version_that_introduced_them() {
        use crate::model::Positions;
        for (positions, version, table, name) in [
            (Positions::FromOldest, 3, "pos_emb", "oldest event"),
            (
                Positions::Relative,
                6,
                "pos_bias",
                "relative attention bias",
            ),
        ] {
            let config = tiny().0.with_positions(positions);
            let file = stored_with(
                &config,
                Storage::Quantized {
                    item_table: Encoding::Int8,
                },
            );
            assert_eq!(version_of(&file), LISTS_VERSION, "{positions:?}");
            let back = read(&file).unwrap();
            assert_eq!(back.header.config.positions, positions);
            assert!(back.header.tensors.iter().any(|t| t.name == table));
            let err = read(&as_version(file, version - 1)).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn int4_is_refused_in_version_1_files_and_outside_the_item_table() {
        let err = read(&as_version(bytes_with(Encoding::Int4), 1)).unwrap_err();
        assert_eq!(err.code(), "MODEL_CORRUPT");
        assert!(err.to_string().contains("version 1"), "{err}");
        // A file claiming a linear layer is int4 (same byte count as its int8 would not be,
        // but the dtype is refused before sizes are compared).
        let file = bytes();
        let header_len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
        let payload = &file[20 + header_len + 8..file.len() - DIGEST_LEN];
        let mut header: serde_json::Value =
            serde_json::from_slice(&file[20..20 + header_len]).unwrap();
        let wo = header["tensors"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|t| t["name"] == "blocks.0.wo")
            .unwrap();
        wo["dtype"] = serde_json::json!("i4");
        let err = read(&envelope(&serde_json::to_vec(&header).unwrap(), payload)).unwrap_err();
        assert_eq!(err.code(), "MODEL_CORRUPT");
        assert!(err.to_string().contains("only the item table"), "{err}");
        // Int8 files read as version 2 too (a version 2 file may hold no int4 tensor).
        assert_eq!(
            read(&as_version(json_lists(&bytes()), 2)).unwrap().version,
            2
        );
    }

    #[test]
    fn round_trip_within_int8_error() {
        let (_, items, weights) = tiny();
        let a = read(&bytes()).unwrap();
        assert_eq!(a.header.items, items);
        assert_eq!(a.header.popularity, vec![5, 3, 1]);
        assert_eq!(
            a.sha256,
            hex(Sha256::digest(bytes()).as_slice()),
            "sha256sum's"
        );
        for (name, w) in &weights {
            let got = &a.weights[name];
            assert_eq!(got.shape, w.shape);
            let max = w.values.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (x, y) in w.values.iter().zip(&got.values) {
                if w.shape.len() == 1 {
                    assert_eq!(x, y, "{name}: vectors are stored exactly");
                } else {
                    assert!((x - y).abs() <= max / 254.0 + 1e-6, "{name}: {x} vs {y}");
                }
            }
        }
    }

    /// Digests computed elsewhere (the browser's crypto.subtle) stand in for hashing here: the
    /// right ones give the same artefact, a wrong body digest is a checksum mismatch.
    #[test]
    fn given_digests_are_checked_like_computed_ones() {
        let file = bytes();
        let body = file.len() - DIGEST_LEN;
        let good = Digests {
            body: Sha256::digest(&file[..body]).into(),
            file: Sha256::digest(&file).into(),
        };
        let a = read_for_inference(&file, Some(&good)).unwrap();
        assert_eq!(a.sha256, read(&file).unwrap().sha256);
        let mut bad = good.clone();
        bad.body[0] ^= 1;
        let err = read_for_inference(&file, Some(&bad)).unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }

    #[test]
    fn rejects_every_truncation() {
        let b = bytes();
        for cut in [0, 4, 11, 12, 30, b.len() / 2, b.len() - 33, b.len() - 1] {
            let err = read(&b[..cut]).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "cut at {cut}: {err}");
        }
    }

    #[test]
    fn rejects_tampering_anywhere() {
        let b = bytes();
        for at in [25, b.len() / 2, b.len() - 40, b.len() - 1] {
            let mut t = b.clone();
            t[at] ^= 0x40;
            let err = read(&t).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "flip at {at}: {err}");
        }
        let mut t = b.clone();
        t[0] = b'X';
        assert!(read(&t).unwrap_err().to_string().contains("magic"));
    }

    #[test]
    fn rejects_length_fields_near_the_end_of_the_address_space() {
        // Found by the `artefact` fuzz target: a header length that puts the payload-length field
        // within 8 bytes of usize::MAX overflowed the bounds arithmetic (a panic with overflow
        // checks, a wrapped bound without). It is now rejected by name, before any arithmetic.
        let len = bytes().len() as u64;
        for header_len in [u64::MAX, u64::MAX - 20, u64::MAX - 25, 1 << 62, len - 27] {
            let mut b = bytes();
            b[12..20].copy_from_slice(&header_len.to_le_bytes());
            let err = read(&b).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "{header_len}: {err}");
            assert!(
                err.to_string().contains("header length field says"),
                "{err}"
            );
        }
    }

    /// A header's config is read field by field (`StoredConfig`): every field a config writes,
    /// each with its value. A field added to `SeqRecConfig` fails here until it is read there.
    #[test]
    fn stored_configs_read_every_field_a_config_writes() {
        use crate::model::{BlockLayout, Positions};
        let config = SeqRecConfig::new(7)
            .with_d_model(8)
            .with_layers(3)
            .with_heads(2)
            .with_max_len(9)
            .with_dropout(0.25)
            .with_query_buckets(5)
            .with_max_query_tokens(4)
            .with_n_attributes(6)
            .with_max_attributes(3)
            .with_event_types(false)
            .with_layout(BlockLayout::PreNorm)
            .with_positions(Positions::FromOldest);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(
            json.as_object().unwrap().len(),
            13,
            "SeqRecConfig has a field StoredConfig does not read: {json}"
        );
        let text = json.to_string();
        let mut d = serde_json::Deserializer::from_str(&text);
        let read = config_of_any_version(&mut d).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), json);
    }

    /// Files written before `layout` existed read as pre-norm; an unknown layout is refused.
    #[test]
    fn headers_without_a_layout_are_pre_norm() {
        let file = bytes();
        let header_len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
        let payload = &file[20 + header_len + 8..file.len() - 32];
        let mut header: serde_json::Value =
            serde_json::from_slice(&file[20..20 + header_len]).unwrap();
        assert_eq!(header["config"]["layout"], "sasrec");
        header["config"].as_object_mut().unwrap().remove("layout");
        let old = envelope(&serde_json::to_vec(&header).unwrap(), payload);
        let art = read(&old).unwrap();
        assert_eq!(art.header.config.layout, crate::model::BlockLayout::PreNorm);
        header["config"]["layout"] = serde_json::json!("post_norm");
        let err = read(&envelope(&serde_json::to_vec(&header).unwrap(), payload)).unwrap_err();
        assert_eq!(err.code(), "MODEL_CORRUPT");
        assert!(err.to_string().contains("post_norm"), "{err}");
    }

    #[test]
    fn rejects_headers_whose_sizes_would_overflow() {
        // A header is untrusted: a huge `d_model` once overflowed `3 * d` and the shape
        // products (a panic with overflow checks, a wrapped size in release wasm). The same
        // header is a fuzz seed (fuzz/seeds/artefact_sealed/huge-d-model).
        let seed = include_bytes!("../../fuzz/seeds/artefact_sealed/huge-d-model");
        let header = &seed[..seed.len() - 1];
        for d_model in ["4611686018427387904", "18446744073709551615", "1048576"] {
            let text = std::str::from_utf8(header)
                .unwrap()
                .replace("4611686018427387904", d_model);
            let err = read(&envelope(text.as_bytes(), &[0; 16])).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "{d_model}: {err}");
            assert!(err.to_string().contains("d_model"), "{err}");
        }
    }

    #[test]
    fn rejects_other_versions() {
        let mut b = bytes();
        b[8..12].copy_from_slice(&8u32.to_le_bytes());
        match read(&b).unwrap_err() {
            Error::ModelVersion {
                found: 8,
                expected: 7,
            } => {}
            e => panic!("wrong error {e}"),
        }
    }

    #[test]
    fn rejects_shape_mismatch_even_with_valid_checksum() {
        let (config, items, mut weights) = tiny();
        weights.get_mut("item_emb").unwrap().shape = vec![3, 4];
        let parts = ArtefactParts {
            config: &config,
            items: &items,
            popularity: &[1, 1, 1],
            attributes: &[],
            catalog: None,
            weights: &weights,
            provenance: serde_json::Value::Null,
            storage: Storage::Quantized {
                item_table: Encoding::Int8,
            },
        };
        assert!(write(&parts).is_err());
    }
}
