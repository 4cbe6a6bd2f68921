//! Google Analytics 4's BigQuery export (`events_YYYYMMDD` tables), as the warehouse writes it to
//! Parquet or newline-delimited JSON, mapped onto localrec's events the way the browser adapter
//! (`js/ga4.js`) maps the same events from `window.dataLayer`:
//!
//! | GA4 `event_name` | localrec event |
//! |---|---|
//! | `view_item` | `view` of each item in `items` |
//! | `add_to_cart` | `cart` of each item |
//! | `purchase` | `purchase` of each item |
//! | `view_search_results`, `search` | `search` for the `search_term` event parameter |
//! | `view_item_list` | `category`: the `item_list_id` parameter, else `item_list_name`, else the list id or name the items share, else their shared `item_category/.../item_category5` path |
//!
//! The shopper is `user_id` where the shop sets it, else `user_pseudo_id` (the browser's);
//! `event_timestamp` is in microseconds. Other events (`page_view`, `session_start`, ...) and
//! item events without item ids are counted as ignored, not errors; a row the trainer should read
//! but cannot (no shopper, no timestamp) is a bad row, reported with its file and row.

use serde::Deserialize;

use crate::error::Result;
use crate::event::{Event, EventKind};

use super::data::{Grouper, Reader, value_text};

/// The item fields of a GA4 row that the mapping reads.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ga4Item {
    pub id: Option<String>,
    /// `item_category` .. `item_category5`, blanks included (the path skips them).
    pub categories: [Option<String>; 5],
    pub list_id: Option<String>,
    pub list_name: Option<String>,
}

/// The fields of one GA4 export row that the mapping reads.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ga4Row {
    /// `event_timestamp`, microseconds.
    pub ts: Option<f64>,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub user_pseudo_id: Option<String>,
    /// The event parameters the mapping reads: `search_term`, `item_list_id`, `item_list_name`.
    pub search_term: Option<String>,
    pub list_id: Option<String>,
    pub list_name: Option<String>,
    pub items: Vec<Ga4Item>,
}

