//! Reading a shop's logs: `seq` files, `events` CSV/JSONL, catalogues and attribute maps.
//!
//! Bad input never passes silently: every malformed line stops the read with `file:line: reason`,
//! unless the caller asks to skip bad lines, in which case each one is counted and the first few
//! are kept as examples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::ItemMeta;
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};

/// Input layouts understood by the trainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per user: `user item item ...` in time order.
    Seq,
    /// CSV or JSONL with `user_id, timestamp, event, item_id, query` and optionally `category`.
    Events,
    /// The `events` columns in Parquet: a file, a directory of `*.parquet` shards or a glob.
    Parquet,
    /// Google Analytics 4's BigQuery export (`events_*` tables) as Parquet or newline-delimited
    /// JSON, one file, a directory or a glob (see [`super::ga4`]).
    Ga4,
    /// One Parquet row per user: `user_id` and the lists `item_ids`, and optionally `kinds`,
    /// `timestamps`, `queries`, `categories` (the layout large recommender pipelines keep).
    SeqParquet,
}

/// One user's events, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct UserLog {
    pub user: String,
    pub events: Vec<Event>,
}

/// Lines dropped under `--skip-bad-lines`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Skipped {
    pub count: usize,
    /// The first few, as `file:line: reason`.
    pub examples: Vec<String>,
}

/// Strings stored once and named by a dense `u32` (item ids, query and category texts, user ids).
/// The strings sit end to end in one buffer and the hash table holds only their numbers (4 bytes
/// a slot), so a lookup touches a small table and one place in the buffer, and a new string is
/// one append rather than two allocations.
#[derive(Clone, Default)]
pub struct Interner {
    table: hashbrown::HashTable<u32>,
    text: String,
    /// String `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
    /// String `i`'s hash: growing the table re-places every number without rehashing its text.
    hashes: Vec<u64>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish()
    }
}

fn text_hash(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// String `i` of a buffer whose strings end at `ends`.
fn nth<'a>(text: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    &text[if i == 0 { 0 } else { ends[i - 1] }..ends[i]]
}

impl Interner {
    /// The string's number, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = text_hash(s);
        let Self {
            table,
            text,
            ends,
            hashes,
        } = self;
        if let Some(&i) = table.find(hash, |&i| nth(text, ends, i) == s) {
            return i;
        }
        let i = u32::try_from(ends.len()).expect("fewer than 2^32 distinct strings");
        table.insert_unique(hash, i, |&i| hashes[i as usize]);
        text.push_str(s);
        ends.push(text.len());
        hashes.push(hash);
        i
    }

    pub fn get(&self, i: u32) -> &str {
        nth(&self.text, &self.ends, i)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Heap bytes held, roughly (the buffer, the ends, the table's slots and control bytes).
    fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + (self.ends.capacity() + self.hashes.capacity()) * 8
            + self.table.capacity() * 5
    }
}

/// No item or text: the `u32` columns' empty value.
const NONE: u32 = u32::MAX;

/// Events as columns: kind, interned item and text (query or category), timestamp. A
/// [`Grouper`] appends to them in arrival order; a [`Dataset`] holds them grouped by user.
#[derive(Debug, Clone, Default)]
struct Columns {
    kinds: Vec<EventKind>,
    items: Vec<u32>,
    texts: Vec<u32>,
    ts: Vec<f64>,
    item_ids: Interner,
    text_values: Interner,
}

impl Columns {
    fn reserve(&mut self, n: usize) {
        self.kinds.reserve(n);
        self.items.reserve(n);
        self.texts.reserve(n);
        self.ts.reserve(n);
    }

    fn event(&self, i: usize) -> Event {
        let kind = self.kinds[i];
        let text = (self.texts[i] != NONE).then(|| self.text_values.get(self.texts[i]).to_owned());
        let (query, category) = match kind {
            EventKind::Category => (None, text),
            _ => (text, None),
        };
        Event {
            kind,
            item_id: (self.items[i] != NONE).then(|| self.item_ids.get(self.items[i]).to_owned()),
            query,
            category,
            ts: self.ts[i],
        }
    }

