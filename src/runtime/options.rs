//! What `recommend()` and `pickOffers()` take and return. The structs are the JS shapes: serde
//! converts them once, and `deny_unknown_fields` refuses a misspelt option name.

use serde::{Deserialize, Serialize};

use crate::catalog::Offer;

/// Filters shared by `recommend()` and `pickOffers()`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Category names or prefixes (`"running"` matches `"running/shoes"`).
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub brands: Option<Vec<String>>,
    #[serde(default)]
    pub min_price: Option<f32>,
    #[serde(default)]
    pub max_price: Option<f32>,
    #[serde(default)]
    pub in_stock: Option<bool>,
}

/// Options of `recommend()`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendOptions {
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default = "yes")]
    pub exclude_seen: bool,
    #[serde(default)]
    pub filter: Filter,
    /// 0 = pure relevance; towards 1 trades relevance for variety (maximal marginal relevance).
    #[serde(default)]
    pub diversity: f32,
}

fn default_k() -> usize {
    10
}

fn yes() -> bool {
    true
}

impl Default for RecommendOptions {
    fn default() -> Self {
        Self {
            k: default_k(),
            exclude_seen: true,
            filter: Filter::default(),
            diversity: 0.0,
        }
    }
}

/// Why an item was recommended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// `viewed`, `carted`, `bought`, `searched`, `browsed` (a category page) or `popular`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Reason {
    /// No history to explain by: the item is popular.
    pub(crate) const POPULAR: Reason = Reason {
        kind: "popular",
        item_id: None,
        query: None,
        category: None,
    };
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub item_id: String,
    pub score: f32,
    pub reason: Reason,
}

/// Options of `pickOffers()`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferOptions {
    pub offers: Vec<Offer>,
    #[serde(default = "one")]
    pub k: usize,
    #[serde(default)]
    pub filter: Filter,
}

fn one() -> usize {
    1
}

/// A ranked offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferPick {
    pub offer_id: String,
    /// Probability mass on the offer's eligible items times its discount (the expected
    /// discount; offers are ranked by `probability`).
    pub score: f32,
    /// Probability mass on the offer's eligible, not-yet-bought items: the ranking key.
    pub probability: f32,
    pub reason: Reason,
}

/// Public facts about the loaded model (`rec.model` in JS).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// The file's format version.
    pub version: u32,
    /// How the file stores its item table: `"int8"`, `"int4"` or `"rqM"` (residual-quantisation
    /// codes in `M` codebooks, the most popular items int8).
    pub item_table: String,
    /// Items the engine ranks now: the whole catalogue, or a core's and its loaded shards'.
    pub items: usize,
    /// Items of the whole catalogue (more than `items` while shards are still to load).
    pub catalog_items: usize,
    /// Shards the core lists (0: the file holds the whole catalogue) and how many are in.
    pub shards: usize,
    pub shards_loaded: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_len: usize,
    pub sha256: String,
    pub bytes: usize,
    pub has_catalog: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    /// The browser converts options and events through JSON into these types (`wasm::js`), so
    /// serde alone decides which names exist.
    #[test]
    fn unknown_names_are_refused_by_name() {
        let err = serde_json::from_str::<RecommendOptions>(r#"{"k": 3, "exludeSeen": false}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exludeSeen") && err.contains("excludeSeen"),
            "{err}"
        );
        let err = serde_json::from_str::<RecommendOptions>(r#"{"filter": {"inStok": true}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("inStok"), "{err}");
        assert!(serde_json::from_str::<OfferOptions>(r#"{"offers": [], "kk": 1}"#).is_err());
        assert!(serde_json::from_str::<Event>(r#"{"type": "view", "item": "a"}"#).is_err());
        // Offers are the shop's own objects: extra fields are theirs and are ignored.
        let opts: OfferOptions = serde_json::from_str(
            r#"{"offers": [{"id": "x", "discount": 0.1, "banner": "/x.png"}], "k": 2}"#,
        )
        .unwrap();
        assert_eq!((opts.offers[0].id.as_str(), opts.k), ("x", 2));
        let defaults: RecommendOptions = serde_json::from_str("{}").unwrap();
        assert_eq!((defaults.k, defaults.exclude_seen), (10, true));
    }
}
