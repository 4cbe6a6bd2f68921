//! Host-side model input: a history of [`Step`]s, left-padded into a [`SeqBatch`].

use crate::event::EventKind;

use super::SeqRecConfig;

/// One event as the model reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// Item row (0 for a search without an item).
    pub item: u32,
    /// Event-type row (`EventKind::row`).
    pub kind: u32,
    /// Hashed query-token rows (empty unless a search). A boxed slice, not a `Vec`: a trainer
    /// holds one `Step` per event of the log (tens of millions), and this keeps each at 24 bytes.
    pub query: Box<[u32]>,
}

impl Step {
    /// An item event.
    pub fn item(item: u32, kind: EventKind) -> Self {
        Self {
            item,
            kind: kind.row(),
            query: Box::default(),
        }
    }
}

/// Host-side inputs for a batch: every history left-padded to the same length.
#[derive(Debug, Clone)]
pub struct SeqBatch {
    pub batch: usize,
    pub len: usize,
    pub(crate) items: Vec<i64>,
    pub(crate) kinds: Vec<i64>,
    pub(crate) valid: Vec<f32>,
    pub(crate) query: Vec<i64>,
    pub(crate) query_w: Vec<f32>,
    pub(crate) attrs: Vec<i64>,
    pub(crate) attrs_w: Vec<f32>,
}

impl SeqBatch {
    /// The item rows of every position (0 at padding and for searches).
    pub fn item_rows(&self) -> impl Iterator<Item = u32> + '_ {
        self.items.iter().map(|&x| x as u32)
    }

    /// Renumbers the item rows with `row` (for an encoder reading a table of a few rows,
    /// [`super::SeqRec::encode_with_items`]).
    pub fn renumber_items(&mut self, row: impl Fn(u32) -> u32) {
        for x in &mut self.items {
            *x = row(*x as u32) as i64;
        }
    }

    /// Keeps the window of each history the model reads ([`SeqRecConfig::window_start`]: the
    /// newest `config.max_len` events, or with a relative bias a window moving in steps; the
    /// browser, the trainer and its evaluation all read histories through here) and left-pads
    /// all of them to the longest one in the batch. Every position scheme reads a history the
    /// same wherever its padding ends (positions counted from the newest event or the oldest
    /// valid one, distances for a relative bias), so the padding length never changes a result
    /// (tests/model.rs checks this); short histories stay cheap.
    /// `item_attrs[row]` lists an item's attribute ids (1-based) when the model reads attributes.
    pub fn new(config: &SeqRecConfig, histories: &[&[Step]], item_attrs: &[Vec<u32>]) -> Self {
        let histories: Vec<&[Step]> = histories
            .iter()
            .map(|h| &h[config.window_start(h.len())..])
            .collect();
        let len = histories.iter().map(|h| h.len()).max().unwrap_or(0).max(1);
        let q = if config.query_buckets > 0 {
            config.max_query_tokens
        } else {
            0
        };
        let a = if config.n_attributes > 0 {
            config.max_attributes
        } else {
            0
        };
        let n = histories.len() * len;
        let mut b = SeqBatch {
            batch: histories.len(),
            len,
            items: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            valid: Vec::with_capacity(n),
            query: vec![0; n * q],
            query_w: vec![0.0; n * q],
            attrs: vec![0; n * a],
            attrs_w: vec![0.0; n * a],
        };
        let empty = Step::default();
        for history in &histories {
            let refs: Vec<&Step> = history.iter().collect();
            for step in left_pad(&refs, len, &empty) {
                let pos = b.items.len();
                b.items.push(step.item as i64);
                b.kinds.push(step.kind as i64);
                b.valid.push(if step.kind == 0 { 0.0 } else { 1.0 });
                fill_bag(
                    &mut b.query[pos * q..(pos + 1) * q],
                    &mut b.query_w[pos * q..(pos + 1) * q],
                    &step.query,
                );
                if a > 0 {
                    let attrs = item_attrs
                        .get(step.item as usize)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    fill_bag(
                        &mut b.attrs[pos * a..(pos + 1) * a],
                        &mut b.attrs_w[pos * a..(pos + 1) * a],
                        attrs,
                    );
                }
            }
        }
        b
    }
}

/// Writes up to `ids.len()` ids and equal weights summing to one (a mean) into the slots.
fn fill_bag(slots: &mut [i64], weights: &mut [f32], ids: &[u32]) {
    let n = ids.len().min(slots.len());
    for i in 0..n {
        slots[i] = ids[i] as i64;
        weights[i] = 1.0 / n as f32;
    }
}

/// Keeps the last `max_len` values of `seq`, left-padded with `pad` to exactly `max_len`.
pub fn left_pad<T: Copy>(seq: &[T], max_len: usize, pad: T) -> Vec<T> {
    let keep = &seq[seq.len().saturating_sub(max_len)..];
    let mut out = Vec::with_capacity(max_len);
    out.resize(max_len - keep.len(), pad);
    out.extend_from_slice(keep);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_pad_pads_and_truncates() {
        assert_eq!(left_pad(&[1, 2], 4, 0), vec![0, 0, 1, 2]);
        assert_eq!(left_pad(&[1, 2, 3, 4, 5], 3, 0), vec![3, 4, 5]);
        assert_eq!(left_pad(&[1, 2, 3], 3, 0), vec![1, 2, 3]);
        assert_eq!(left_pad::<u32>(&[], 2, 0), vec![0, 0]);
    }

    /// A trainer holds one step per event of the log: 50M events are 1.2 GB of steps at 24
    /// bytes (1.6 GB with a `Vec` for the query).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_step_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Step>(), 24);
    }
}