    /// The rows in `order`, one column at a time, each freed as soon as its reordered copy exists.
    fn reorder(self, order: &[u32]) -> Columns {
        fn gather<T: Copy>(column: Vec<T>, order: &[u32]) -> Vec<T> {
            order.iter().map(|&i| column[i as usize]).collect()
        }
        Columns {
            kinds: gather(self.kinds, order),
            items: gather(self.items, order),
            texts: gather(self.texts, order),
            ts: gather(self.ts, order),
            item_ids: self.item_ids,
            text_values: self.text_values,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.kinds.capacity()
            + (self.items.capacity() + self.texts.capacity()) * 4
            + self.ts.capacity() * 8
            + self.item_ids.heap_bytes()
            + self.text_values.heap_bytes()
    }
}

/// A parsed log, held as compact columns: per event a kind (1 byte), an interned item id and an
/// interned text (query or category) (4 bytes each) and a timestamp (8 bytes), grouped by user
/// (in order of first appearance) and ordered by time within a user, with per-user offsets;
/// ids and texts are stored once. [`Dataset::events`] gives a user's events back as [`Event`]s.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    user_ids: Interner,
    offsets: Vec<usize>,
    events: Columns,
    pub skipped: Skipped,
    /// Data lines (or Parquet rows) read, header excluded.
    pub lines: usize,
    /// Rows of kinds the trainer does not read (GA4's `page_view`, `session_start`, ...).
    pub ignored: usize,
}

impl Dataset {
    /// A log from per-user events, kept in the order given.
    pub fn from_logs(logs: Vec<UserLog>) -> Self {
        let mut g = Grouper::default();
        for log in &logs {
            g.user(&log.user);
            for e in &log.events {
                g.push(&log.user, e);
            }
        }
        g.finish_unsorted(0)
    }

    /// Number of users.
    pub fn users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of events.
    pub fn event_count(&self) -> usize {
        self.events.kinds.len()
    }

    /// User `u`'s id.
    pub fn user_id(&self, u: usize) -> &str {
        self.user_ids.get(u as u32)
    }

    /// Every event's kind (all users).
    pub fn kinds(&self) -> &[EventKind] {
        &self.events.kinds
    }

    /// User `u`'s events, oldest first, as [`Event`]s.
    pub fn events(&self, u: usize) -> impl ExactSizeIterator<Item = Event> + '_ {
        (self.offsets[u]..self.offsets[u + 1]).map(|i| self.events.event(i))
    }

    /// Every user's log (materialised: for tests and small logs).
    pub fn logs(&self) -> Vec<UserLog> {
        (0..self.users())
            .map(|u| UserLog {
                user: self.user_id(u).to_owned(),
                events: self.events(u).collect(),
            })
            .collect()
    }

    /// Heap bytes the log holds, roughly (columns, offsets and the interned strings).
    pub fn heap_bytes(&self) -> usize {
        self.user_ids.heap_bytes() + self.offsets.capacity() * 8 + self.events.heap_bytes()
    }
}

const MAX_EXAMPLES: usize = 5;

pub(crate) struct Reader {
    pub(crate) path: PathBuf,
    skip_bad: bool,
    skipped: Skipped,
}

