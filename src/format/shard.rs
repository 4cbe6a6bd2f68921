//! A large catalogue in pieces: a core file that answers at once and per-category shards fetched
//! when the shopper opens that category.
//!
//! The core is an ordinary weights file (format version 3 or newer) whose vocabulary and item table hold
//! only the most popular items; its header's [`ShardIndex`] lists the rest as shards, each with
//! its category, item count, size and SHA-256. A shard is a file with the same framing (magic,
//! version, JSON header, payload, SHA-256 trailer) holding one category's items: ids, popularity,
//! attributes, catalogue metadata and their rows of the item table, stored exactly as the full
//! model stored them, so the core with every shard ranks as the full model does. Shards are
//! content-addressed: one is served as `shards/<sha256>.lrec` beside the core and is accepted
//! only if its digest is in the core's manifest.
//!
//! Version 5 stores a shard's ids compactly when each is one prefix followed by a number
//! ([`NumberedIds`]: `item-17`, or Shopify's numeric product ids): the prefix, the first number
//! and the gaps. Ids were most of a shard's bytes after the item codes: at a million items
//! split into 500 categories they gzipped to 3.4 MB as a list, 1.8 MB as gaps.

use serde::{Deserialize, Serialize};

use crate::catalog::ItemMeta;
use crate::error::Result;
use crate::model::SeqRecConfig;
use crate::model::config::MAX_ITEMS;

use super::quant::Quantized;
use super::{Digests, TensorEntry, corrupt, unframe};

/// The format version that introduced cores and shards.
pub const SHARDS_VERSION: u32 = 3;
/// The format version that introduced shard ids stored as numbered runs ([`NumberedIds`]).
pub const NUMBERED_VERSION: u32 = 5;
/// The longest category name a manifest may hold (the runtime's limit for a category event).
const MAX_CATEGORY_CHARS: usize = 200;
/// The longest prefix of numbered ids, in bytes (`gid://shopify/ProductVariant/` is 29). With a
/// gap taking at least two bytes of the header, a shard's ids then take at most ~45 times its
/// header's bytes.
const MAX_PREFIX_BYTES: usize = 64;
/// The largest number of a numbered id: JavaScript's largest safe integer, so that a shop's
/// numeric ids round-trip through JS as numbers too.
const MAX_NUMBER: u64 = (1 << 53) - 1;

/// The core's manifest of the catalogue's other items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardIndex {
    /// Items of the whole catalogue: the core's and every shard's.
    pub total_items: usize,
    pub shards: Vec<ShardEntry>,
}

/// One shard as the core lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// The category every item of the shard is in (`""`: items without one). A large category
    /// is split over several shards.
    pub category: String,
    /// Hex SHA-256 of the shard file (what `sha256sum` prints): its name and its check.
    pub sha256: String,
    /// Items it holds.
    pub items: usize,
    /// File size in bytes.
    pub bytes: usize,
}

impl ShardEntry {
    /// Where the shard is served, relative to the core's URL.
    pub fn path(&self) -> String {
        format!("shards/{}.lrec", self.sha256)
    }
}

impl ShardIndex {
    /// Checks the manifest against the core it is in (`core_items` items): counts add up (to at
    /// most [`MAX_ITEMS`]), digests are 64 lowercase hex digits and distinct, categories are
    /// bounded.
    pub(super) fn validate(&self, core_items: usize) -> Result<()> {
        let mut total = core_items;
        let mut seen = std::collections::HashSet::new();
        for s in &self.shards {
            if s.sha256.len() != 64
                || !s
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(corrupt(format!(
                    "shard digest {:?} is not 64 lowercase hex digits",
                    s.sha256
                )));
            }
            if !seen.insert(s.sha256.as_str()) {
                return Err(corrupt(format!("shard {} is listed twice", s.sha256)));
            }
            if s.category.chars().count() > MAX_CATEGORY_CHARS {
                return Err(corrupt("a shard's category is longer than 200 characters"));
            }
            if s.items == 0 {
                return Err(corrupt(format!("shard {} holds no items", s.sha256)));
            }
            total = total
                .checked_add(s.items)
                .ok_or_else(|| corrupt("shard item counts overflow"))?;
        }
        if total != self.total_items {
            return Err(corrupt(format!(
                "the core and its shards hold {total} items, the manifest says {}",
                self.total_items
            )));
        }
        if total > MAX_ITEMS {
            return Err(corrupt(format!(
                "the catalogue has {total} items, more than this build reads ({MAX_ITEMS})"
            )));
        }
        Ok(())
    }

    /// The manifest entry of the shard whose file has digest `sha256` (hex).
    pub fn position(&self, sha256: &str) -> Option<usize> {
        self.shards.iter().position(|s| s.sha256 == sha256)
    }
}

