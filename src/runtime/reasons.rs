//! Reasons: which event of the history best explains a recommendation.

use crate::error::Result;
use crate::event::{Event, EventKind};
use crate::vector::dot;

use super::engine::{Encoded, Engine};
use super::options::Reason;

impl Engine {
    /// For each of `rows`, the history event that best explains it: attention on the event times
    /// the cosine similarity between the candidate and the event's item (rows decoded from the
    /// quantised table, the history's once). With no model state (`attention` is `None`: an
    /// empty history) every reason is `popular`.
    pub(super) fn reasons(
        &self,
        rows: &[usize],
        encoded: &Encoded,
        attention: Option<&[f32]>,
    ) -> Result<Vec<Reason>> {
        let Some(attention) = attention else {
            return Ok(vec![Reason::POPULAR; rows.len()]);
        };
        let d = self.config.d_model;
        let history: Vec<Option<usize>> = encoded
            .events
            .iter()
            .map(|e| {
                e.item_id
                    .as_deref()
                    .and_then(|id| self.vocab.get(id))
                    .map(|r| r.0 as usize)
            })
            .collect();
        let history_units = self.items.unit_rows(history.iter().flatten().copied())?;
        let mut units = history_units.chunks_exact(d.max(1));
        let unit_of: Vec<Option<&[f32]>> = history
            .iter()
            .map(|row| row.and_then(|_| units.next()))
            .collect();
        let candidates = self.items.unit_rows(rows.iter().copied())?;
        Ok(candidates
            .chunks_exact(d.max(1))
            .map(|cand| reason(cand, encoded, attention, &unit_of))
            .collect())
    }
}

/// The reason for one candidate (`cand`, a unit row); `history[i]` is event `i`'s item's unit
/// row (None for a search or a category).
fn reason(
    cand: &[f32],
    encoded: &Encoded,
    attention: &[f32],
    history: &[Option<&[f32]>],
) -> Reason {
    let offset = attention.len().saturating_sub(encoded.events.len());
    let mut best: Option<(f32, &Event)> = None;
    for (i, e) in encoded.events.iter().enumerate() {
        let weight = attention.get(offset + i).copied().unwrap_or(0.0);
        let sim = match history[i] {
            Some(other) => dot(cand, other).max(0.0),
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