impl Reader {
    /// Either records a bad line (skip mode) or turns it into the error that stops the read.
    pub(crate) fn bad(&mut self, line: usize, reason: String) -> Result<()> {
        let err = Error::input(&self.path, line, reason);
        if !self.skip_bad {
            return Err(err);
        }
        self.skipped.count += 1;
        if self.skipped.examples.len() < MAX_EXAMPLES {
            self.skipped.examples.push(err.to_string());
        }
        Ok(())
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads a log in the given format. `seq` and `events` read one file; `parquet`, `ga4` and
/// `seq-parquet` also a directory of shards or a glob pattern, as warehouses write them.
pub fn load(path: &Path, format: Format, skip_bad: bool) -> Result<Dataset> {
    match format {
        Format::Seq | Format::Events => parse(&read_bytes(path)?, path, format, skip_bad),
        Format::Parquet | Format::Ga4 | Format::SeqParquet => {
            let mut r = Reader {
                path: path.to_owned(),
                skip_bad,
                skipped: Skipped::default(),
            };
            let mut ds = super::parquet::load(path, format, &mut r)?;
            ds.skipped = r.skipped;
            if ds.users() == 0 {
                return Err(Error::input(path, 0, "no usable events in the input"));
            }
            Ok(ds)
        }
    }
}

/// Parses a log already in memory. `path` names it in messages, and for `events` its extension
/// (`.jsonl`, `.ndjson`, `.json`) selects JSON lines over CSV.
pub fn parse(bytes: &[u8], path: &Path, format: Format, skip_bad: bool) -> Result<Dataset> {
    let mut r = Reader {
        path: path.to_owned(),
        skip_bad,
        skipped: Skipped::default(),
    };
    let mut ds = match format {
        Format::Seq => parse_seq(bytes, &mut r)?,
        Format::Events if is_jsonl(path) => parse_jsonl(bytes, &mut r)?,
        Format::Events => parse_csv(bytes, &mut r)?,
        Format::Ga4 => {
            let mut g = Grouper::default();
            let (lines, ignored) = super::ga4::parse_jsonl(bytes, &mut r, &mut g)?;
            let mut ds = g.finish(lines);
            ds.ignored = ignored;
            ds
        }
        Format::Parquet | Format::SeqParquet => {
            return Err(Error::InvalidArgument(format!(
                "{format:?} is read from files (data::load), not from memory"
            )));
        }
    };
    ds.skipped = r.skipped;
    if ds.users() == 0 {
        return Err(Error::input(path, 0, "no usable events in the file"));
    }
    Ok(ds)
}

fn is_jsonl(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "ndjson" | "json")
    )
}

fn parse_seq(bytes: &[u8], r: &mut Reader) -> Result<Dataset> {
    let mut g = Grouper::default();
    let mut lines = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            r.bad(line, "line is not valid UTF-8".into())?;
            continue;
        };
        let mut fields = text.split_whitespace();
        let Some(user) = fields.next() else { continue };
        let items: Vec<&str> = fields.collect();
        if items.is_empty() {
            r.bad(
                line,
                format!("user {user:?} has no items (expected `user item item ...`)"),
            )?;
            continue;
        }
        if let Some(&first) = seen.get(user) {
            r.bad(
                line,
                format!("user {user:?} already appeared on line {first}"),
            )?;
            continue;
        }
        seen.insert(user.to_owned(), line);
        for (t, item) in items.iter().enumerate() {
            g.push(user, &Event::item(EventKind::Purchase, *item, t as f64));
        }
    }
    Ok(g.finish_unsorted(lines))
}

