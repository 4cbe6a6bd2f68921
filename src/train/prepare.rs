//! From a shop's log to model input: ids mapped to rows, events featurised with the same
//! [`Features::step`] the browser uses, and the leave-one-out split points.

use std::collections::HashMap;

use serde::Serialize;

use crate::catalog::ItemMeta;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::model::vocab::Vocab;
use crate::model::{Features, Step};

use super::data::Dataset;

/// Where one leave-one-out question is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Index of the target event.
    pub target: usize,
    /// The input is `steps[..input_end]`: everything before the shopper first touched the target
    /// item since the previous target (so a view or cart of the item does not give it away).
    pub input_end: usize,
}

/// A user's events as model inputs, with the leave-one-out split points.
#[derive(Debug, Clone)]
pub struct PreparedUser {
    pub steps: Vec<Step>,
    /// Validation and test cuts, if the user has two target events.
    pub split: Option<(Cut, Cut)>,
}

impl PreparedUser {
    /// Events the model may train on.
    pub fn train_steps(&self) -> &[Step] {
        match self.split {
            Some((valid, _)) => &self.steps[..valid.input_end],
            None => &self.steps,
        }
    }
}

/// A dataset mapped onto embedding rows.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub vocab: Vocab,
    pub users: Vec<PreparedUser>,
    /// Item counts in the training events, by row (row 0 unused).
    pub popularity: Vec<u32>,
    /// Attribute ids per row (row 0 empty); empty when no attributes were given.
    pub item_attrs: Vec<Vec<u32>>,
    pub n_attributes: usize,
    /// Catalogue metadata per row (row 0 default), when given.
    pub catalog: Option<Vec<ItemMeta>>,
    pub stats: DataStats,
}

/// Numbers about the data, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataStats {
    pub users: usize,
    pub evaluated_users: usize,
    pub items: usize,
    pub events: usize,
    /// Search and category events (both read as query tokens).
    pub searches: usize,
    pub target: String,
    pub skipped_lines: usize,
    pub unknown_items: usize,
}

/// Options for [`prepare`].
pub struct PrepareOptions<'a> {
    /// How events become model input: the model's own ([`crate::model::SeqRecConfig::features`])
    /// when evaluating one, the trainer's settings before it exists.
    pub features: Features,
    pub attributes: Option<&'a HashMap<String, Vec<u32>>>,
    pub catalog: Option<&'a HashMap<String, ItemMeta>>,
    /// A fixed vocabulary (evaluation of a trained model); unknown items are then dropped and counted.
    pub vocab: Option<&'a Vocab>,
}

/// Maps raw logs to rows, finds split points and counts training popularity.
pub fn prepare(ds: &Dataset, opts: &PrepareOptions<'_>) -> Result<Prepared> {
    let has_purchases = ds.kinds().contains(&EventKind::Purchase);
    let target_kinds = if has_purchases {
        vec![EventKind::Purchase]
    } else {
        vec![EventKind::View, EventKind::Cart]
    };
    let mut vocab = match opts.vocab {
        Some(v) => v.clone(),
        None => {
            let mut v = Vocab::default();
            if let Some(cat) = opts.catalog {
                let mut ids: Vec<&String> = cat.keys().collect();
                ids.sort();
                for id in ids {
                    v.intern(id);
                }
            }
            v
        }
    };
    let fixed = opts.vocab.is_some();
    let mut stats = DataStats {
        skipped_lines: ds.skipped.count,
        ..DataStats::default()
    };
    let mut users = Vec::with_capacity(ds.users());
    for u in 0..ds.users() {
        let events = ds.events(u);
        let mut steps = Vec::with_capacity(events.len());
        let mut kinds = Vec::with_capacity(events.len());
        for e in events {
            if e.kind.is_text() {
                stats.searches += 1;
            }
            // With a fixed vocabulary an unknown item is counted; `step` then drops an item
            // event of it and keeps a search naming it for its words, as the browser does.
            let row = |id: &str| {
                if fixed {
                    let row = vocab.get(id).map(|r| r.0);
                    stats.unknown_items += usize::from(row.is_none());
                    row
                } else {
                    Some(vocab.intern(id).0)
                }
            };
            if let Some(step) = opts.features.step(&e, row) {
                steps.push(step);
                kinds.push(e.kind);
            }
        }
        stats.events += steps.len();
        let targets: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].item != 0 && target_kinds.contains(&kinds[i]))
            .collect();
        let cut = |prev: usize, target: usize| Cut {
            target,
            input_end: (prev..target)
                .find(|&j| steps[j].item == steps[target].item)
                .unwrap_or(target),
        };
        let split = match targets.as_slice() {
            [.., v, t] => {
                let before_v = targets.iter().rev().nth(2).map(|p| p + 1).unwrap_or(0);
                let (vc, tc) = (cut(before_v, *v), cut(v + 1, *t));
                (vc.input_end > 0 && tc.input_end > vc.target).then_some((vc, tc))
            }
            _ => None,
        };
        if split.is_some() {
            stats.evaluated_users += 1;
        }
        users.push(PreparedUser { steps, split });
    }
    let n = vocab.len();
    let mut popularity = vec![0u32; n + 1];
    for u in &users {
        for s in u.train_steps() {
            if s.item != 0 {
                popularity[s.item as usize] += 1;
            }
        }
    }
    let (item_attrs, n_attributes) = match opts.attributes {
        Some(map) => {
            let mut rows = vec![Vec::new(); n + 1];
            let mut max_attr = 0;
            for (row, id) in vocab.ids().iter().enumerate() {
                if let Some(a) = map.get(id) {
                    rows[row + 1] = a.iter().map(|&x| x + 1).collect(); // 0 stays padding
                    max_attr = max_attr.max(a.iter().copied().max().unwrap_or(0) + 1);
                }
            }
            (rows, max_attr as usize)
        }
        None => (Vec::new(), 0),
    };
    let catalog = opts.catalog.map(|cat| {
        let mut rows = vec![ItemMeta::default(); n + 1];
        for (row, id) in vocab.ids().iter().enumerate() {
            if let Some(m) = cat.get(id) {
                rows[row + 1] = m.clone();
            }
        }
        rows
    });
    stats.users = users.len();
    stats.items = n;
    stats.target = target_kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join("+");
    if n == 0 {
        return Err(Error::InvalidArgument("the data has no items".into()));
    }
    Ok(Prepared {
        vocab,
        users,
        popularity,
        item_attrs,
        n_attributes,
        catalog,
        stats,
    })
}
