//! Parquet logs, read as a warehouse writes them: any number of files (one file, a directory of
//! shards, or a glob such as `exports/events_*.parquet`), each streamed a batch of rows at a time
//! with only the columns the trainer reads (column projection), in the codecs Spark, BigQuery and
//! Snowflake write (snappy, zstd, gzip, lz4).
//!
//! Three layouts: the `events` columns ([`Format::Parquet`]), GA4's BigQuery export
//! ([`Format::Ga4`], see [`super::ga4`]; newline-delimited JSON files of the export are read too)
//! and one row per user ([`Format::SeqParquet`]). A bad row is reported as
//! `file:row: reason (row group g)` and stops the read unless bad rows are skipped.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, GenericListArray, RecordBatch, StringArray};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

use super::data::{
    COLUMNS, Dataset, Fields, Format, Grouper, InternedRow, Reader, Timestamp, check_fields,
    missing_columns,
};
use super::ga4::{self, Ga4Item, Ga4Row};

/// Rows per decoded batch: large enough to amortise the per-batch work, small enough that a
/// batch of wide GA4 rows stays a few MB.
const BATCH_ROWS: usize = 8192;

/// Whether the file name ends in one of `extensions` (any case).
fn has_extension(p: &Path, extensions: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The files `path` names: a glob pattern's matches, a directory's files with one of
/// `extensions`, or the file itself; sorted, so shards are read in a stable order.
pub fn files(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let text = path.to_string_lossy();
    let mut out: Vec<PathBuf> = if text.contains(['*', '?', '[']) {
        let paths = glob::glob(&text)
            .map_err(|e| Error::InvalidArgument(format!("bad glob pattern {text:?}: {e}")))?;
        let mut v = Vec::new();
        for p in paths {
            let p = p.map_err(|e| Error::io(e.path().to_owned(), e.into()))?;
            if p.is_file() {
                v.push(p);
            }
        }
        v
    } else if path.is_dir() {
        let mut v = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let p = entry.map_err(|e| Error::io(path, e))?.path();
            // Spark's `_SUCCESS` and `.crc` side files are skipped by the extension test.
            if p.is_file() && has_extension(&p, extensions) {
                v.push(p);
            }
        }
        v
    } else {
        std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        vec![path.to_owned()]
    };
    out.sort();
    if out.is_empty() {
        return Err(Error::input(
            path,
            0,
            format!("no {} files here", extensions.join(" / ")),
        ));
    }
    Ok(out)
}

/// Reads every file of a Parquet (or GA4) log.
pub(crate) fn load(path: &Path, format: Format, r: &mut Reader) -> Result<Dataset> {
    let extensions: &[&str] = match format {
        Format::Ga4 => &["parquet", "json", "jsonl", "ndjson"],
        _ => &["parquet"],
    };
    let mut g = Grouper::default();
    let (mut rows, mut ignored) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for file in files(path, extensions)? {
        r.path = file.clone();
        let is_parquet = has_extension(&file, &["parquet"]);
        match format {
            Format::Ga4 if !is_parquet => {
                let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
                let (n, i) = ga4::parse_jsonl(&bytes, r, &mut g)?;
                rows += n;
                ignored += i;
            }
            Format::Ga4 => {
                let (n, i) = read_file(&file, r, &mut Ga4Columns, &mut g)?;
                rows += n;
                ignored += i;
            }
            Format::Parquet => rows += read_events_file(&file, r, &mut g)?,
            Format::SeqParquet => {
                let mut seq = SeqColumns { seen: &mut seen };
                rows += read_file(&file, r, &mut seq, &mut g)?.0;
            }
            Format::Seq | Format::Events => {
                return Err(Error::InvalidArgument(format!(
                    "{format:?} is not a Parquet layout"
                )));
            }
        }
    }
    let mut ds = g.finish(rows);
    ds.ignored = ignored;
    Ok(ds)
}

/// A layout: which columns to read.
trait Layout {
    /// Whether this leaf column (its path from the root, e.g. `items.list.element.item_id`) is
    /// read.
    fn wants(&self, path: &[String]) -> bool;
    /// Checks the projected schema has what the layout needs.
    fn check(&self, batch_schema: &arrow_schema::Schema) -> std::result::Result<(), String>;
}