/// One row of an event log, before validation.
#[derive(Debug, Deserialize)]
struct RawRow {
    user_id: Option<serde_json::Value>,
    timestamp: Option<serde_json::Value>,
    event: Option<String>,
    item_id: Option<serde_json::Value>,
    query: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

/// A JSON string (trimmed, non-empty) or number as text.
pub(crate) fn value_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Adds one JSON row to the log, or reports why it is bad.
fn push_json_row(row: &RawRow, line: usize, r: &mut Reader, g: &mut Grouper) -> Result<()> {
    let (user, ts, item) = (
        value_text(&row.user_id),
        value_text(&row.timestamp),
        value_text(&row.item_id),
    );
    fn text(t: &Option<String>) -> Option<&str> {
        t.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
    let fields = check_fields(
        user.as_deref(),
        Timestamp::Text(ts.as_deref()),
        row.event.as_deref().unwrap_or(""),
        item.as_deref(),
        text(&row.query),
        text(&row.category),
    );
    match fields {
        Ok(f) => {
            g.push_fields(&f);
            Ok(())
        }
        Err(reason) => r.bad(line, reason),
    }
}

/// A timestamp as a row holds it: text to parse (CSV, JSON) or a number (Parquet).
pub(crate) enum Timestamp<'a> {
    Text(Option<&'a str>),
    Number(Option<f64>),
}

/// One checked `events` row, borrowing its text: what [`Grouper::push_fields`] stores.
pub(crate) struct Fields<'a> {
    pub user: &'a str,
    pub kind: EventKind,
    /// The item (item events; a search may name one too).
    pub item: Option<&'a str>,
    /// The query (search) or category path (category).
    pub text: Option<&'a str>,
    pub ts: f64,
}

/// Validates the fields of one `events` row (already trimmed; empty text is None); `Err(reason)`
/// for a bad row. Shared by the CSV, JSON lines and Parquet readers.
pub(crate) fn check_fields<'a>(
    user: Option<&'a str>,
    ts: Timestamp<'_>,
    event: &str,
    item_id: Option<&'a str>,
    query: Option<&'a str>,
    category: Option<&'a str>,
) -> std::result::Result<Fields<'a>, String> {
    let user = user.ok_or("missing user_id")?;
    let ts = match ts {
        Timestamp::Text(None) | Timestamp::Number(None) => return Err("missing timestamp".into()),
        Timestamp::Text(Some(t)) => {
            t.parse()
                .ok()
                .filter(|t: &f64| t.is_finite())
                .ok_or_else(|| {
                    format!("timestamp {t:?} is not a number (unix seconds or milliseconds)")
                })?
        }
        Timestamp::Number(Some(t)) if t.is_finite() => t,
        Timestamp::Number(Some(t)) => return Err(format!("timestamp {t} is not finite")),
    };
    let kind = EventKind::parse(event).map_err(|e| match e {
        Error::BadEvent(m) => m,
        other => other.to_string(),
    })?;
    let (item, text) = match kind {
        EventKind::Search => (item_id, Some(query.ok_or("search event without a query")?)),
        EventKind::Category => (
            None,
            Some(category.ok_or("category event without a category")?),
        ),
        _ => (
            Some(item_id.ok_or_else(|| format!("{} event without an item_id", kind.as_str()))?),
            None,
        ),
    };
    Ok(Fields {
        user,
        kind,
        item,
        text,
        ts,
    })
}

/// Collects rows into a [`Dataset`]: users in order of first appearance, each user's events
/// ordered by timestamp (stable for ties). Rows are appended to flat columns as they come and
/// grouped once at the end (one sort of row numbers, then one column at a time), so memory stays
/// a few dozen bytes per event.
#[derive(Default)]
pub(crate) struct Grouper {
    users: Interner,
    user_of: Vec<u32>,
    events: Columns,
}

impl Grouper {
    /// Registers a user (in order of first appearance) even before any event.
    pub(crate) fn user(&mut self, user: &str) {
        self.users.intern(user);
    }