/// A shard's item ids when each is one prefix followed by a number (`item-17`; `8001234567`
/// with an empty prefix; `sku-0042`, zero-padded to `width` digits), in ascending order: the
/// prefix, the first number and the gap to each next one. A category's items are scattered over
/// the catalogue's numbering, so gaps are a few digits where the numbers are many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberedIds {
    pub prefix: String,
    /// Numbers are written with at least this many digits, zero-padded (0: as they are).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub width: usize,
    pub first: u64,
    pub gaps: Vec<u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The most digits a numbered id's number may be written with (padding included).
const MAX_DIGITS: usize = 20;

impl NumberedIds {
    /// The prefix, the digits and the number of `id` when it ends in at most [`MAX_DIGITS`]
    /// digits that make a number up to [`MAX_NUMBER`] after a prefix of at most
    /// [`MAX_PREFIX_BYTES`].
    fn split(id: &str) -> Option<(&str, &str, u64)> {
        let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (prefix, number) = id.split_at(id.len() - digits);
        if number.is_empty() || number.len() > MAX_DIGITS || prefix.len() > MAX_PREFIX_BYTES {
            return None;
        }
        number
            .parse::<u64>()
            .ok()
            .filter(|&n| n <= MAX_NUMBER)
            .map(|n| (prefix, number, n))
    }

    /// `ids` as numbered runs when every one is the same prefix followed by a number, all
    /// written the same way (zero-padded to one width, or without leading zeros), with the
    /// order that sorts them (positions into `ids`); None otherwise.
    pub fn of(ids: &[String]) -> Option<(NumberedIds, Vec<usize>)> {
        let parts: Vec<(&str, &str, u64)> = ids
            .iter()
            .map(|id| Self::split(id))
            .collect::<Option<_>>()?;
        let prefix = parts.first()?.0;
        let width = parts.iter().map(|p| p.1.len()).min()?;
        let width = if width == 1 { 0 } else { width };
        if parts
            .iter()
            .any(|&(p, digits, n)| p != prefix || format!("{n:0width$}") != digits)
        {
            return None;
        }
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_unstable_by_key(|&i| parts[i].2);
        let numbers: Vec<u64> = order.iter().map(|&i| parts[i].2).collect();
        // Distinct ids written one way have distinct numbers: every gap is at least 1.
        let gaps = numbers.windows(2).map(|w| w[1] - w[0]).collect();
        Some((
            NumberedIds {
                prefix: prefix.to_string(),
                width,
                first: numbers[0],
                gaps,
            },
            order,
        ))
    }

    /// The ids, checked: the prefix at most [`MAX_PREFIX_BYTES`], the width at most
    /// [`MAX_DIGITS`], `items` of them, every gap at least 1 and the last number at most
    /// [`MAX_NUMBER`].
    pub fn ids(&self, items: usize) -> Result<Vec<String>> {
        if self.prefix.len() > MAX_PREFIX_BYTES || self.width > MAX_DIGITS {
            return Err(corrupt(format!(
                "a shard's id prefix is longer than {MAX_PREFIX_BYTES} bytes or its numbers \
                 wider than {MAX_DIGITS} digits"
            )));
        }
        if self.gaps.len().checked_add(1) != Some(items) {
            return Err(corrupt(format!(
                "a shard's numbered ids are {} for {items} items",
                self.gaps.len() + 1
            )));
        }
        let (mut n, width) = (self.first, self.width);
        let mut ids = Vec::with_capacity(items);
        for gap in std::iter::once(0).chain(self.gaps.iter().copied()) {
            n = match n.checked_add(gap) {
                Some(next) if next <= MAX_NUMBER && (gap > 0 || ids.is_empty()) => next,
                _ => return Err(corrupt("a shard's numbered ids repeat or pass 2^53 - 1")),
            };
            ids.push(format!("{}{n:0width$}", self.prefix));
        }
        Ok(ids)
    }
}