/// A layout whose batches become events on one thread.
trait BatchLayout: Layout {
    /// Adds the events of a batch whose first row is row `first` (0-based) of the file.
    /// Returns the rows ignored.
    fn read(
        &mut self,
        batch: &RecordBatch,
        at: &Position<'_>,
        r: &mut Reader,
        g: &mut Grouper,
    ) -> Result<usize>;
}

/// Where a batch is, for error messages: the file, its first row, and the row groups' ends.
struct Position<'a> {
    first: usize,
    group_ends: &'a [usize],
}

impl Position<'_> {
    /// `file:row: reason (row group g)` for row `i` of the batch; the row is 1-based in the file.
    fn line(&self, i: usize) -> (usize, String) {
        let row = self.first + i;
        let group = self.group_ends.partition_point(|&end| end <= row);
        (row + 1, format!(" (row group {group})"))
    }
}

/// A Parquet file opened for `layout`: its batches of projected rows and its row groups' ends.
struct Opened {
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    group_ends: Vec<usize>,
}

fn open(file: &Path, layout: &dyn Layout) -> Result<Opened> {
    let bad_file = |e: &dyn std::fmt::Display| {
        Error::input(file, 0, format!("not a readable Parquet file: {e}"))
    };
    let f = File::open(file).map_err(|e| Error::io(file, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| bad_file(&e))?;
    let leaves: Vec<usize> = builder
        .parquet_schema()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| layout.wants(c.path().parts()))
        .map(|(i, _)| i)
        .collect();
    let mut group_ends = Vec::new();
    let mut end = 0usize;
    for rg in builder.metadata().row_groups() {
        end = end.saturating_add(usize::try_from(rg.num_rows()).unwrap_or(usize::MAX));
        group_ends.push(end);
    }
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad_file(&e))?;
    layout
        .check(&reader_schema(&reader))
        .map_err(|reason| Error::input(file, 0, reason))?;
    Ok(Opened { reader, group_ends })
}

impl Opened {
    fn rows(&self) -> usize {
        self.group_ends.last().copied().unwrap_or(0)
    }
}

/// Reads one Parquet file with `layout`. Returns (rows read, rows ignored).
fn read_file(
    file: &Path,
    r: &mut Reader,
    layout: &mut dyn BatchLayout,
    g: &mut Grouper,
) -> Result<(usize, usize)> {
    let opened = open(file, &*layout)?;
    g.reserve(opened.rows());
    let Opened { reader, group_ends } = opened;
    let (mut rows, mut ignored) = (0usize, 0usize);
    in_two_stages(file, reader, Ok, |batch| {
        let at = Position {
            first: rows,
            group_ends: &group_ends,
        };
        ignored += layout.read(&batch, &at, r, g)?;
        rows += batch.num_rows();
        Ok(())
    })?;
    Ok((rows, ignored))
}

/// Batches decoded ahead of the one being read.
const DECODED_AHEAD: usize = 4;

/// Decodes `file`'s batches and runs `first` on each on a thread of its own, a few batches ahead
/// of `second`, which gets `first`'s results here in file order (both cores busy on one file).
/// A batch that cannot be decoded is an error naming the file and its first row; the first
/// error either stage returns stops both.
fn in_two_stages<T: Send>(
    file: &Path,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    mut first: impl FnMut(RecordBatch) -> Result<T> + Send,
    mut second: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(DECODED_AHEAD);
        scope.spawn(move || {
            let mut decoded = 0usize;
            for batch in reader {
                let out = batch
                    .map_err(|e| {
                        Error::input(file, decoded + 1, format!("cannot decode rows: {e}"))
                    })
                    .and_then(|batch| {
                        decoded += batch.num_rows();
                        first(batch)
                    });
                let failed = out.is_err();
                // The receiver has gone when `second` failed: stop reading.
                if tx.send(out).is_err() || failed {
                    break;
                }
            }
        });
        for out in rx {
            second(out?)?;
        }
        Ok(())
    })
}

/// A batch of `events` rows checked, with items and texts interned, by the first stage of
/// [`read_events_file`]: the users column and, per row, the interned row or why it is bad.
struct CheckedBatch {
    users: Option<StringArray>,
    rows: Vec<std::result::Result<InternedRow, String>>,
}