    /// Makes room for `n` more rows (a Parquet file says how many it has).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.user_of.reserve(n);
        self.events.reserve(n);
    }

    /// Adds a checked row without making an [`Event`] of it: both stages of a split read, on
    /// one thread.
    pub(crate) fn push_fields(&mut self, f: &Fields<'_>) {
        let (mut texts, mut rows) = self.split();
        let row = texts.intern(f);
        rows.push(f.user, &row);
    }

    /// Splits the grouper in two stages: the item and text interners for the stage that checks
    /// rows, the users and columns for the one that appends them (on two threads in a Parquet
    /// read, one after the other in [`Grouper::push_fields`]).
    pub(crate) fn split(&mut self) -> (TextStage<'_>, RowStage<'_>) {
        let Columns {
            kinds,
            items,
            texts,
            ts,
            item_ids,
            text_values,
        } = &mut self.events;
        (
            TextStage {
                item_ids,
                text_values,
            },
            RowStage {
                users: &mut self.users,
                user_of: &mut self.user_of,
                kinds,
                items,
                texts,
                ts,
            },
        )
    }

    /// Adds an [`Event`] (the readers that build events: GA4's mapping, `seq`, tests).
    pub(crate) fn push(&mut self, user: &str, event: &Event) {
        self.push_fields(&Fields {
            user,
            kind: event.kind,
            item: event.item_id.as_deref(),
            text: event.text(),
            ts: event.ts,
        });
    }

    /// The log, each user's events sorted by time.
    pub(crate) fn finish(self, lines: usize) -> Dataset {
        self.group(lines, true)
    }

    /// The log, each user's events in the order pushed.
    fn finish_unsorted(self, lines: usize) -> Dataset {
        self.group(lines, false)
    }

    fn group(self, lines: usize, by_time: bool) -> Dataset {
        let n = self.user_of.len();
        assert!(u32::try_from(n).is_ok(), "fewer than 2^32 events");
        let mut offsets = vec![0usize; self.users.len() + 1];
        for &u in &self.user_of {
            offsets[u as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        // Rows bucketed by user in arrival order (a counting sort: stable, one pass), then each
        // user's rows sorted by time (a stable sort, linear on rows already in order; ties keep
        // their row order).
        let mut order = vec![0u32; n];
        let mut next = offsets[..offsets.len() - 1].to_vec();
        for (row, &u) in self.user_of.iter().enumerate() {
            order[next[u as usize]] = row as u32;
            next[u as usize] += 1;
        }
        drop(next);
        if by_time {
            let ts = &self.events.ts;
            for w in offsets.windows(2) {
                order[w[0]..w[1]].sort_by(|&a, &b| ts[a as usize].total_cmp(&ts[b as usize]));
            }
        }
        Dataset {
            user_ids: self.users,
            offsets,
            events: self.events.reorder(&order),
            skipped: Skipped::default(),
            lines,
            ignored: 0,
        }
    }
}

/// A checked row with its item and text interned, between the two stages of a split read.
pub(crate) struct InternedRow {
    kind: EventKind,
    item: u32,
    text: u32,
    ts: f64,
}

/// The first stage of a split read ([`Grouper::split`]): interns a checked row's item and text.
pub(crate) struct TextStage<'a> {
    item_ids: &'a mut Interner,
    text_values: &'a mut Interner,
}

impl TextStage<'_> {
    pub(crate) fn intern(&mut self, f: &Fields<'_>) -> InternedRow {
        InternedRow {
            kind: f.kind,
            item: f.item.map_or(NONE, |i| self.item_ids.intern(i)),
            text: f.text.map_or(NONE, |t| self.text_values.intern(t)),
            ts: f.ts,
        }
    }
}

/// The second stage of a split read: interns the row's user and appends the row, in order.
pub(crate) struct RowStage<'a> {
    users: &'a mut Interner,
    user_of: &'a mut Vec<u32>,
    kinds: &'a mut Vec<EventKind>,
    items: &'a mut Vec<u32>,
    texts: &'a mut Vec<u32>,
    ts: &'a mut Vec<f64>,
}

impl RowStage<'_> {
    pub(crate) fn push(&mut self, user: &str, row: &InternedRow) {
        self.user_of.push(self.users.intern(user));
        self.kinds.push(row.kind);
        self.items.push(row.item);
        self.texts.push(row.text);
        self.ts.push(row.ts);
    }
}

/// The `events` columns (CSV header, JSON keys, Parquet columns), in this order.
pub(crate) const COLUMNS: [&str; 6] = [
    "user_id",
    "timestamp",
    "event",
    "item_id",
    "query",
    "category",
];