/// What one row stands for.
#[derive(Debug, PartialEq)]
pub(crate) enum Mapped {
    /// The shopper and their events (one per item for item events).
    Events(String, Vec<Event>),
    /// Not an event the trainer reads.
    Ignored,
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The value every item has for `field`, when they all have the same one.
fn shared<'a, T: PartialEq>(
    items: &'a [Ga4Item],
    field: impl Fn(&'a Ga4Item) -> Option<T>,
) -> Option<T> {
    let first = field(items.first()?)?;
    items[1..]
        .iter()
        .all(|i| field(i).as_ref() == Some(&first))
        .then_some(first)
}

fn category_path(item: &Ga4Item) -> Option<String> {
    let parts: Vec<&str> = item.categories.iter().filter_map(clean).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Maps one row; `Err(reason)` for a row that should be read but cannot be.
pub(crate) fn map_row(row: &Ga4Row) -> std::result::Result<Mapped, String> {
    let Some(name) = clean(&row.name) else {
        return Err("missing event_name".into());
    };
    let item_kind = match name {
        "view_item" => Some(EventKind::View),
        "add_to_cart" => Some(EventKind::Cart),
        "purchase" => Some(EventKind::Purchase),
        _ => None,
    };
    // What the event says, before the shopper and time are checked (an ignored row needs neither).
    enum What {
        Items(EventKind, Vec<String>),
        Search(String),
        Category(String),
    }
    let what = if let Some(kind) = item_kind {
        let ids: Vec<String> = row
            .items
            .iter()
            .filter_map(|i| clean(&i.id).map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return Ok(Mapped::Ignored);
        }
        What::Items(kind, ids)
    } else if name == "view_search_results" || name == "search" {
        match clean(&row.search_term) {
            Some(q) => What::Search(q.to_owned()),
            None => return Ok(Mapped::Ignored),
        }
    } else if name == "view_item_list" {
        let category = clean(&row.list_id)
            .or(clean(&row.list_name))
            .or_else(|| shared(&row.items, |i| clean(&i.list_id)))
            .or_else(|| shared(&row.items, |i| clean(&i.list_name)))
            .map(str::to_owned)
            .or_else(|| shared(&row.items, category_path));
        match category {
            Some(c) => What::Category(c),
            None => return Ok(Mapped::Ignored),
        }
    } else {
        return Ok(Mapped::Ignored);
    };
    let user = clean(&row.user_id)
        .or(clean(&row.user_pseudo_id))
        .ok_or("missing user_id and user_pseudo_id")?
        .to_owned();
    let ts = row.ts.ok_or("missing event_timestamp")?;
    if !ts.is_finite() {
        return Err(format!("event_timestamp {ts} is not finite"));
    }
    let events = match what {
        What::Items(kind, ids) => ids
            .into_iter()
            .map(|id| Event::item(kind, id, ts))
            .collect(),
        What::Search(q) => vec![Event {
            kind: EventKind::Search,
            item_id: None,
            query: Some(q),
            category: None,
            ts,
        }],
        What::Category(c) => vec![Event::category(c, ts)],
    };
    Ok(Mapped::Events(user, events))
}

/// Adds a mapped row to the log; counts ignored rows and reports bad ones.
pub(crate) fn add(
    mapped: std::result::Result<Mapped, String>,
    line: usize,
    r: &mut Reader,
    g: &mut Grouper,
    ignored: &mut usize,
) -> Result<()> {
    match mapped {
        Ok(Mapped::Events(user, events)) => {
            for e in &events {
                g.push(&user, e);
            }
            Ok(())
        }
        Ok(Mapped::Ignored) => {
            *ignored += 1;
            Ok(())
        }
        Err(reason) => r.bad(line, reason),
    }
}

/// BigQuery writes INT64 as a JSON string in its JSON export; accept numbers too.
fn json_number(v: &Option<serde_json::Value>) -> Option<f64> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct JsonRow {
    event_timestamp: Option<serde_json::Value>,
    event_name: Option<String>,
    user_id: Option<String>,
    user_pseudo_id: Option<String>,
    #[serde(default)]
    event_params: Option<Vec<JsonParam>>,
    #[serde(default)]
    items: Option<Vec<JsonItem>>,
}

#[derive(Deserialize)]
struct JsonParam {
    key: Option<String>,
    value: Option<JsonValue>,
}

#[derive(Deserialize)]
struct JsonValue {
    string_value: Option<String>,
}

#[derive(Deserialize)]
struct JsonItem {
    item_id: Option<serde_json::Value>,
    item_category: Option<String>,
    item_category2: Option<String>,
    item_category3: Option<String>,
    item_category4: Option<String>,
    item_category5: Option<String>,
    item_list_id: Option<String>,
    item_list_name: Option<String>,
}

impl JsonRow {
    fn into_row(self) -> Ga4Row {
        let mut row = Ga4Row {
            ts: json_number(&self.event_timestamp),
            name: self.event_name,
            user_id: self.user_id,
            user_pseudo_id: self.user_pseudo_id,
            ..Ga4Row::default()
        };
        for p in self.event_params.unwrap_or_default() {
            let value = p.value.and_then(|v| v.string_value);
            match p.key.as_deref() {
                Some("search_term") => row.search_term = value,
                Some("item_list_id") => row.list_id = value,
                Some("item_list_name") => row.list_name = value,
                _ => {}
            }
        }
        row.items = self
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| Ga4Item {
                id: value_text(&i.item_id),
                categories: [
                    i.item_category,
                    i.item_category2,
                    i.item_category3,
                    i.item_category4,
                    i.item_category5,
                ],
                list_id: i.item_list_id,
                list_name: i.item_list_name,
            })
            .collect();
        row
    }
}

/// Reads GA4 export rows from newline-delimited JSON into `g`; returns (rows read, rows ignored).
pub(crate) fn parse_jsonl(bytes: &[u8], r: &mut Reader, g: &mut Grouper) -> Result<(usize, usize)> {
    let (mut lines, mut ignored) = (0, 0);
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let mapped = match serde_json::from_slice::<JsonRow>(raw) {
            Ok(row) => map_row(&row.into_row()),
            Err(e) => Err(format!(
                "not a GA4 export row (event_timestamp, event_name, items, ...): {e}"
            )),
        };
        add(mapped, line, r, g, &mut ignored)?;
    }
    Ok((lines, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, cats: &[&str]) -> Ga4Item {
        let mut categories: [Option<String>; 5] = Default::default();
        for (c, v) in categories.iter_mut().zip(cats) {
            *c = Some(v.to_string());
        }
        Ga4Item {
            id: Some(id.into()),
            categories,
            ..Ga4Item::default()
        }
    }

    fn row(name: &str) -> Ga4Row {
        Ga4Row {
            ts: Some(1.7e15),
            name: Some(name.into()),
            user_pseudo_id: Some("123.456".into()),
            ..Ga4Row::default()
        }
    }

    #[test]
    fn maps_as_the_browser_adapter_does() {
        let purchase = Ga4Row {
            user_id: Some("u-9".into()),
            items: vec![item("sku-1", &[]), item(" ", &[]), item("sku-2", &[])],
            ..row("purchase")
        };
        assert_eq!(
            map_row(&purchase).unwrap(),
            Mapped::Events(
                "u-9".into(),
                vec![
                    Event::item(EventKind::Purchase, "sku-1", 1.7e15),
                    Event::item(EventKind::Purchase, "sku-2", 1.7e15)
                ]
            )
        );
        let search = Ga4Row {
            search_term: Some(" trail shoes ".into()),
            ..row("view_search_results")
        };
        let Mapped::Events(user, e) = map_row(&search).unwrap() else {
            panic!()
        };
        assert_eq!(
            (user.as_str(), e[0].kind, e[0].query.as_deref()),
            ("123.456", EventKind::Search, Some("trail shoes"))
        );
        let list = Ga4Row {
            items: vec![
                item("a", &["hiking", "", "boots"]),
                item("b", &["hiking", "boots"]),
            ],
            ..row("view_item_list")
        };
        let Mapped::Events(_, e) = map_row(&list).unwrap() else {
            panic!()
        };
        assert_eq!(e[0].category.as_deref(), Some("hiking/boots"));
        let named = Ga4Row {
            list_name: Some("Summer sale".into()),
            ..list.clone()
        };
        let Mapped::Events(_, e) = map_row(&named).unwrap() else {
            panic!()
        };
        assert_eq!(e[0].category.as_deref(), Some("Summer sale"));
        let mixed = Ga4Row {
            items: vec![item("a", &["hiking"]), item("b", &["running"])],
            ..row("view_item_list")
        };
        assert_eq!(map_row(&mixed).unwrap(), Mapped::Ignored);
    }

    #[test]
    fn other_events_are_ignored_and_unreadable_ones_are_bad() {
        assert_eq!(map_row(&row("page_view")).unwrap(), Mapped::Ignored);
        assert_eq!(
            map_row(&row("view_item")).unwrap(),
            Mapped::Ignored,
            "no items"
        );
        assert_eq!(
            map_row(&row("search")).unwrap(),
            Mapped::Ignored,
            "no search_term"
        );
        let anonymous = Ga4Row {
            user_pseudo_id: None,
            items: vec![item("a", &[])],
            ..row("view_item")
        };
        assert!(map_row(&anonymous).unwrap_err().contains("user_pseudo_id"));
        let timeless = Ga4Row {
            ts: None,
            items: vec![item("a", &[])],
            ..row("view_item")
        };
        assert!(map_row(&timeless).unwrap_err().contains("event_timestamp"));
        assert!(
            map_row(&Ga4Row::default())
                .unwrap_err()
                .contains("event_name")
        );
    }
}