/// Reads one Parquet file of the `events` columns in two stages on two threads: one decodes
/// batches, checks rows and interns their items and texts; the other interns users and appends
/// rows, in file order. (The two hash tables are most of the work: shoppers and items each
/// number in the hundreds of thousands to millions.) Returns the rows read.
fn read_events_file(file: &Path, r: &mut Reader, g: &mut Grouper) -> Result<usize> {
    let opened = open(file, &EventColumns)?;
    g.reserve(opened.rows());
    let Opened { reader, group_ends } = opened;
    let (mut texts, mut rows_out) = g.split();
    let mut rows = 0usize;
    in_two_stages(
        file,
        reader,
        |batch| {
            let columns = EventBatch::of(&batch)?;
            let rows = (0..batch.num_rows())
                .map(|i| columns.row(i).map(|f| texts.intern(&f)))
                .collect();
            Ok(CheckedBatch {
                users: columns.user,
                rows,
            })
        },
        |CheckedBatch { users, rows: batch }| {
            let at = Position {
                first: rows,
                group_ends: &group_ends,
            };
            for (i, row) in batch.iter().enumerate() {
                match row {
                    Ok(row) => rows_out.push(text_at(&users, i).unwrap_or(""), row),
                    Err(reason) => {
                        let (line, group) = at.line(i);
                        r.bad(line, reason.clone() + &group)?;
                    }
                }
            }
            rows += batch.len();
            Ok(())
        },
    )?;
    Ok(rows)
}

fn reader_schema(
    reader: &parquet::arrow::arrow_reader::ParquetRecordBatchReader,
) -> arrow_schema::Schema {
    use arrow_array::RecordBatchReader;
    reader.schema().as_ref().clone()
}

/// A column as UTF-8 text (numbers become their decimal text), or None if it is absent.
fn text_column(batch: &RecordBatch, name: &str) -> Result<Option<StringArray>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(a) => Ok(Some(as_text(a, name)?)),
    }
}

fn as_text(a: &ArrayRef, name: &str) -> Result<StringArray> {
    let cast = arrow_cast::cast(a, &DataType::Utf8).map_err(|e| {
        Error::InvalidArgument(format!(
            "column {name}: cannot read {} as text: {e}",
            a.data_type()
        ))
    })?;
    Ok(cast.as_string::<i32>().clone())
}

/// A numeric column as f64 (timestamps: their integer value in the column's unit).
fn as_f64(a: &ArrayRef, name: &str) -> Result<arrow_array::Float64Array> {
    let a = if matches!(
        a.data_type(),
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
    ) {
        arrow_cast::cast(a, &DataType::Int64)
            .map_err(|e| Error::InvalidArgument(format!("column {name}: {e}")))?
    } else {
        a.clone()
    };
    let cast = arrow_cast::cast(&a, &DataType::Float64).map_err(|e| {
        Error::InvalidArgument(format!(
            "column {name}: cannot read {} as a number: {e}",
            a.data_type()
        ))
    })?;
    Ok(cast.as_primitive::<Float64Type>().clone())
}

fn text_at(a: &Option<StringArray>, i: usize) -> Option<&str> {
    let a = a.as_ref()?;
    if a.is_null(i) {
        return None;
    }
    Some(a.value(i).trim()).filter(|s| !s.is_empty())
}

/// A list column as `i32` offsets into its values (`LargeList` is narrowed when it fits).
fn list_column(batch: &RecordBatch, name: &str) -> Result<Option<GenericListArray<i32>>> {
    let Some(a) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let list = match a.data_type() {
        DataType::List(_) => a.clone(),
        DataType::LargeList(f) => arrow_cast::cast(a, &DataType::List(f.clone()))
            .map_err(|e| Error::InvalidArgument(format!("column {name}: {e}")))?,
        other => {
            return Err(Error::InvalidArgument(format!(
                "column {name} must be a list, it is {other}"
            )));
        }
    };
    Ok(Some(list.as_list::<i32>().clone()))
}

/// The range of list `list`'s values that row `i` holds (None for a null row).
fn span(list: &GenericListArray<i32>, i: usize) -> Option<std::ops::Range<usize>> {
    let o = list.value_offsets();
    (!list.is_null(i)).then(|| o[i] as usize..o[i + 1] as usize)
}

fn names(schema: &arrow_schema::Schema) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name().as_str()).collect()
}