/// Why a table with these columns is not an `events` log: `user_id`, `timestamp`, `event` and
/// one of `item_id` and `query` are needed.
pub(crate) fn missing_columns(has: impl Fn(&str) -> bool) -> Option<String> {
    if let Some(c) = COLUMNS[..3].iter().find(|c| !has(c)) {
        return Some(format!("missing column {c:?}"));
    }
    (!has("item_id") && !has("query")).then(|| "missing columns \"item_id\" and \"query\"".into())
}

fn parse_csv(bytes: &[u8], r: &mut Reader) -> Result<Dataset> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| Error::input(&r.path, 1, format!("cannot read the header: {e}")))?
        .clone();
    let headers: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    if let Some(why) = missing_columns(|c| col(c).is_some()) {
        return Err(Error::input(
            &r.path,
            1,
            format!("{why} (header: {headers:?})"),
        ));
    }
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let mut g = Grouper::default();
    let mut lines = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line() as usize;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                lines += 1;
                r.bad(line.max(2), format!("malformed CSV: {e}"))?;
                continue;
            }
        }
        let line = record.position().map(|p| p.line() as usize).unwrap_or(line);
        lines += 1;
        if record.len() != headers.len() {
            r.bad(
                line,
                format!("{} fields, the header has {}", record.len(), headers.len()),
            )?;
            continue;
        }
        let mut text = Vec::with_capacity(COLUMNS.len());
        for i in &idx {
            let field = i.and_then(|i| record.get(i)).unwrap_or(b"");
            match std::str::from_utf8(field) {
                Ok(s) => text.push(s.trim()),
                Err(_) => break,
            }
        }
        if text.len() < COLUMNS.len() {
            r.bad(line, "field is not valid UTF-8".into())?;
            continue;
        }
        let f = |i: usize| Some(text[i]).filter(|s| !s.is_empty());
        match check_fields(f(0), Timestamp::Text(f(1)), text[2], f(3), f(4), f(5)) {
            Ok(fields) => g.push_fields(&fields),
            Err(reason) => r.bad(line, reason)?,
        }
    }
    Ok(g.finish(lines))
}

fn parse_jsonl(bytes: &[u8], r: &mut Reader) -> Result<Dataset> {
    let mut g = Grouper::default();
    let mut lines = 0;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        if std::str::from_utf8(raw).is_err() {
            r.bad(line, "line is not valid UTF-8".into())?;
            continue;
        }
        let row: RawRow = match serde_json::from_slice(raw) {
            Ok(row) => row,
            Err(e) => {
                r.bad(
                    line,
                    format!("not a JSON object with user_id, timestamp, event: {e}"),
                )?;
                continue;
            }
        };
        push_json_row(&row, line, r, &mut g)?;
    }
    Ok(g.finish(lines))
}

/// One catalogue entry as read from JSON or CSV.
#[derive(Debug, Clone, Deserialize)]
struct CatalogRow {
    item_id: serde_json::Value,
    #[serde(default)]
    title: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    price: Option<f32>,
    #[serde(default)]
    in_stock: Option<serde_json::Value>,
}

fn truthy(v: &Option<serde_json::Value>) -> std::result::Result<bool, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(true),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(serde_json::Value::Number(n)) => Ok(n.as_f64() != Some(0.0)),
        Some(serde_json::Value::String(s)) => match s.trim().to_lowercase().as_str() {
            "" | "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(format!("in_stock {other:?} is not true/false")),
        },
        Some(other) => Err(format!("in_stock {other} is not true/false")),
    }
}

