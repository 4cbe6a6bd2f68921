//! Shopper events and the featurisation shared by the trainer and the browser runtime.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a shopper did. The discriminant is the row of the event-type embedding (0 is padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View = 1,
    Cart = 2,
    Purchase = 3,
    Search = 4,
}

/// Rows of the event-type embedding: padding plus the four kinds.
pub const EVENT_TYPES: usize = 5;

impl EventKind {
    /// Parses `view`, `cart`, `purchase` or `search`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "view" => Ok(EventKind::View),
            "cart" => Ok(EventKind::Cart),
            "purchase" => Ok(EventKind::Purchase),
            "search" => Ok(EventKind::Search),
            other => Err(Error::BadEvent(format!(
                "unknown event type {other:?} (expected view, cart, purchase or search)"
            ))),
        }
    }

    /// The lowercase name used in logs and in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
        }
    }

    /// The embedding row.
    pub fn row(self) -> u32 {
        self as u32
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
        let err = EventKind::parse("click").unwrap_err();
        assert_eq!(err.code(), "BAD_EVENT");
        assert!(err.to_string().contains("click"));
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