/// The `events` columns: `user_id, timestamp, event, item_id, query, category`.
struct EventColumns;

impl Layout for EventColumns {
    fn wants(&self, path: &[String]) -> bool {
        path.len() == 1 && COLUMNS.contains(&path[0].as_str())
    }

    fn check(&self, schema: &arrow_schema::Schema) -> std::result::Result<(), String> {
        let have = names(schema);
        match missing_columns(|c| have.contains(&c)) {
            Some(why) => Err(format!(
                "{why} (the file has {have:?} of the events columns)"
            )),
            None => Ok(()),
        }
    }
}

/// A batch's `events` columns as text (the timestamp as a number or as text).
struct EventBatch {
    user: Option<StringArray>,
    event: Option<StringArray>,
    item: Option<StringArray>,
    query: Option<StringArray>,
    category: Option<StringArray>,
    ts_num: Option<arrow_array::Float64Array>,
    ts_text: Option<StringArray>,
}

impl EventBatch {
    fn of(batch: &RecordBatch) -> Result<Self> {
        let col = |n| text_column(batch, n);
        let ts_col = batch.column_by_name("timestamp").expect("checked");
        let ts_num = (!matches!(
            ts_col.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ))
        .then(|| as_f64(ts_col, "timestamp"))
        .transpose()?;
        let ts_text = if ts_num.is_none() {
            Some(as_text(ts_col, "timestamp")?)
        } else {
            None
        };
        Ok(EventBatch {
            user: col("user_id")?,
            event: col("event")?,
            item: col("item_id")?,
            query: col("query")?,
            category: col("category")?,
            ts_num,
            ts_text,
        })
    }

    /// Row `i` checked.
    fn row(&self, i: usize) -> std::result::Result<Fields<'_>, String> {
        let ts = match &self.ts_num {
            Some(a) => Timestamp::Number((!a.is_null(i)).then(|| a.value(i))),
            None => Timestamp::Text(text_at(&self.ts_text, i)),
        };
        check_fields(
            text_at(&self.user, i),
            ts,
            text_at(&self.event, i).unwrap_or(""),
            text_at(&self.item, i),
            text_at(&self.query, i),
            text_at(&self.category, i),
        )
    }
}

/// GA4's BigQuery export schema (the columns [`ga4::map_row`] reads).
struct Ga4Columns;

const GA4_ROOTS: [&str; 4] = ["event_timestamp", "event_name", "user_id", "user_pseudo_id"];
const GA4_ITEM_FIELDS: [&str; 8] = [
    "item_id",
    "item_category",
    "item_category2",
    "item_category3",
    "item_category4",
    "item_category5",
    "item_list_id",
    "item_list_name",
];

impl Layout for Ga4Columns {
    fn wants(&self, path: &[String]) -> bool {
        let (Some(root), Some(leaf)) = (path.first(), path.last()) else {
            return false;
        };
        (path.len() == 1 && GA4_ROOTS.contains(&root.as_str()))
            || (root == "items" && GA4_ITEM_FIELDS.contains(&leaf.as_str()))
            || (root == "event_params" && (leaf == "key" || leaf == "string_value"))
    }

    fn check(&self, schema: &arrow_schema::Schema) -> std::result::Result<(), String> {
        let have = names(schema);
        for c in ["event_timestamp", "event_name"] {
            if !have.contains(&c) {
                return Err(format!(
                    "missing column {c:?}: not a GA4 BigQuery export (it has {have:?})"
                ));
            }
        }
        if !have.contains(&"user_id") && !have.contains(&"user_pseudo_id") {
            return Err("missing columns \"user_id\" and \"user_pseudo_id\"".into());
        }
        Ok(())
    }
}

