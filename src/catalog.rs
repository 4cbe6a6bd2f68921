//! The shop's catalogue as every part of localrec sees it: an item's metadata, a catalogue entry
//! (metadata with its id) and an offer. The weights file, the browser runtime, the trainer's
//! readers and `localrec synth` all use these types.

use serde::{Deserialize, Serialize};

/// An item's metadata, used by filters, offers and the storefront.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemMeta {
    // Empty fields are left out when written: a model's header holds one of these per item.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default)]
    pub category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub brand: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f32>,
    #[serde(default = "yes")]
    pub in_stock: bool,
}

fn yes() -> bool {
    true
}

impl ItemMeta {
    /// Item `id`'s metadata in a catalogue given by id (`load({catalog})`, `localrec shard
    /// --catalog`): an item it lacks has no category and is not in stock.
    pub fn of(catalog: &std::collections::HashMap<String, ItemMeta>, id: &str) -> ItemMeta {
        catalog.get(id).cloned().unwrap_or(ItemMeta {
            in_stock: false,
            ..ItemMeta::default()
        })
    }
}

impl Default for ItemMeta {
    /// No title, category, brand or price; in stock.
    fn default() -> Self {
        ItemMeta {
            title: String::new(),
            category: String::new(),
            brand: String::new(),
            price: None,
            in_stock: true,
        }
    }
}

/// One catalogue item: its id and metadata. `catalog.json` is an array of these, and so is the
/// `catalog` option of `load()` (`itemId` or `item_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    #[serde(alias = "itemId")]
    pub item_id: String,
    #[serde(flatten)]
    pub meta: ItemMeta,
}

/// A promotion a shop may show (`pickOffers()`, `offers.json`). It applies to the items it
/// lists and to every item of its categories and brands. Fields localrec does not know (a
/// banner, a link) are ignored, so a shop can pass its own offer objects as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: String,
    /// What the shop shows, e.g. "15% off Running Shoes".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Categories (`top/sub`, or a prefix such as `top`) the offer applies to.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Brands the offer applies to.
    #[serde(default)]
    pub brands: Vec<String>,
    /// Items the offer applies to, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_ids: Vec<String>,
    /// Fraction off, in [0, 1].
    pub discount: f32,
    /// Synthetic shops only: the shoppers whose last purchase the offer applies to (ground truth
    /// for targeting demos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemers: Option<Vec<String>>,
}

/// `running` matches `running` and `running/shoes`, not `runningwear`.
pub fn category_matches(category: &str, wanted: &str) -> bool {
    category == wanted
        || category
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_prefixes() {
        assert!(category_matches("running/shoes", "running"));
        assert!(category_matches("running/shoes", "running/shoes"));
        assert!(!category_matches("runningwear", "running"));
        assert!(!category_matches("running", "running/shoes"));
    }

    #[test]
    fn a_catalogue_entry_reads_either_id_spelling() {
        for json in [
            r#"{"item_id": "a", "category": "x", "price": 3}"#,
            r#"{"itemId": "a", "category": "x", "price": 3}"#,
        ] {
            let e: CatalogEntry = serde_json::from_str(json).unwrap();
            assert_eq!(e.item_id, "a");
            assert_eq!(e.meta.price, Some(3.0));
            assert!(e.meta.in_stock);
        }
    }
}
