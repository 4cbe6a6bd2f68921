//! The shopper's history on this device, and the one place its cap and retention are enforced.
//! The browser's store (IndexedDB or memory, `js/host.js`) only mirrors what [`History`] decides:
//! every change returns the positions the store must drop.

use crate::event::Event;

const DAY_MS: f64 = 86_400_000.0;

/// How much history a device keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPolicy {
    /// At most this many events; the oldest go first.
    pub max_events: usize,
    /// Events older than this many days are dropped (0: kept until the cap pushes them out).
    pub retention_days: f64,
}

impl Default for HistoryPolicy {
    /// 200 events, 90 days.
    fn default() -> Self {
        HistoryPolicy {
            max_events: 200,
            retention_days: 90.0,
        }
    }
}

impl HistoryPolicy {
    /// Positions (ascending) of `events`, oldest first, that the policy drops at `now_ms`: every
    /// expired event, then the oldest of the rest beyond the cap.
    pub fn to_drop(&self, events: &[Event], now_ms: f64) -> Vec<usize> {
        let cutoff = if self.retention_days > 0.0 {
            now_ms - self.retention_days * DAY_MS
        } else {
            f64::NEG_INFINITY
        };
        let fresh = events.iter().filter(|e| e.ts >= cutoff).count();
        let mut over = fresh.saturating_sub(self.max_events);
        let mut out = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if e.ts < cutoff {
                out.push(i);
            } else if over > 0 {
                out.push(i);
                over -= 1;
            }
        }
        out
    }
}

/// The events a device keeps, oldest first, under a [`HistoryPolicy`].
#[derive(Debug, Clone, Default)]
pub struct History {
    events: Vec<Event>,
    policy: HistoryPolicy,
}

impl History {
    /// The stored events, with what the policy drops at `now_ms` already gone. Also returns the
    /// positions dropped, for the store.
    pub fn new(events: Vec<Event>, policy: HistoryPolicy, now_ms: f64) -> (Self, Vec<usize>) {
        let mut h = History { events, policy };
        let dropped = h.expire(now_ms);
        (h, dropped)
    }

    /// The events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Appends an event and applies the policy; returns the positions dropped, counted in the
    /// list with the new event appended.
    pub fn push(&mut self, event: Event, now_ms: f64) -> Vec<usize> {
        self.events.push(event);
        self.expire(now_ms)
    }

    /// Applies the policy at `now_ms` (time passes without new events); returns the positions
    /// dropped.
    pub fn expire(&mut self, now_ms: f64) -> Vec<usize> {
        let drop = self.policy.to_drop(&self.events, now_ms);
        if !drop.is_empty() {
            let mut next = drop.iter().peekable();
            let mut i = 0;
            self.events.retain(|_| {
                let gone = next.next_if_eq(&&i).is_some();
                i += 1;
                !gone
            });
        }
        drop
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    const NOW: f64 = 1.0e12;

    fn at(days_ago: f64, id: &str) -> Event {
        Event::item(EventKind::View, id, NOW - days_ago * DAY_MS)
    }

    fn ids(h: &History) -> Vec<&str> {
        h.events()
            .iter()
            .map(|e| e.item_id.as_deref().unwrap())
            .collect()
    }

    #[test]
    fn the_cap_drops_the_oldest() {
        let policy = HistoryPolicy {
            max_events: 2,
            retention_days: 0.0,
        };
        let (mut h, dropped) = History::new(vec![at(3.0, "a"), at(2.0, "b")], policy, NOW);
        assert!(dropped.is_empty());
        assert_eq!(h.push(at(1.0, "c"), NOW), vec![0]);
        assert_eq!(ids(&h), ["b", "c"]);
    }

    #[test]
    fn retention_applies_on_load_on_push_and_as_time_passes() {
        let policy = HistoryPolicy {
            max_events: 10,
            retention_days: 30.0,
        };
        let stored = vec![
            at(40.0, "old"),
            at(20.0, "b"),
            at(31.0, "late-old"),
            at(1.0, "c"),
        ];
        let (mut h, dropped) = History::new(stored, policy, NOW);
        assert_eq!(dropped, vec![0, 2]);
        assert_eq!(ids(&h), ["b", "c"]);
        assert!(h.push(at(0.0, "d"), NOW).is_empty());
        // Fifteen days later "b" is 35 days old.
        assert_eq!(h.expire(NOW + 15.0 * DAY_MS), vec![0]);
        assert_eq!(ids(&h), ["c", "d"]);
    }

    #[test]
    fn expired_events_do_not_count_against_the_cap() {
        let policy = HistoryPolicy {
            max_events: 2,
            retention_days: 30.0,
        };
        let stored = vec![at(1.0, "a"), at(40.0, "old"), at(1.0, "b"), at(0.5, "c")];
        assert_eq!(policy.to_drop(&stored, NOW), vec![0, 1]);
    }
}