/// Reads a catalogue (`.json` array of objects, or CSV with a header) keyed by item id.
pub fn load_catalog(path: &Path) -> Result<HashMap<String, ItemMeta>> {
    let bytes = read_bytes(path)?;
    let rows: Vec<(usize, CatalogRow)> = if path.extension().is_some_and(|e| e == "json") {
        let rows: Vec<CatalogRow> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::input(
                path,
                e.line(),
                format!("not a JSON array of catalogue items: {e}"),
            )
        })?;
        rows.into_iter().map(|r| (0, r)).collect()
    } else {
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let mut rows = Vec::new();
        for rec in reader.deserialize::<HashMap<String, String>>() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                Error::input(path, line, e.to_string())
            })?;
            let line = rows.len() + 2;
            let get = |k: &str| rec.get(k).cloned().unwrap_or_default();
            let price = match get("price").trim() {
                "" => None,
                p => Some(p.parse::<f32>().map_err(|_| {
                    Error::input(path, line, format!("price {p:?} is not a number"))
                })?),
            };
            let item = get("item_id");
            rows.push((
                line,
                CatalogRow {
                    item_id: serde_json::Value::String(item),
                    title: get("title"),
                    category: get("category"),
                    brand: get("brand"),
                    price,
                    in_stock: rec
                        .get("in_stock")
                        .map(|s| serde_json::Value::String(s.clone())),
                },
            ));
        }
        rows
    };
    let mut out = HashMap::with_capacity(rows.len());
    for (i, (line, row)) in rows.into_iter().enumerate() {
        let line = if line == 0 { i + 1 } else { line };
        let id = value_text(&Some(row.item_id.clone()))
            .ok_or_else(|| Error::input(path, line, "catalogue entry without item_id"))?;
        let in_stock = truthy(&row.in_stock).map_err(|m| Error::input(path, line, m))?;
        if row.price.is_some_and(|p| !p.is_finite() || p < 0.0) {
            return Err(Error::input(
                path,
                line,
                format!("item {id:?} has a negative or invalid price"),
            ));
        }
        let meta = ItemMeta {
            title: row.title,
            category: row.category,
            brand: row.brand,
            price: row.price,
            in_stock,
        };
        if out.insert(id.clone(), meta).is_some() {
            return Err(Error::input(
                path,
                line,
                format!("item {id:?} is listed twice"),
            ));
        }
    }
    Ok(out)
}

/// Reads an attribute map `{"item": [attr, ...]}` (the Beauty `item2attributes` layout).
pub fn load_attributes(path: &Path) -> Result<HashMap<String, Vec<u32>>> {
    let bytes = read_bytes(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::input(
            path,
            e.line(),
            format!("expected {{\"item\": [attribute ids]}}: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn seq_reads_users_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "s.txt", b"1 10 11 12\n2 11 13\n\n");
        let ds = load(&p, Format::Seq, false).unwrap();
        assert_eq!(ds.logs().len(), 2);
        assert_eq!(ds.logs()[0].events.len(), 3);
        assert_eq!(ds.logs()[1].events[1].item_id.as_deref(), Some("13"));
    }

    #[test]
    fn seq_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "s.txt", b"1 10 11\n2\n3 4\n");
        let err = load(&p, Format::Seq, false).unwrap_err().to_string();
        assert!(
            err.ends_with("s.txt:2: user \"2\" has no items (expected `user item item ...`)"),
            "{err}"
        );
        let p = write(&dir, "u.txt", b"1 10 11\n2 \xff\xfe\n");
        let err = load(&p, Format::Seq, false).unwrap_err().to_string();
        assert!(err.contains("u.txt:2: line is not valid UTF-8"), "{err}");
        let ds = load(&p, Format::Seq, true).unwrap();
        assert_eq!(ds.skipped.count, 1);
        assert_eq!(ds.logs().len(), 1);
        assert!(ds.skipped.examples[0].contains("u.txt:2"));
    }

    #[test]
    fn csv_events_sorted_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"user_id,timestamp,event,item_id,query\n\
            u1,20,view,a,\n\
            u1,10,search,,trail shoes\n\
            u2,5,purchase,b,\n\
            u1,30,cart,a,\n";
        let p = write(&dir, "e.csv", body);
        let ds = load(&p, Format::Events, false).unwrap();
        assert_eq!(ds.lines, 4);
        let u1 = &ds.logs()[0];
        assert_eq!(u1.user, "u1");
        let kinds: Vec<_> = u1.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Search, EventKind::View, EventKind::Cart]
        );
        assert_eq!(u1.events[0].query.as_deref(), Some("trail shoes"));
        assert_eq!(u1.events[0].item_id, None);
    }

    #[test]
    fn category_visits_carry_their_path_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"user_id,timestamp,event,item_id,query,category
            u1,1,category,,,hiking/boots
            u1,2,view,a,,
