//! The per-item lists of a model file as one binary section of its payload (format version 7).
//!
//! Up to version 6 a model's item ids, popularity counts and attribute lists were arrays in its
//! JSON header: for Beauty (12,101 items, 45,037 attribute ids) 277 kB of its 280 kB header, and
//! parsing them was the largest part of what `load()` computes in the browser (35-40 ms of a
//! sampling profile of first-run wasm on a cold start; the whole header takes 3 ms natively). Since version 7 the header gives only
//! where the section is ([`ListsEntry`]); the section holds, in columns, unsigned LEB128 numbers
//! (what protobuf and wasm write) and then text:
//!
//! | numbers               | content                                        |
//! |-----------------------|------------------------------------------------|
//! | `n`                   | popularity per item                            |
//! | `n`                   | each item's id length in bytes                 |
//! | `n` (with attributes) | each item's number of attribute ids            |
//! | `A` (with attributes) | the attribute ids, item after item             |
//! | the rest              | the ids' UTF-8 text, back to back              |
//!
//! `n` is the config's item count. Beauty's lists take 143 kB (64 kB gzipped) this way, against
//! 277 kB (70 kB) as JSON. The reader checks the section is large enough for its counts before
//! allocating, reads no number past the section or above 32 bits, and checks that the lengths
//! add up to the text, every id is UTF-8 and every attribute id is within the config's, so a
//! damaged section is refused by name.

use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::{Header, corrupt, validate_items};

/// Where a version-7 file's per-item lists are ([`self`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsEntry {
    /// Byte offset of the section in the payload.
    pub offset: usize,
    /// Bytes of the section.
    pub bytes: usize,
    /// How many attribute ids the section holds in all; None when it stores no attribute lists
    /// (a model that reads no attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_ids: Option<usize>,
}

impl ListsEntry {
    /// The fewest bytes a section of `items` items can take (a number takes at least one, the
    /// text may be empty): None where that overflows.
    pub(crate) fn min_bytes(&self, items: usize) -> Option<usize> {
        let columns = if self.attribute_ids.is_some() { 3 } else { 2 };
        items
            .checked_mul(columns)?
            .checked_add(self.attribute_ids.unwrap_or(0))
    }
}

/// Moves `header`'s per-item lists into a section that starts at `offset` in the payload:
/// checks them ([`validate_items`]), returns the section's bytes and leaves the header with its
/// [`ListsEntry`] and no lists of its own (what its JSON then holds).
#[cfg(feature = "train")]
pub(crate) fn seal(header: &mut Header, offset: usize) -> Result<Vec<u8>> {
    validate_items(header)?;
    let items = std::mem::take(&mut header.items);
    let popularity = std::mem::take(&mut header.popularity);
    let attributes = std::mem::take(&mut header.attributes);
    // Stored when the model reads attributes (`validate_items` checked there is a list per item).
    let attributes = (header.config.n_attributes > 0).then_some(attributes);
    let mut out = Vec::new();
    let mut put = |v: usize| {
        leb128::write::unsigned(&mut out, v as u64).expect("writing to a Vec cannot fail");
    };
    popularity.iter().for_each(|&p| put(p as usize));
    items.iter().for_each(|id| put(id.len()));
    if let Some(lists) = &attributes {
        lists.iter().for_each(|list| put(list.len()));
        lists.iter().flatten().for_each(|&a| put(a as usize));
    }
    items
        .iter()
        .for_each(|id| out.extend_from_slice(id.as_bytes()));
    header.lists = Some(ListsEntry {
        offset,
        bytes: out.len(),
        attribute_ids: attributes.map(|lists| lists.iter().map(Vec::len).sum()),
    });
    Ok(out)
}

/// Reads the section `data` (exactly `entry.bytes`, which `validate_header` checked is at least
/// [`ListsEntry::min_bytes`]) into `header`'s lists, then checks them as JSON lists are checked.
pub(crate) fn open(header: &mut Header, entry: &ListsEntry, data: &[u8]) -> Result<()> {
    let n = header.config.n_items;
    let damaged = |what: &str| corrupt(format!("the per-item lists are damaged: {what}"));
    let mut rest = data;
    let mut numbers = |count: usize| -> Result<Vec<u32>> {
        // `count` is at most the section's bytes (`min_bytes`): a bounded allocation.
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let v = leb128::read::unsigned(&mut rest)
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| damaged("a number runs past the section or exceeds 32 bits"))?;
            out.push(v);
        }
        Ok(out)
    };
    let popularity = numbers(n)?;
    let id_lengths = numbers(n)?;
    let attributes = match entry.attribute_ids {
        None => Vec::new(),
        Some(total) => {
            let counts = numbers(n)?;
            let ids = numbers(total)?;
            let lists = pieces(&ids, counts).map_err(|more| {
                damaged(&format!(
                    "the attribute counts add up to {more} than the ids"
                ))
            })?;
            lists.into_iter().map(<[u32]>::to_vec).collect()
        }
    };
    let ids = pieces(rest, id_lengths).map_err(|more| {
        damaged(&format!(
            "the ids' lengths add up to {more} than their text"
        ))
    })?;
    let items = ids
        .into_iter()
        .map(|id| std::str::from_utf8(id).map(str::to_owned))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| damaged("an id is not UTF-8"))?;
    header.items = items;
    header.popularity = popularity;
    header.attributes = attributes;
    validate_items(header)
}

/// `whole` cut into consecutive pieces of `lengths`, which must cover it exactly; else whether
/// they add up to "more" or "less" than it.
fn pieces<T>(whole: &[T], lengths: Vec<u32>) -> std::result::Result<Vec<&[T]>, &'static str> {
    let mut out = Vec::with_capacity(lengths.len());
    let mut rest = whole;
    for len in lengths {
        // `len` may be any u32: checked against what is left, never added to an offset.
        let (piece, after) = rest.split_at_checked(len as usize).ok_or("more")?;
        out.push(piece);
        rest = after;
    }
    if rest.is_empty() {
        Ok(out)
    } else {
        Err("less")
    }
}