/// A shard file's JSON header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardHeader {
    pub category: String,
    /// The ids, unless they are `numbered`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// The ids as numbered runs (version 5), in place of `items`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbered: Option<NumberedIds>,
    pub popularity: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Vec<ItemMeta>>,
    /// The shard's rows of the item table (`item_emb`): the whole payload. Left out from
    /// version 5 (numbered ids), where the core's table and the manifest's count determine it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TensorEntry>,
}

/// A verified shard, ready to append to the engine's catalogue.
#[derive(Debug, Clone)]
pub struct Shard {
    /// Its position in the core's manifest.
    pub index: usize,
    pub items: Vec<String>,
    pub popularity: Vec<u32>,
    pub attributes: Vec<Vec<u32>>,
    /// Each item's metadata (a core always has a catalogue).
    pub catalog: Vec<ItemMeta>,
    pub table: Quantized,
}

/// What a shard must agree with: the core's manifest, model and item table (whose encoding,
/// width and codebooks the shard's rows share).
pub struct Core<'a> {
    pub index: &'a ShardIndex,
    pub config: &'a SeqRecConfig,
    pub table: &'a Quantized,
}

/// Reads a shard file: framing and checksum, then its digest must be one the core lists, and its
/// items, table width and encoding, attributes and metadata must fit the core.
pub fn read_shard(bytes: &[u8], digests: Option<&Digests>, core: &Core<'_>) -> Result<Shard> {
    let frame = unframe(bytes, digests)?;
    let index = core.index.position(&frame.sha256).ok_or_else(|| {
        corrupt(format!(
            "shard {} is not in this model's manifest (a shard of another model, or damaged)",
            frame.sha256
        ))
    })?;
    if frame.version < SHARDS_VERSION {
        return Err(corrupt(format!(
            "a shard file must be format version {SHARDS_VERSION} or newer, this is {}",
            frame.version
        )));
    }
    let h: ShardHeader = serde_json::from_slice(frame.header).map_err(|e| {
        corrupt(format!(
            "shard header is not valid JSON for this version: {e}"
        ))
    })?;
    let entry = &core.index.shards[index];
    let n = entry.items;
    let items = match &h.numbered {
        None => h.items,
        Some(_) if !h.items.is_empty() => {
            return Err(corrupt("a shard lists its ids and numbers them too"));
        }
        Some(_) if frame.version < NUMBERED_VERSION => {
            return Err(corrupt(format!(
                "numbered ids need format version {NUMBERED_VERSION}; this shard is version {}",
                frame.version
            )));
        }
        Some(numbered) => numbered.ids(n)?,
    };
    if items.len() != n || h.popularity.len() != n || h.category != entry.category {
        return Err(corrupt(format!(
            "shard {} does not hold what the manifest says ({} items of {:?})",
            entry.sha256, entry.items, entry.category
        )));
    }
    let c = core.config;
    let attributes_ok = if c.n_attributes > 0 {
        h.attributes.len() == n
            && h.attributes
                .iter()
                .flatten()
                .all(|&a| a != 0 && a as usize <= c.n_attributes)
    } else {
        h.attributes.is_empty()
    };
    if !attributes_ok {
        return Err(corrupt("a shard's item attributes do not fit the model"));
    }
    // Left out when it says nothing but the shard's category (`split`).
    let catalog = match h.catalog {
        Some(metas) if metas.len() == n => metas,
        Some(_) => return Err(corrupt("a shard's catalogue does not cover its items")),
        None => vec![
            ItemMeta {
                category: h.category.clone(),
                ..ItemMeta::default()
            };
            n
        ],
    };
    // What the shard's table must be: `n` rows of the core's encoding, the whole payload.
    let want = TensorEntry {
        name: "item_emb".into(),
        shape: vec![n, c.d_model],
        dtype: core.table.dtype(),
        offset: 0,
        bytes: frame.payload.len(),
        exact: None,
    };
    let described = match &h.table {
        None if frame.version < NUMBERED_VERSION => {
            return Err(corrupt("a shard before version 5 must describe its table"));
        }
        // From version 5 the entry is left out: the core and the manifest determine it.
        None => &want,
        Some(t) => t,
    };
    if *described != want || core.table.shard_bytes(n) != Some(want.bytes) {
        let t = described;
        return Err(corrupt(format!(
            "shard table {} {:?} ({}, {} bytes) does not fit a {} x {} {} table",
            t.name,
            t.shape,
            t.dtype,
            t.bytes,
            n,
            c.d_model,
            core.table.describe()
        )));
    }
    let table = core.table.shard_from_stored(n, frame.payload)?;
    Ok(Shard {
        index,
        items,
        popularity: h.popularity,
        attributes: h.attributes,
        catalog,
        table,
    })
}

