//! Shopper events and the featurisation shared by the trainer and the browser runtime.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View,
    Cart,
    Purchase,
    Search,
    /// A visit to a category page. The model reads it as a search for the category's words
    /// (see [`EventKind::row`]).
    Category,
}

/// Rows of the event-type embedding: padding plus view, cart, purchase and search.
pub const EVENT_TYPES: usize = 5;

impl EventKind {
    /// Parses `view`, `cart`, `purchase`, `search` or `category`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "view" => Ok(EventKind::View),
            "cart" => Ok(EventKind::Cart),
            "purchase" => Ok(EventKind::Purchase),
            "search" => Ok(EventKind::Search),
            "category" => Ok(EventKind::Category),
            other => Err(Error::BadEvent(format!(
                "unknown event type {other:?} (expected view, cart, purchase, search or category)"
            ))),
        }
    }

    /// Whether the event carries text (a query, a category path) instead of an item.
    pub fn is_text(self) -> bool {
        matches!(self, EventKind::Search | EventKind::Category)
    }

    /// The lowercase name used in logs and in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
            EventKind::Category => "category",
        }
    }

    /// The row of the event-type embedding (0 is padding). A category page says what the
    /// shopper is after as plainly as a search does, and shop logs seldom have enough of them to
    /// learn a row of their own, so a visit shares the search row and its category's words are
    /// hashed like query tokens: "hiking/boots" reads as a search for "hiking boots".
    pub fn row(self) -> u32 {
        match self {
            EventKind::View => 1,
            EventKind::Cart => 2,
            EventKind::Purchase => 3,
            EventKind::Search | EventKind::Category => 4,
        }
    }
}

/// Splits a search query into lowercase alphanumeric tokens (at most `max_tokens`).
pub fn tokenize(query: &str, max_tokens: usize) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .take(max_tokens)
        .collect()
}

/// Hashes query tokens into `buckets` embedding rows, `1..=buckets` (0 means "no token").
/// xxh3 is stable across platforms, so the trainer and the browser agree.
pub fn query_buckets(query: &str, buckets: usize, max_tokens: usize) -> Vec<u32> {
    if buckets == 0 {
        return Vec::new();
    }
    tokenize(query, max_tokens)
        .iter()
        .map(|t| (xxhash_rust::xxh3::xxh3_64(t.as_bytes()) % buckets as u64) as u32 + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_kinds_and_rejects_others() {
        assert_eq!(EventKind::parse("cart").unwrap(), EventKind::Cart);
        assert_eq!(EventKind::parse(" search ").unwrap(), EventKind::Search);
        assert_eq!(EventKind::parse("category").unwrap(), EventKind::Category);
        let err = EventKind::parse("click").unwrap_err();
        assert_eq!(err.code(), "BAD_EVENT");
        assert!(err.to_string().contains("click"));
    }

    #[test]
    fn a_category_visit_reads_as_a_search_for_its_words() {
        assert_eq!(EventKind::Category.row(), EventKind::Search.row());
        let rows = [
            EventKind::View,
            EventKind::Cart,
            EventKind::Purchase,
            EventKind::Search,
        ]
        .map(EventKind::row);
        assert_eq!(rows, [1, 2, 3, 4]);
        assert!(rows.iter().all(|&r| (r as usize) < EVENT_TYPES));
        assert_eq!(
            query_buckets("hiking/boots", 1024, 8),
            query_buckets("hiking boots", 1024, 8)
        );
        assert!(EventKind::Category.is_text() && !EventKind::View.is_text());
    }

    #[test]
    fn tokenizes_lowercase_and_bounded() {
        assert_eq!(
            tokenize("Trail-Running  SHOES!", 8),
            vec!["trail", "running", "shoes"]
        );
        assert_eq!(tokenize("a b c d e", 2), vec!["a", "b"]);
        assert!(tokenize("  ,; ", 8).is_empty());
    }

    #[test]
    fn buckets_are_stable_and_in_range() {
        let a = query_buckets("trail running shoes", 1024, 8);
        let b = query_buckets("TRAIL running shoes", 1024, 8);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|&x| (1..=1024).contains(&x)));
        assert!(query_buckets("anything", 0, 8).is_empty());
    }
}