impl BatchLayout for Ga4Columns {
    fn read(
        &mut self,
        batch: &RecordBatch,
        at: &Position<'_>,
        r: &mut Reader,
        g: &mut Grouper,
    ) -> Result<usize> {
        let ts = as_f64(
            batch.column_by_name("event_timestamp").expect("checked"),
            "event_timestamp",
        )?;
        let name = text_column(batch, "event_name")?;
        let user_id = text_column(batch, "user_id")?;
        let pseudo = text_column(batch, "user_pseudo_id")?;
        // items: list<struct<item_id, item_category, ...>>
        let items = list_column(batch, "items")?;
        let item_fields = match &items {
            Some(list) => {
                let s = list.values().as_struct_opt().ok_or_else(|| {
                    Error::InvalidArgument("column items must be a list of structs".into())
                })?;
                let mut cols = Vec::new();
                for f in GA4_ITEM_FIELDS {
                    cols.push(match s.column_by_name(f) {
                        Some(a) => Some(as_text(a, f)?),
                        None => None,
                    });
                }
                cols
            }
            None => vec![None; GA4_ITEM_FIELDS.len()],
        };
        // event_params: list<struct<key, value: struct<string_value, ...>>>
        let params = list_column(batch, "event_params")?;
        let (keys, values) = match &params {
            Some(list) => {
                let s = list.values().as_struct_opt().ok_or_else(|| {
                    Error::InvalidArgument("column event_params must be a list of structs".into())
                })?;
                let keys = s
                    .column_by_name("key")
                    .map(|a| as_text(a, "event_params.key"))
                    .transpose()?;
                let values = match s.column_by_name("value").and_then(|v| v.as_struct_opt()) {
                    Some(v) => v
                        .column_by_name("string_value")
                        .map(|a| as_text(a, "event_params.value.string_value"))
                        .transpose()?,
                    None => None,
                };
                (keys, values)
            }
            None => (None, None),
        };
        let mut ignored = 0;
        for i in 0..batch.num_rows() {
            let mut row = Ga4Row {
                ts: (!ts.is_null(i)).then(|| ts.value(i)),
                name: text_at(&name, i).map(str::to_owned),
                user_id: text_at(&user_id, i).map(str::to_owned),
                user_pseudo_id: text_at(&pseudo, i).map(str::to_owned),
                ..Ga4Row::default()
            };
            if let Some(js) = params.as_ref().and_then(|l| span(l, i)) {
                for j in js {
                    let value = text_at(&values, j).map(str::to_owned);
                    match text_at(&keys, j) {
                        Some("search_term") => row.search_term = value,
                        Some("item_list_id") => row.list_id = value,
                        Some("item_list_name") => row.list_name = value,
                        _ => {}
                    }
                }
            }
            if let Some(js) = items.as_ref().and_then(|l| span(l, i)) {
                for j in js {
                    let f = |k: usize| text_at(&item_fields[k], j).map(str::to_owned);
                    row.items.push(Ga4Item {
                        id: f(0),
                        categories: [f(1), f(2), f(3), f(4), f(5)],
                        list_id: f(6),
                        list_name: f(7),
                    });
                }
            }
            let (line, group) = at.line(i);
            let mapped = ga4::map_row(&row).map_err(|reason| reason + &group);
            ga4::add(mapped, line, r, g, &mut ignored)?;
        }
        Ok(ignored)
    }
}

/// One row per user: `user_id`, `item_ids` and optionally `kinds`, `timestamps`, `queries`,
/// `categories`, lists of the same length, oldest first. Without `kinds` every event is a
/// purchase (as in the `seq` format); a `search` names its query, a `category` its category.
struct SeqColumns<'a> {
    /// Users read so far (in any file): a second row for one is a bad row.
    seen: &'a mut std::collections::HashSet<String>,
}

const SEQ_LISTS: [&str; 5] = ["item_ids", "kinds", "timestamps", "queries", "categories"];

impl Layout for SeqColumns<'_> {
    fn wants(&self, path: &[String]) -> bool {
        path.first()
            .is_some_and(|root| root == "user_id" || SEQ_LISTS.contains(&root.as_str()))
    }

    fn check(&self, schema: &arrow_schema::Schema) -> std::result::Result<(), String> {
        let have = names(schema);
        for c in ["user_id", "item_ids"] {
            if !have.contains(&c) {
                return Err(format!(
                    "missing column {c:?} (a sequence file has user_id, item_ids and optionally kinds, timestamps, queries, categories; this one has {have:?})"
                ));
            }
        }
        Ok(())
    }
}