#[cfg(feature = "train")]
pub use split::{DEFAULT_CORE_ITEMS, Split, split};

#[cfg(feature = "train")]
mod split {
    use std::collections::{BTreeMap, HashMap};

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::error::Error;
    use crate::format::write::{frame_model, framed};
    use crate::format::{Header, hex, read_header};

    /// The items a core holds by default: the first answer ranks these (at a million items, a
    /// 1.67 MB core with residual codes; README, "Compact item tables").
    pub const DEFAULT_CORE_ITEMS: usize = 20_000;

    /// A model split into a core and shards ([`split`]).
    pub struct Split {
        /// The core file (served where the model was).
        pub core: Vec<u8>,
        /// Each shard's manifest entry and file (served at [`ShardEntry::path`]).
        pub shards: Vec<(ShardEntry, Vec<u8>)>,
    }

    /// Splits a shipped weights file: the `core_items` most popular items stay in the core (None:
    /// [`DEFAULT_CORE_ITEMS`], or every item the file stores whole if that is more), the
    /// others go to shards by category, at most `shard_items` items each. Categories come from
    /// `catalog` (item id -> metadata, which then also becomes the files' catalogue; read with
    /// [`ItemMeta::of`], as `load({catalog})` does) or else from the
    /// model's own catalogue. Item rows are copied as stored: nothing is quantised again.
    pub fn split(
        model: &[u8],
        catalog: Option<&HashMap<String, ItemMeta>>,
        core_items: Option<usize>,
        shard_items: usize,
    ) -> Result<Split> {
        if shard_items == 0 || core_items == Some(0) {
            return Err(Error::InvalidArgument(
                "the core and each shard hold at least one item".into(),
            ));
        }
        let (header, payload, sha256, _) = read_header(model)?;
        if header.shards.is_some() {
            return Err(Error::InvalidArgument(
                "this file is already a core with shards".into(),
            ));
        }
        let d = header.config.d_model;
        let n = header.items.len();
        let entry = header
            .tensors
            .iter()
            .find(|t| t.name == "item_emb")
            .ok_or_else(|| corrupt("no item table"))?;
        if entry.dtype == "f32" {
            return Err(Error::InvalidArgument(
                "the item table is f32 (a training checkpoint): split the shipped model.lrec"
                    .into(),
            ));
        }
        let table = crate::format::decode_tensor(
            entry,
            &payload[entry.offset..entry.offset + entry.bytes],
            false,
        )?
        .item_table
        .ok_or_else(|| corrupt("no item table"))?;
        // Residual codes keep their exact rows (row 0 and the most popular items) in the core.
        let exact = match &table {
            Quantized::Coded(t) => t.exact.rows - 1,
            _ => 0,
        };
        let core_items = core_items.unwrap_or(DEFAULT_CORE_ITEMS.max(exact));
        if let Quantized::Coded(t) = &table
            && core_items < exact
        {
            return Err(Error::InvalidArgument(format!(
                "the core must hold the {} items this model stores whole: --core-items {} or \
                 more",
                t.exact.rows - 1,
                t.exact.rows - 1
            )));
        }
        let metas: Vec<ItemMeta> = match (catalog, &header.catalog) {
            (Some(map), _) => header
                .items
                .iter()
                .map(|id| ItemMeta::of(map, id))
                .collect(),
            (None, Some(own)) => own.clone(),
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "shards are per category and this model has no catalogue: pass one \
                     (catalog.json, as for `localrec train --catalog`)"
                        .into(),
                ));
            }
        };
        // The core: the most popular items (ties: the earlier row), in their original order.
        let mut by_popularity: Vec<usize> = (0..n).collect();
        by_popularity.sort_by_key(|&i| (std::cmp::Reverse(header.popularity[i]), i));
        let mut core: Vec<usize> = by_popularity[..core_items.min(n)].to_vec();
        core.sort_unstable();
        let mut in_core = vec![false; n];
        core.iter().for_each(|&i| in_core[i] = true);
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in (0..n).filter(|&i| !in_core[i]) {
            groups
                .entry(metas[i].category.as_str())
                .or_default()
                .push(i);
        }
        let pick = |rows: &[usize]| Part {
            items: rows.iter().map(|&i| header.items[i].clone()).collect(),
            popularity: rows.iter().map(|&i| header.popularity[i]).collect(),
            attributes: if header.attributes.is_empty() {
                Vec::new()
            } else {
                rows.iter().map(|&i| header.attributes[i].clone()).collect()
            },
            catalog: rows.iter().map(|&i| metas[i].clone()).collect(),
        };
        let mut shards = Vec::new();
        let mut shard_version = SHARDS_VERSION;
        for (category, rows) in &groups {
            for chunk in rows.chunks(shard_items) {
                // Ids that are one prefix and a number go as gaps, the rows in their order.
                let ids: Vec<String> = chunk.iter().map(|&i| header.items[i].clone()).collect();
                let (numbered, chunk) = match NumberedIds::of(&ids) {
                    Some((numbered, order)) => {
                        (Some(numbered), order.iter().map(|&k| chunk[k]).collect())
                    }
                    None => (None, chunk.to_vec()),
                };
                let chunk = chunk.as_slice();
                let part = pick(chunk);
                let rows = table.select(chunk.iter().map(|&i| i + 1))?;
                let bytes = table
                    .shard_bytes(chunk.len())
                    .ok_or_else(|| corrupt("shard too large"))?;
                // From version 5 the core's table and the manifest's count say it all.
                let table_entry = numbered.is_none().then(|| TensorEntry {
                    name: "item_emb".into(),
                    shape: vec![chunk.len(), d],
                    dtype: table.dtype(),
                    offset: 0,
                    bytes,
                    exact: None,
                });
                // Metadata that says nothing but the category is left out (the reader fills it
                // in): at a million items it was most of the shards' bytes.
                let bare = ItemMeta {
                    category: category.to_string(),
                    ..ItemMeta::default()
                };
                let catalog = (!part.catalog.iter().all(|m| *m == bare)).then_some(part.catalog);
                let shard_header = ShardHeader {
                    category: category.to_string(),
                    items: if numbered.is_some() {
                        Vec::new()
                    } else {
                        part.items
                    },
                    numbered,
                    popularity: part.popularity,
                    attributes: part.attributes,
                    catalog,
                    table: table_entry,
                };
                let json = serde_json::to_vec(&shard_header)
                    .map_err(|e| Error::InvalidArgument(e.to_string()))?;
                let version = match table {
                    _ if shard_header.numbered.is_some() => NUMBERED_VERSION,
                    Quantized::Coded(_) => crate::format::CODED_VERSION,
                    _ => SHARDS_VERSION,
                };
                shard_version = shard_version.max(version);
                let file = framed(&json, version, bytes, |out| rows.write_shard_into(out));
                let entry = ShardEntry {
                    category: category.to_string(),
                    sha256: hex(&Sha256::digest(&file)),
                    items: chunk.len(),
                    bytes: file.len(),
                };
                shards.push((entry, file));
            }
        }
        // The core's header: its items, the item table cut to them (padding row 0 first), every
        // other tensor's bytes as they were.
        let part = pick(&core);
        let core_table = table.select(std::iter::once(0).chain(core.iter().map(|&i| i + 1)))?;
        let core_exact = match &core_table {
            Quantized::Coded(t) => Some(t.exact.rows),
            _ => None,
        };
        let mut config = header.config.clone();
        config.n_items = core.len();
        let mut tensors = Vec::new();
        let mut bodies: Vec<Body<'_>> = Vec::new();
        let mut at = 0usize;
        for t in &header.tensors {
            let (shape, bytes, body) = if t.name == "item_emb" {
                let shape = vec![core.len() + 1, d];
                let bytes = crate::format::stored_bytes(&TensorEntry {
                    shape: shape.clone(),
                    exact: core_exact,
                    ..t.clone()
                })
                .flatten()
                .ok_or_else(|| corrupt("core too large"))?;
                (shape, bytes, Body::Table)
            } else {
                let raw = &payload[t.offset..t.offset + t.bytes];
                (t.shape.clone(), t.bytes, Body::Raw(raw))
            };
            tensors.push(TensorEntry {
                name: t.name.clone(),
                shape,
                dtype: t.dtype.clone(),
                offset: at,
                bytes,
                exact: if t.name == "item_emb" {
                    core_exact
                } else {
                    t.exact
                },
            });
            bodies.push(body);
            at += bytes;
        }
        let mut provenance = header.provenance.clone();
        if let Some(fields) = provenance.as_object_mut() {
            fields.insert("split_from".into(), serde_json::json!(sha256));
        }
        let core_header = Header {
            config,
            items: part.items,
            popularity: part.popularity,
            attributes: part.attributes,
            catalog: Some(part.catalog),
            tensors,
            provenance,
            shards: Some(ShardIndex {
                total_items: n,
                shards: shards.iter().map(|(e, _)| e.clone()).collect(),
            }),
            lists: None,
        };
        // A build that cannot read the shards refuses the core too, before the shopper browses.
        let core = frame_model(core_header, at, shard_version, |out| {
            for body in &bodies {
                match body {
                    Body::Table => core_table.write_into(out),
                    Body::Raw(raw) => out.extend_from_slice(raw),
                }
            }
        })?;
        Ok(Split { core, shards })
    }

    /// Per-item fields of a set of rows.
    struct Part {
        items: Vec<String>,
        popularity: Vec<u32>,
        attributes: Vec<Vec<u32>>,
        catalog: Vec<ItemMeta>,
    }

    /// A core tensor's bytes: the cut item table, or another tensor as stored.
    enum Body<'a> {
        Table,
        Raw(&'a [u8]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ids_number_only_as_one_prefix_and_a_number_without_leading_zeros() {
        let (n, order) = NumberedIds::of(&ids(&["p-30", "p-4", "p-0", "p-1000"])).unwrap();
        assert_eq!((n.prefix.as_str(), n.width, n.first), ("p-", 0, 0));
        assert_eq!(
            (&n.gaps[..], &order[..]),
            (&[4, 26, 970][..], &[2, 1, 0, 3][..])
        );
        assert_eq!(n.ids(4).unwrap(), ids(&["p-0", "p-4", "p-30", "p-1000"]));
        let (n, _) = NumberedIds::of(&ids(&["9007199254740991", "12"])).unwrap();
        assert_eq!((n.prefix.as_str(), n.first), ("", 12));
        // Zero-padded to one width (a number too large for it is written whole).
        let padded = ids(&["sku-0042", "sku-0007", "sku-12345"]);
        let (n, _) = NumberedIds::of(&padded).unwrap();
        assert_eq!((n.width, n.first), (4, 7));
        assert_eq!(
            n.ids(3).unwrap(),
            ids(&["sku-0007", "sku-0042", "sku-12345"])
        );
        for refused in [
            &["p-1", "q-2"][..],
            &["p-1", "p-02"],
            &["p-001", "p-02"],
            &["p-1", "p-"],
            &["p-1", "p-9007199254740992"],
            &["p-1", "p-000000000000000000001"],
        ] {
            assert!(NumberedIds::of(&ids(refused)).is_none(), "{refused:?}");
        }
        assert!(NumberedIds::of(&[]).is_none());
    }
}
