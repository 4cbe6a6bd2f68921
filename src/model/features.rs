//! Featurisation: the one function that turns a shopper's event into model input. The browser
//! (`Engine::encode`), the trainer (`train::prepare`) and `localrec eval` all call
//! [`Features::step`], so the trainer's figures are what the browser computes.

use crate::event::{Event, EventKind};

use super::batch::Step;

/// How a model reads events: from its config ([`super::SeqRecConfig::features`]), or, before a
/// model exists, from the trainer's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Hash buckets for query tokens (0: searches and category visits carry nothing).
    pub query_buckets: usize,
    /// Query tokens read per search.
    pub max_query_tokens: usize,
    /// Whether the event type is an input; without it every event reads as a purchase.
    pub event_types: bool,
}

impl Features {
    /// The model input for `event`, or None when the model has nothing to read in it: an item
    /// event whose item it does not know, or a search or category visit none of whose words
    /// hash to a token (an empty or punctuation-only query, or a model without query features).
    /// `row` maps an item id to its embedding row (None: unknown).
    pub fn step(&self, event: &Event, row: impl FnOnce(&str) -> Option<u32>) -> Option<Step> {
        let item = event.item_id.as_deref().and_then(row).unwrap_or(0);
        if item == 0 && !event.kind.is_text() {
            return None;
        }
        let query = event
            .text()
            .map(|t| query_buckets(t, self.query_buckets, self.max_query_tokens))
            .unwrap_or_default();
        if item == 0 && query.is_empty() {
            return None;
        }
        let kind = if self.event_types {
            event.kind.row()
        } else {
            EventKind::Purchase.row()
        };
        Some(Step {
            item,
            kind,
            query: query.into_boxed_slice(),
        })
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

    fn features() -> Features {
        Features {
            query_buckets: 64,
            max_query_tokens: 6,
            event_types: true,
        }
    }

    fn rows(id: &str) -> Option<u32> {
        match id {
            "a" => Some(1),
            "b" => Some(2),
            _ => None,
        }
    }

    #[test]
    fn item_events_need_a_known_item() {
        let f = features();
        let step = f
            .step(&Event::item(EventKind::Cart, "b", 1.0), rows)
            .unwrap();
        assert_eq!((step.item, step.kind), (2, EventKind::Cart.row()));
        assert!(step.query.is_empty());
        assert_eq!(f.step(&Event::item(EventKind::View, "zz", 1.0), rows), None);
    }

    #[test]
    fn a_search_with_no_token_is_dropped() {
        let f = features();
        assert_eq!(f.step(&Event::search("?! ...", 1.0), rows), None);
        let step = f.step(&Event::search("Trail shoes", 1.0), rows).unwrap();
        assert_eq!(step.item, 0);
        assert_eq!(*step.query, *query_buckets("trail shoes", 64, 6));
        // A model without query features reads no search at all.
        let no_query = Features {
            query_buckets: 0,
            ..f
        };
        assert_eq!(
            no_query.step(&Event::search("Trail shoes", 1.0), rows),
            None
        );
    }

    #[test]
    fn a_category_visit_reads_as_a_search_for_its_words() {
        let f = features();
        let visit = f.step(&Event::category("hiking/boots", 1.0), rows).unwrap();
        let search = f.step(&Event::search("hiking boots", 1.0), rows).unwrap();
        assert_eq!(visit, search);
    }

    #[test]
    fn without_event_types_every_event_reads_as_a_purchase() {
        let f = Features {
            event_types: false,
            ..features()
        };
        let step = f
            .step(&Event::item(EventKind::View, "a", 1.0), rows)
            .unwrap();
        assert_eq!(step.kind, EventKind::Purchase.row());
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
