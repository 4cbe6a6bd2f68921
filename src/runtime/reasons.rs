//! Reasons: which event of the history best explains a recommendation.

use crate::event::{Event, EventKind};
use crate::model::vocab::ItemIndex;

use super::engine::{Encoded, Engine};
use super::options::Reason;

impl Engine {
    /// The history event that best explains `row`: attention on the event times the cosine
    /// similarity between the candidate and the event's item.
    /// With no model state (`attention` is `None`: an empty history) the reason is `popular`.
    pub(super) fn reason(
        &self,
        row: usize,
        encoded: &Encoded,
        attention: Option<&[f32]>,
    ) -> Reason {
        let Some(attention) = attention else {
            return Reason::POPULAR;
        };
        let d = self.config.d_model;
        let cand = &self.unit_items[row * d..(row + 1) * d];
        let offset = attention.len().saturating_sub(encoded.events.len());
        let mut best: Option<(f32, &Event)> = None;
        for (i, e) in encoded.events.iter().enumerate() {
            let weight = attention.get(offset + i).copied().unwrap_or(0.0);
            let sim = match e.item_id.as_deref().and_then(|id| self.vocab.get(id)) {
                Some(ItemIndex(r)) => {
                    let other = &self.unit_items[r as usize * d..(r as usize + 1) * d];
                    cand.iter()
                        .zip(other)
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        .max(0.0)
                }
                None => 0.5, // a search or a category: no item row; attention alone decides
            };
            let c = weight * sim;
            if best.is_none_or(|(b, _)| c > b) {
                best = Some((c, e));
            }
        }
        match best {
            Some((c, e)) if c > 0.0 => Reason {
                kind: match e.kind {
                    EventKind::View => "viewed",
                    EventKind::Cart => "carted",
                    EventKind::Purchase => "bought",
                    EventKind::Search => "searched",
                    EventKind::Category => "browsed",
                },
                item_id: e.item_id.clone(),
                query: e.query.clone(),
                category: e.category.clone(),
            },
            _ => Reason::POPULAR,
        }
    }
}
