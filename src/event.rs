//! Shopper events: the one event type of the browser's history, the trainer's logs and the
//! synthetic shop. [`crate::model::features`] turns an event into model input, for all of them.

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

/// One thing a shopper did. This is what `track()` takes and `history()` returns (JSON:
/// `{type, itemId?, query?, category?, ts}`), what the trainer reads from a log line and what
/// `localrec synth` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The item viewed, carted or bought (a search may name one too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The search text (`search` events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The category page visited (`category` events), e.g. `hiking/boots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// When it happened: milliseconds since the epoch in the browser; in a trainer's log the
    /// log's own unit (only the order matters there).
    #[serde(default)]
    pub ts: f64,
}

impl Event {
    /// An item event (`view`, `cart`, `purchase`).
    pub fn item(kind: EventKind, item_id: impl Into<String>, ts: f64) -> Self {
        Event {
            kind,
            item_id: Some(item_id.into()),
            query: None,
            category: None,
            ts,
        }
    }

    /// A search for `query`.
    pub fn search(query: impl Into<String>, ts: f64) -> Self {
        Event {
            kind: EventKind::Search,
            item_id: None,
            query: Some(query.into()),
            category: None,
            ts,
        }
    }

    /// A visit to the category page `category`.
    pub fn category(category: impl Into<String>, ts: f64) -> Self {
        Event {
            kind: EventKind::Category,
            item_id: None,
            query: None,
            category: Some(category.into()),
            ts,
        }
    }

    /// What the model reads as query tokens: a search's query or a visited category's path.
    pub fn text(&self) -> Option<&str> {
        match self.kind {
            EventKind::Search => self.query.as_deref(),
            EventKind::Category => self.category.as_deref(),
            _ => None,
        }
    }
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
        assert!(EventKind::Category.is_text() && !EventKind::View.is_text());
    }
}