impl BatchLayout for SeqColumns<'_> {
    fn read(
        &mut self,
        batch: &RecordBatch,
        at: &Position<'_>,
        r: &mut Reader,
        g: &mut Grouper,
    ) -> Result<usize> {
        let user = text_column(batch, "user_id")?;
        let mut lists = Vec::new();
        for name in SEQ_LISTS {
            lists.push(list_column(batch, name)?);
        }
        let texts = |k: usize, what: &str| -> Result<Option<StringArray>> {
            lists[k]
                .as_ref()
                .map(|l| as_text(l.values(), what))
                .transpose()
        };
        let (items, kinds, queries, categories) = (
            texts(0, "item_ids")?,
            texts(1, "kinds")?,
            texts(3, "queries")?,
            texts(4, "categories")?,
        );
        let stamps = lists[2]
            .as_ref()
            .map(|l| as_f64(l.values(), "timestamps"))
            .transpose()?;
        'rows: for i in 0..batch.num_rows() {
            let (line, group) = at.line(i);
            let Some(u) = text_at(&user, i) else {
                r.bad(line, format!("missing user_id{group}"))?;
                continue;
            };
            let spans: Vec<Option<std::ops::Range<usize>>> = lists
                .iter()
                .map(|l| l.as_ref().and_then(|l| span(l, i)))
                .collect();
            let Some(start) = spans[0].as_ref().map(|s| s.start) else {
                r.bad(line, format!("user {u:?} has no item_ids{group}"))?;
                continue;
            };
            let n = spans[0].as_ref().map_or(0, |s| s.len());
            for (k, name) in SEQ_LISTS.iter().enumerate().skip(1) {
                if let Some(s) = &spans[k]
                    && s.len() != n
                {
                    r.bad(
                        line,
                        format!("{name} has {} entries, item_ids {n}{group}", s.len()),
                    )?;
                    continue 'rows;
                }
            }
            // The whole row is checked before any of it is kept.
            let mut events = Vec::with_capacity(n);
            for j in 0..n {
                let at_list = |k: usize| spans[k].as_ref().map(|s| s.start + j);
                let kind = at_list(1)
                    .and_then(|p| text_at(&kinds, p))
                    .unwrap_or("purchase");
                let ts = match (at_list(2), &stamps) {
                    (Some(p), Some(a)) if !a.is_null(p) => Timestamp::Number(Some(a.value(p))),
                    (Some(_), Some(_)) => Timestamp::Number(None),
                    // Without timestamps the list order is the time order.
                    _ => Timestamp::Number(Some(j as f64)),
                };
                let row = check_fields(
                    Some(u),
                    ts,
                    kind,
                    text_at(&items, start + j),
                    at_list(3).and_then(|p| text_at(&queries, p)),
                    at_list(4).and_then(|p| text_at(&categories, p)),
                );
                match row {
                    Ok(f) => events.push(f),
                    Err(reason) => {
                        r.bad(line, format!("event {}: {reason}{group}", j + 1))?;
                        continue 'rows;
                    }
                }
            }
            if events.is_empty() {
                r.bad(line, format!("user {u:?} has no items{group}"))?;
                continue;
            }
            if !self.seen.insert(u.to_owned()) {
                r.bad(line, format!("user {u:?} has a second row{group}"))?;
                continue;
            }
            for f in &events {
                g.push_fields(f);
            }
        }
        Ok(0)
    }
}

/// Writes rows of the `events` columns (`user_id, timestamp, event, item_id, query`) to a
/// Parquet file, snappy-compressed, a row group every `rows_per_group` rows: what `localrec
/// synth --also parquet` and the ingest benchmark write, and `--format parquet` reads.
pub struct EventsWriter {
    path: PathBuf,
    schema: arrow_schema::SchemaRef,
    writer: parquet::arrow::ArrowWriter<File>,
    user: arrow_array::builder::StringBuilder,
    ts: arrow_array::builder::Int64Builder,
    event: arrow_array::builder::StringBuilder,
    item: arrow_array::builder::StringBuilder,
    query: arrow_array::builder::StringBuilder,
    pending: usize,
}

/// Rows buffered before they are handed to the Parquet writer.
const WRITE_BATCH_ROWS: usize = 65_536;

