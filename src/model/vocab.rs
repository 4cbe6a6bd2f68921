//! The item vocabulary: the shop's own string ids and the dense embedding rows behind them.

use crate::error::{Error, Result};

/// A dense row of the item embedding table. Row 0 is padding; items start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemIndex(pub u32);

/// Maps shop item ids to embedding rows and back. The ids are held once: the hash table holds
/// only rows (4 bytes a slot) and compares against `ids` (a million-item model held every id
/// twice, as a `HashMap<String, u32>` key and in `ids`, and spent most of its load hashing them
/// with SipHash).
#[derive(Clone, Default)]
pub struct Vocab {
    ids: Vec<String>,
    index: hashbrown::HashTable<u32>,
}

impl std::fmt::Debug for Vocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocab").field("len", &self.len()).finish()
    }
}

/// foldhash (hashbrown's own default hasher, with a fixed seed): xxh3, used before, multiplies
/// 64 by 64 into 128 bits, which wasm32 has no instruction for (a call to `__multi3` each time:
/// 180 ms of a million-item model's cold start in a profile); foldhash computes that product
/// from 32-bit halves on such targets.
fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    const HASH: foldhash::fast::FixedState =
        foldhash::fast::FixedState::with_seed(0x6c6f_6361_6c72_6563);
    HASH.hash_one(id)
}

/// The hash of a row of the index, for the table to rehash with. One function for every caller,
/// so that the table's rehashing is compiled once (1.5 kB of wasm a copy).
fn row_hasher(ids: &[String]) -> impl Fn(&u32) -> u64 + '_ {
    move |&r| id_hash(&ids[r as usize - 1])
}

impl Vocab {
    /// Builds a vocabulary from ids in row order (row `i + 1` for `ids[i]`). Duplicates are an error.
    pub fn from_ids(ids: Vec<String>) -> Result<Self> {
        let mut vocab = Self {
            index: hashbrown::HashTable::with_capacity(ids.len()),
            ids,
        };
        let Self { ids, index } = &mut vocab;
        for (i, id) in ids.iter().enumerate() {
            // One hash an id (a lookup and then an insert hashed each twice; the loop took
            // 2-3.5 ms of Beauty's 50-60 ms `load()` in the browser). A million ids: about 300 ms
            // in a browser profile, about 200 natively (a throwaway timing, copying the ids included).
            match index.entry(
                id_hash(id),
                |&r| ids[r as usize - 1] == *id,
                row_hasher(ids),
            ) {
                hashbrown::hash_table::Entry::Occupied(_) => {
                    return Err(Error::ModelCorrupt(format!(
                        "duplicate item id {id:?} in vocabulary"
                    )));
                }
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(i as u32 + 1);
                }
            }
        }
        Ok(vocab)
    }

    /// Indexes row `row` (its id already in `ids`), known to be new.
    fn insert_row(&mut self, row: u32) {
        let Self { ids, index } = self;
        let hash = id_hash(&ids[row as usize - 1]);
        index.insert_unique(hash, row, row_hasher(ids));
    }

    /// Adds `id` if new and returns its row.
    pub fn intern(&mut self, id: &str) -> ItemIndex {
        if let Some(row) = self.get(id) {
            return row;
        }
        self.ids.push(id.to_owned());
        let row = self.ids.len() as u32;
        self.insert_row(row);
        ItemIndex(row)
    }

    /// The row of a known id.
    pub fn get(&self, id: &str) -> Option<ItemIndex> {
        self.index
            .find(id_hash(id), |&r| self.ids[r as usize - 1] == id)
            .map(|&r| ItemIndex(r))
    }

    /// The row of `id`, or an `UnknownItem` error.
    pub fn require(&self, id: &str) -> Result<ItemIndex> {
        self.get(id)
            .ok_or_else(|| Error::UnknownItem(id.to_owned()))
    }

    /// The shop id of a row (None for padding or out of range).
    pub fn id(&self, row: ItemIndex) -> Option<&str> {
        let r = row.0 as usize;
        if r == 0 {
            None
        } else {
            self.ids.get(r - 1).map(String::as_str)
        }
    }

    /// Number of items (excluding padding).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Ids in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_start_at_one_and_round_trip() {
        let mut v = Vocab::default();
        assert_eq!(v.intern("a"), ItemIndex(1));
        assert_eq!(v.intern("b"), ItemIndex(2));
        assert_eq!(v.intern("a"), ItemIndex(1));
        assert_eq!(v.id(ItemIndex(2)), Some("b"));
        assert_eq!(v.id(ItemIndex(0)), None);
        assert_eq!(v.id(ItemIndex(3)), None);
        assert_eq!(v.require("zz").unwrap_err().code(), "UNKNOWN_ITEM");
        let w = Vocab::from_ids(v.ids().to_vec()).unwrap();
        assert_eq!(w.get("b"), Some(ItemIndex(2)));
        assert!(Vocab::from_ids(vec!["x".into(), "x".into()]).is_err());
        // Many ids, given at once and interned one by one (the table then grows and rehashes as
        // it fills): each at its row, a late duplicate refused.
        let ids: Vec<String> = (0..5000).map(|i| format!("sku-{i}")).collect();
        let v = Vocab::from_ids(ids.clone()).unwrap();
        let mut grown = Vocab::default();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(grown.intern(id), ItemIndex(i as u32 + 1));
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(v.get(id), Some(ItemIndex(i as u32 + 1)));
            assert_eq!(grown.get(id), Some(ItemIndex(i as u32 + 1)));
        }
        let mut repeated = ids;
        repeated.push("sku-1234".into());
        let err = Vocab::from_ids(repeated).unwrap_err();
        assert!(err.to_string().contains("sku-1234"), "{err}");
    }
}