";
        let p = write(&dir, "e.csv", body);
        let ds = load(&p, Format::Events, false).unwrap();
        let e = &ds.logs()[0].events[0];
        assert_eq!((e.kind, e.item_id.as_deref()), (EventKind::Category, None));
        assert_eq!(e.text(), Some("hiking/boots"));
        assert_eq!(
            ds.logs()[0].events[1].text(),
            None,
            "item events carry no text"
        );
        let p = write(
            &dir,
            "e.jsonl",
            br#"{"user_id": "u1", "timestamp": 1, "event": "category", "category": "yoga"}
{"user_id": "u1", "timestamp": 2, "event": "category", "query": "yoga"}
"#,
        );
        let err = load(&p, Format::Events, false).unwrap_err().to_string();
        assert!(
            err.contains("e.jsonl:2: category event without a category"),
            "{err}"
        );
        let ds = load(&p, Format::Events, true).unwrap();
        assert_eq!(ds.logs()[0].events[0].category.as_deref(), Some("yoga"));
    }

    #[test]
    fn csv_rejects_bad_rows_with_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 5] = [
            (
                b"user_id,timestamp,event,item_id,query\nu1,1,click,a,\n",
                "e.csv:2: unknown event type \"click\"",
            ),
            (
                b"user_id,timestamp,event,item_id,query\nu1,1,view,a,\nu1,x,view,a,\n",
                "e.csv:3: timestamp \"x\"",
            ),
            (
                b"user_id,timestamp,event,item_id,query\nu1,1,search,,\n",
                "e.csv:2: search event without a query",
            ),
            (
                b"user_id,timestamp,event,item_id,query\nu1,1,view,,\n",
                "e.csv:2: view event without an item_id",
            ),
            (
                b"user_id,event,item_id\nu1,view,a\n",
                "e.csv:1: missing column \"timestamp\"",
            ),
        ];
        for (body, expected) in cases {
            let p = write(&dir, "e.csv", body);
            let err = load(&p, Format::Events, false).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
        let p = write(
            &dir,
            "e.csv",
            b"user_id,timestamp,event,item_id,query\nu1,1,view,a,\nu1,2,click,a,\nu1,3,view,b,\n",
        );
        let ds = load(&p, Format::Events, true).unwrap();
        assert_eq!(ds.skipped.count, 1);
        assert_eq!(ds.logs()[0].events.len(), 2);
    }

    #[test]
    fn jsonl_events() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "e.jsonl",
            br#"{"user_id": "u1", "timestamp": 2, "event": "view", "item_id": 7}
{"user_id": "u1", "timestamp": 1, "event": "search", "query": "socks"}
not json
"#,
        );
        let err = load(&p, Format::Events, false).unwrap_err().to_string();
        assert!(err.contains("e.jsonl:3:"), "{err}");
        let ds = load(&p, Format::Events, true).unwrap();
        assert_eq!(ds.logs()[0].events[1].item_id.as_deref(), Some("7"));
    }

    #[test]
    fn catalog_json_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "c.json",
            br#"[{"item_id": "a", "title": "A", "category": "x/y", "brand": "B", "price": 9.5, "in_stock": false}]"#,
        );
        let c = load_catalog(&p).unwrap();
        assert_eq!(c["a"].price, Some(9.5));
        assert!(!c["a"].in_stock);
        let p = write(
            &dir,
            "c.csv",
            b"item_id,title,category,brand,price,in_stock\na,A,x,B,3,true\nb,B,x,B,oops,true\n",
        );
        let err = load_catalog(&p).unwrap_err().to_string();
        assert!(err.contains("c.csv:3: price \"oops\""), "{err}");
    }
}