impl EventsWriter {
    pub fn create(path: &Path, rows_per_group: usize) -> Result<Self> {
        use std::sync::Arc;

        use arrow_schema::{Field, Schema};
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;

        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let schema = Arc::new(Schema::new(vec![
            text("user_id"),
            Field::new("timestamp", DataType::Int64, true),
            text("event"),
            text("item_id"),
            text("query"),
        ]));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(rows_per_group.max(1)))
            .build();
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        Ok(EventsWriter {
            path: path.to_owned(),
            schema,
            writer,
            user: Default::default(),
            ts: Default::default(),
            event: Default::default(),
            item: Default::default(),
            query: Default::default(),
            pending: 0,
        })
    }

    pub fn push(
        &mut self,
        user: &str,
        ts: i64,
        kind: crate::event::EventKind,
        item: Option<&str>,
        query: Option<&str>,
    ) -> Result<()> {
        self.user.append_value(user);
        self.ts.append_value(ts);
        self.event.append_value(kind.as_str());
        self.item.append_option(item);
        self.query.append_option(query);
        self.pending += 1;
        if self.pending == WRITE_BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        self.pending = 0;
        let columns: Vec<ArrayRef> = vec![
            std::sync::Arc::new(self.user.finish()),
            std::sync::Arc::new(self.ts.finish()),
            std::sync::Arc::new(self.event.finish()),
            std::sync::Arc::new(self.item.finish()),
            std::sync::Arc::new(self.query.finish()),
        ];
        let fail =
            |e: &dyn std::fmt::Display| Error::io(&self.path, std::io::Error::other(e.to_string()));
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| fail(&e))?;
        self.writer.write(&batch).map_err(|e| fail(&e))
    }

    /// Writes what is buffered and the file's footer.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        let path = self.path.clone();
        self.writer
            .close()
            .map(drop)
            .map_err(|e| Error::io(path, std::io::Error::other(e)))
    }
}

/// Writes a log as one Parquet row per user (the layout [`Format::SeqParquet`] reads): `user_id`
/// and the lists `item_ids`, `kinds`, `timestamps` (f64, the log's own unit), `queries` and
/// `categories`, one entry per event, oldest first (null where an event has no such field),
/// zstd-compressed, a row group every `users_per_group` users. What `localrec prepare` writes:
/// the log grouped and ordered once, read back without regrouping. Returns the users written.
pub fn write_sequences(ds: &Dataset, path: &Path, users_per_group: usize) -> Result<usize> {
    use std::sync::Arc;

    use arrow_array::builder::{Float64Builder, ListBuilder, StringBuilder};
    use arrow_schema::{Field, Schema};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    let fail = |e: &dyn std::fmt::Display| Error::io(path, std::io::Error::other(e.to_string()));
    let item = |t: DataType| Arc::new(Field::new("element", t, true));
    let list = |name: &str, t: DataType| Field::new(name, DataType::List(item(t)), true);
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        list("item_ids", DataType::Utf8),
        list("kinds", DataType::Utf8),
        list("timestamps", DataType::Float64),
        list("queries", DataType::Utf8),
        list("categories", DataType::Utf8),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(users_per_group.max(1)))
        .build();
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))
        .map_err(|e| fail(&e))?;
    let texts = || ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8));
    let mut users = StringBuilder::new();
    let (mut items, mut kinds, mut queries, mut categories) = (texts(), texts(), texts(), texts());
    let mut stamps = ListBuilder::new(Float64Builder::new()).with_field(item(DataType::Float64));
    for u in 0..ds.users() {
        users.append_value(ds.user_id(u));
        for e in ds.events(u) {
            items.values().append_option(e.item_id.as_deref());
            kinds.values().append_value(e.kind.as_str());
            stamps.values().append_value(e.ts);
            queries.values().append_option(e.query.as_deref());
            categories.values().append_option(e.category.as_deref());
        }
        items.append(true);
        kinds.append(true);
        stamps.append(true);
        queries.append(true);
        categories.append(true);
        if (u + 1) % WRITE_BATCH_USERS == 0 || u + 1 == ds.users() {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(users.finish()),
                Arc::new(items.finish()),
                Arc::new(kinds.finish()),
                Arc::new(stamps.finish()),
                Arc::new(queries.finish()),
                Arc::new(categories.finish()),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| fail(&e))?;
            writer.write(&batch).map_err(|e| fail(&e))?;
        }
    }
    writer.close().map_err(|e| fail(&e))?;
    Ok(ds.users())
}

/// Users buffered before they are handed to the Parquet writer.
const WRITE_BATCH_USERS: usize = 16_384;
