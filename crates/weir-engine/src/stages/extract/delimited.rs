//! DelimitedExtract: CSV-like text files to a view of string columns (`_c0`, `_c1`… or the
//! header's names), plus `_filename` and `_index`. Files are streamed, never loaded whole.
//!
//! With `inputView` the text is a string column of that view (`inputField`, else its only
//! column, else `value`), each row's text one or more lines of CSV, read as Spark's
//! `csv(Dataset[String])` reads it: blank rows are skipped and, with `header`, the first row
//! names the columns and every row equal to it is dropped. `_filename` is then empty (Spark's
//! `input_file_name()` without a file) and `_index` numbers the rows from 1.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::csv::reader::{Format, ReaderBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::extract::source::{self, DecoderFactory, IndexColumn, TextInput};
use crate::stages::schema_source::ReadSchema;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `DelimitedExtract` configuration.
#[derive(Debug, Clone)]
pub struct DelimitedExtract {
    input: TextInput,
    output_view: String,
    delimiter: u8,
    quote: Option<u8>,
    header: bool,
    escape: Option<u8>,
    index: IndexColumn,
    /// `schemaURI`/`schemaView`: the columns of an empty result.
    schema: ReadSchema,
    common: ViewCommon,
}

fn single_byte(text: &str) -> Option<u8> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Some(c as u8),
        _ => None,
    }
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input = TextInput::read(c);
    let output_view = c.required_string("outputView");
    let delimiter = crate::stages::read_delimiter(c);
    let quote =
        c.choice("quote", &[("DoubleQuote", Some(b'"')), ("SingleQuote", Some(b'\'')), ("None", None)], Some(b'"'));
    let header = c.bool_or("header", false);
    let escape = match c.string("escape") {
        None => Some(b'\\'),
        Some(e) if e.is_empty() => None,
        Some(e) => match single_byte(&e) {
            Some(b) => Some(b),
            None => {
                c.error("escape", "'escape' must be one ASCII character.");
                None
            }
        },
    };
    if c.bool_or("multiLine", false) {
        // Quoted values spanning lines are always supported by the decoder.
    }
    let index = IndexColumn::read(c);
    let schema = ReadSchema::read(c);
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("watermark") {
        c.error("watermark", "Streaming ('watermark') is not supported by Weir.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(DelimitedExtract {
        input: input?,
        output_view: output_view?,
        delimiter: delimiter?,
        quote: quote?,
        header,
        escape,
        index,
        schema,
        common,
    }))
}

impl DelimitedExtract {
    fn format(&self) -> Format {
        let mut format = Format::default().with_header(self.header).with_delimiter(self.delimiter);
        // Spark's `quote: None` uses NUL as the quote character.
        format = format.with_quote(self.quote.unwrap_or(0));
        if let Some(e) = self.escape {
            format = format.with_escape(e);
        }
        format
    }

    /// Column names: the header of the first file, or `_c0.._cN` from its first record. Reads
    /// the file only as far as the end of its first record (however long it is).
    async fn data_schema(&self, session: &Session, first: &crate::storage::FileEntry) -> Result<SchemaRef, StageError> {
        let head = self.first_record(session, first).await?;
        self.schema_of_first_record(&head, &first.url.to_string())
    }

    /// The columns named by (or as many as in) a first record.
    fn schema_of_first_record(&self, head: &[u8], label: &str) -> Result<SchemaRef, StageError> {
        let (inferred, _) = self
            .format()
            .with_header(self.header)
            .infer_schema(std::io::Cursor::new(head), Some(1))
            .map_err(|e| StageError::msg(format!("{label}: {e}")))?;
        let fields: Vec<Field> = inferred
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Field::new(if self.header { f.name().clone() } else { format!("_c{i}") }, DataType::Utf8, true)
            })
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }

    fn scanner(&self) -> QuoteScanner {
        QuoteScanner::new(self.delimiter, self.quote, self.escape)
    }

    /// The bytes of a file up to the end of its first non-empty record, streamed.
    async fn first_record(&self, session: &Session, file: &crate::storage::FileEntry) -> Result<Vec<u8>, StageError> {
        use futures::StreamExt;
        let fail = |e: String| StageError::msg(format!("{}: {e}", file.url));
        let mut bytes = crate::compression::open(&session.storage, &file.url).await?;
        let mut scanner = self.scanner();
        let mut head = Vec::new();
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk.map_err(|e| fail(e.to_string()))?;
            if let Some(end) = scanner.feed(&chunk) {
                head.extend_from_slice(&chunk[..end]);
                return Ok(head);
            }
            head.extend_from_slice(&chunk);
            if head.len() > MAX_FIRST_RECORD {
                return Err(fail(format!(
                    "the first record is longer than {} MiB{}",
                    MAX_FIRST_RECORD >> 20,
                    scanner
                        .open_quote_line()
                        .map(|l| format!(" (a quoted field opened on line {l} is never closed)"))
                        .unwrap_or_default()
                )));
            }
        }
        Ok(head)
    }

    /// The columns of `schemaURI`/`schemaView` (for an empty result), as all-string columns.
    async fn fallback_schema(&self, session: &Session) -> Result<Option<SchemaRef>, StageError> {
        let Some(fields) = self.schema.specs(session).await? else { return Ok(None) };
        Ok(Some(Arc::new(Schema::new(
            fields.iter().map(|f| Field::new(&f.name, DataType::Utf8, true)).collect::<Vec<_>>(),
        ))))
    }
}

impl DelimitedExtract {
    /// A decoder per scan: the record width trimmed to the columns' (counting records wider or
    /// narrower), the header line skipped when `skip_header`.
    fn decoder_factory(&self, data_schema: SchemaRef, widths: Arc<RecordWidths>, skip_header: bool) -> DecoderFactory {
        let config = self.clone();
        Arc::new(move || {
            let scanner = config.scanner();
            let trimmer = FieldTrimmer::new(data_schema.fields().len(), &config, widths.clone());
            let mut builder = ReaderBuilder::new(data_schema.clone())
                .with_header(skip_header)
                .with_delimiter(config.delimiter)
                .with_quote(config.quote.unwrap_or(0))
                .with_truncated_rows(true)
                .with_batch_size(8192);
            if let Some(e) = config.escape {
                builder = builder.with_escape(e);
            }
            Ok(Box::new(CheckedDecoder { inner: builder.build_decoder(), scanner, trimmer, pending: Vec::new() }))
        })
    }

    /// No data: an empty view of the `schemaURI` columns, or Arc's error.
    async fn empty(&self, session: &Session, error: String) -> Result<Outcome, StageError> {
        let Some(schema) = self.fallback_schema(session).await? else {
            return Err(StageError::msg(error));
        };
        let table =
            source::file_table(&session.storage, Vec::new(), schema, Arc::new(unreachable_decoder), self.index)?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }

    /// Registers the view, with the record width counts when the stage read the data itself
    /// (`persist`, or counting every view).
    async fn register(
        &self,
        session: &Session,
        table: Arc<dyn datafusion::catalog::TableProvider>,
        widths: &RecordWidths,
    ) -> Result<Outcome, StageError> {
        let df = session.ctx.read_table(table)?;
        let mut outcome = self.common.register(session, &self.output_view, df).await?;
        if outcome.rows.is_some() {
            let (extra, missing) = widths.get();
            outcome.detail.insert("recordsWithExtraFields".into(), extra.into());
            outcome.detail.insert("recordsWithMissingFields".into(), missing.into());
        }
        Ok(outcome)
    }

    async fn execute_files(&self, session: &Session, input_uri: &str) -> Result<Outcome, StageError> {
        let files = match session.storage.list_files(input_uri).await? {
            Some(files) if !files.is_empty() => files,
            None => {
                let error = format!(
                    "Path '{input_uri}' does not exist and no schema has been provided to create an empty dataframe."
                );
                return self.empty(session, error).await;
            }
            Some(_) => {
                let error = format!(
                    "No files matched '{input_uri}' and no schema has been provided to create an empty dataframe."
                );
                return self.empty(session, error).await;
            }
        };
        let data_schema = self.data_schema(session, &files[0]).await?;
        if data_schema.fields().is_empty() {
            return Err(StageError::msg(format!(
                "Input '{input_uri}' does not contain any fields and no schema has been provided to create an empty dataframe."
            )));
        }
        let widths = Arc::new(RecordWidths::default());
        let factory = self.decoder_factory(data_schema.clone(), widths.clone(), self.header);
        let table = source::file_table(&session.storage, files, data_schema, factory, self.index)?;
        self.register(session, Arc::new(table), &widths).await
    }

    /// The text of a view's column, read as Spark's `csv(Dataset[String])` reads it.
    async fn execute_view(&self, session: &Session, view: &str, field: Option<&str>) -> Result<Outcome, StageError> {
        let text = source::view_text(session, "DelimitedExtract", view, field).await?;
        // Spark skips blank lines (Java's `trim`: every character up to the space).
        let not_blank = |s: &str| !s.trim_matches(|c: char| c <= ' ').is_empty();
        let Some(first) = source::first_text(&text, &not_blank).await? else {
            let error =
                "DelimitedExtract has produced 0 columns and no schema has been provided to create an empty dataframe.";
            return self.empty(session, error.to_string()).await;
        };
        let data_schema = self.schema_of_first_record(first.as_bytes(), &format!("inputView '{view}'"))?;
        // With a header, every line equal to the first is a header line and is dropped.
        let keep: source::KeepText = match self.header {
            true => Arc::new(move |s: &str| not_blank(s) && s != first),
            false => Arc::new(not_blank),
        };
        let widths = Arc::new(RecordWidths::default());
        let factory = self.decoder_factory(data_schema.clone(), widths.clone(), false);
        let table = source::view_table(text, view, data_schema, factory, keep, self.index)?;
        self.register(session, Arc::new(table), &widths).await
    }
}

#[async_trait]
impl Stage for DelimitedExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "outputView" => self.output_view,
            "delimiter" => (self.delimiter as char).to_string(),
            "header" => self.header,
            "contiguousIndex" => (self.index == IndexColumn::Contiguous),
        };
        self.input.detail(&mut m);
        self.schema.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.schema.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        match &self.input {
            TextInput::Uri(uri) => self.execute_files(session, uri).await,
            TextInput::View { view, field } => self.execute_view(session, view, field.as_deref()).await,
        }
    }
}

/// Schema inference refuses a first record longer than this (a stray quote would otherwise
/// make it read the whole file).
const MAX_FIRST_RECORD: usize = 256 << 20;

/// Follows a CSV byte stream as the decoder parses it (fields, quoted fields with doubled
/// quotes and escapes, lines), to find where records end and which line an unclosed quote
/// opened on. Quotes open a quoted field only at the start of a field, as in the decoder.
#[derive(Debug, Clone)]
struct QuoteScanner {
    delimiter: u8,
    special: SpecialBytes,
    quoted: QuotedField,
    line: u64,
    quote_line: u64,
    field_start: bool,
    record_has_content: bool,
}

/// The bytes that can change a CSV reader's state outside a quoted field (delimiter, line
/// breaks, the quote): runs of other bytes are skipped, or copied, in one step.
#[derive(Debug, Clone)]
struct SpecialBytes([bool; 256]);

impl SpecialBytes {
    fn new(delimiter: u8, quote: Option<u8>) -> Self {
        let mut table = [false; 256];
        for b in [delimiter, b'\n', b'\r'].into_iter().chain(quote.filter(|q| *q != 0)) {
            table[b as usize] = true;
        }
        SpecialBytes(table)
    }

    /// The index of the first special byte of `bytes` at or after `from` (or its length).
    #[inline]
    fn next(&self, bytes: &[u8], from: usize) -> usize {
        bytes[from..].iter().position(|b| self.0[*b as usize]).map_or(bytes.len(), |i| from + i)
    }
}

/// Where a quoted field stands, byte by byte (doubled quotes and escapes as the decoder reads
/// them).
#[derive(Debug, Clone)]
struct QuotedField {
    quote: Option<u8>,
    escape: Option<u8>,
    /// Inside a quoted field.
    open: bool,
    quote_pending: bool,
    escape_pending: bool,
}

impl QuotedField {
    fn new(quote: Option<u8>, escape: Option<u8>) -> Self {
        QuotedField {
            quote: quote.filter(|q| *q != 0),
            escape,
            open: false,
            quote_pending: false,
            escape_pending: false,
        }
    }

    /// Whether the quote character opens a quoted field here.
    fn opens(&self, b: u8) -> bool {
        Some(b) == self.quote
    }

    /// Takes byte `b` of an open quoted field; whether the field is still open after it (when
    /// not, `b` is the first byte after the field and is read as outside it).
    fn inside(&mut self, b: u8) -> bool {
        if self.escape_pending {
            self.escape_pending = false;
        } else if self.quote_pending {
            self.quote_pending = false;
            if Some(b) != self.quote {
                self.open = false;
            }
        } else if Some(b) == self.quote {
            self.quote_pending = true;
        } else if Some(b) == self.escape {
            self.escape_pending = true;
        }
        self.open
    }
}

impl QuoteScanner {
    fn new(delimiter: u8, quote: Option<u8>, escape: Option<u8>) -> Self {
        QuoteScanner {
            delimiter,
            special: SpecialBytes::new(delimiter, quote),
            quoted: QuotedField::new(quote, escape),
            line: 1,
            quote_line: 0,
            field_start: true,
            record_has_content: false,
        }
    }

    /// Consumes bytes; returns the offset just after the first non-empty record that ends in them.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut end = None;
        let mut i = 0;
        while i < bytes.len() {
            if !self.quoted.open {
                // Ordinary bytes only make the field non-empty.
                let next = self.special.next(bytes, i);
                if next > i {
                    self.record_has_content = true;
                    self.field_start = false;
                    i = next;
                    continue;
                }
            }
            let b = bytes[i];
            i += 1;
            if self.quoted.open {
                if self.quoted.inside(b) {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    if self.record_has_content && end.is_none() {
                        end = Some(i);
                    }
                    self.record_has_content = false;
                    self.field_start = true;
                }
                _ if b == self.delimiter => {
                    self.record_has_content = true;
                    self.field_start = true;
                }
                _ if self.field_start && self.quoted.opens(b) => {
                    self.quoted.open = true;
                    self.quote_line = self.line;
                    self.record_has_content = true;
                    self.field_start = false;
                }
                _ => {
                    self.record_has_content = true;
                    self.field_start = false;
                }
            }
        }
        end
    }

    /// The line a quoted field still open was opened on.
    fn open_quote_line(&self) -> Option<u64> {
        (self.quoted.open && !self.quoted.quote_pending).then_some(self.quote_line)
    }
}

/// Spark's permissive CSV parsing of record widths: a record with more fields than the header
/// keeps the header's columns (the extra fields are dropped here, before the decoder sees
/// them); one with fewer gets NULLs (the decoder's truncated rows). Counts both kinds.
#[derive(Debug, Clone)]
struct FieldTrimmer {
    width: usize,
    delimiter: u8,
    special: SpecialBytes,
    quoted: QuotedField,
    fields: usize,
    dropping: bool,
    field_start: bool,
    record_has_content: bool,
    counts: Arc<RecordWidths>,
}

/// How many records had more, or fewer, fields than the header (shared by a view's scans).
#[derive(Debug, Default)]
pub struct RecordWidths {
    extra: std::sync::atomic::AtomicU64,
    missing: std::sync::atomic::AtomicU64,
}

impl RecordWidths {
    fn add(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn get(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.extra.load(Relaxed), self.missing.load(Relaxed))
    }
}

impl FieldTrimmer {
    fn new(width: usize, config: &DelimitedExtract, counts: Arc<RecordWidths>) -> Self {
        FieldTrimmer {
            width: width.max(1),
            delimiter: config.delimiter,
            special: SpecialBytes::new(config.delimiter, config.quote),
            quoted: QuotedField::new(config.quote, config.escape),
            fields: 1,
            dropping: false,
            field_start: true,
            record_has_content: false,
            counts,
        }
    }

    /// Appends to `out` the bytes of `input` the decoder should see.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        let mut i = 0;
        while i < input.len() {
            if !self.quoted.open {
                // A run of ordinary bytes: copied (unless dropped), the field is not empty.
                let next = self.special.next(input, i);
                if next > i {
                    if !self.dropping {
                        out.extend_from_slice(&input[i..next]);
                    }
                    self.record_has_content = true;
                    self.field_start = false;
                    i = next;
                    continue;
                }
            }
            let b = input[i];
            i += 1;
            if self.quoted.open {
                if self.quoted.inside(b) {
                    if !self.dropping {
                        out.push(b);
                    }
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    if self.record_has_content && !self.dropping && self.fields < self.width {
                        RecordWidths::add(&self.counts.missing);
                    }
                    self.record_has_content = false;
                    self.field_start = true;
                    self.fields = 1;
                    self.dropping = false;
                    out.push(b);
                }
                _ if b == self.delimiter => {
                    self.record_has_content = true;
                    self.field_start = true;
                    if self.fields < self.width {
                        self.fields += 1;
                        out.push(b);
                    } else if !self.dropping {
                        self.dropping = true;
                        RecordWidths::add(&self.counts.extra);
                    }
                }
                _ => {
                    if self.field_start && self.quoted.opens(b) {
                        self.quoted.open = true;
                    }
                    self.record_has_content = true;
                    self.field_start = false;
                    if !self.dropping {
                        out.push(b);
                    }
                }
            }
        }
    }

    /// The end of the input ends a last record without a line break.
    fn finish(&mut self) {
        if self.record_has_content && !self.dropping && self.fields < self.width {
            RecordWidths::add(&self.counts.missing);
        }
        self.record_has_content = false;
    }
}

/// The CSV decoder behind a [`FieldTrimmer`], refusing an unterminated quoted field at the end
/// of the file instead of silently merging every following line into it.
struct CheckedDecoder {
    inner: datafusion::arrow::csv::reader::Decoder,
    scanner: QuoteScanner,
    trimmer: FieldTrimmer,
    /// Trimmed bytes the decoder has not taken yet (its batch was full).
    pending: Vec<u8>,
}

impl CheckedDecoder {
    /// Feeds pending bytes; whether all were taken.
    fn drain(&mut self) -> Result<bool, datafusion::arrow::error::ArrowError> {
        let used = self.inner.decode(&self.pending)?;
        self.pending.drain(..used);
        Ok(self.pending.is_empty())
    }
}

impl source::ChunkDecoder for CheckedDecoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, datafusion::arrow::error::ArrowError> {
        if !self.pending.is_empty() && !self.drain()? {
            return Ok(0);
        }
        if buf.is_empty() {
            if let Some(line) = self.scanner.open_quote_line() {
                return Err(datafusion::arrow::error::ArrowError::CsvError(format!(
                    "unterminated quoted field: the quote opened on line {line} is never closed (every following line would be merged into one value)"
                )));
            }
            self.trimmer.finish();
            return self.inner.decode(&[]);
        }
        self.scanner.feed(buf);
        self.trimmer.feed(buf, &mut self.pending);
        self.drain()?;
        Ok(buf.len())
    }
    fn flush(
        &mut self,
    ) -> Result<Option<datafusion::arrow::record_batch::RecordBatch>, datafusion::arrow::error::ArrowError> {
        self.inner.flush()
    }
}

/// The empty table never decodes anything.
fn unreachable_decoder() -> Result<Box<dyn source::ChunkDecoder>, datafusion::arrow::error::ArrowError> {
    Err(datafusion::arrow::error::ArrowError::InvalidArgumentError("no files to decode".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventLog;
    use crate::session::Settings;
    use crate::storage::Storage;
    use datafusion::arrow::util::pretty::pretty_format_batches;

    async fn extract(dir: &std::path::Path, job: serde_json::Value) -> Result<String, String> {
        let session = Session::new(Storage::default(), Settings::default(), EventLog::default());
        let text = job.to_string().replace("DIR", &dir.display().to_string());
        let doc = weir_config::hocon::parse(&text).unwrap().resolve_all(&Default::default()).unwrap();
        let mut c = StageConfig::new(&doc);
        let stage = build(&mut c).ok_or("invalid")?;
        c.finish().map_err(|e| format!("{e:?}"))?;
        stage.execute(&session).await.map_err(|e| e.to_string())?;
        let df = session.sql("SELECT * FROM out ORDER BY _filename, _index").await.map_err(|e| e.to_string())?;
        let batches = df.collect().await.map_err(|e| e.to_string())?;
        Ok(pretty_format_batches(&batches).unwrap().to_string().replace(&dir.display().to_string(), ""))
    }

    #[tokio::test]
    async fn reads_strings_with_internal_columns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "1,\"x, y\",,z\n2,b,c\n").unwrap();
        std::fs::write(dir.path().join("b.csv"), "3,d,e,f").unwrap();
        let out = extract(dir.path(), serde_json::json!({"inputURI": "DIR/*.csv", "outputView": "out"})).await.unwrap();
        let expected = "\
+-----+------+-----+-----+--------------+--------+
| _c0 | _c1  | _c2 | _c3 | _filename    | _index |
+-----+------+-----+-----+--------------+--------+
| 1   | x, y |     | z   | file:///a.csv | 1      |
| 2   | b    | c   |     | file:///a.csv | 2      |
| 3   | d    | e   | f   | file:///b.csv | 1      |
+-----+------+-----+-----+--------------+--------+";
        let rows = |t: &str| -> Vec<String> {
            t.lines().filter(|l| !l.starts_with('+')).map(|l| l.replace(' ', "")).collect()
        };
        assert_eq!(rows(&out), rows(expected));
    }

    #[tokio::test]
    async fn header_pipe_and_no_quote() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("h.txt"), "id|name\n1|\"q\"\n").unwrap();
        let out = extract(
            dir.path(),
            serde_json::json!({"inputURI": "DIR/h.txt", "outputView": "out", "delimiter": "Pipe", "header": true, "quote": "None"}),
        )
        .await
        .unwrap();
        assert!(out.contains("| id | name |"), "{out}");
        assert!(out.contains("\"q\""), "quotes kept with quote None: {out}");
    }

    #[tokio::test]
    async fn missing_paths_name_the_glob() {
        let dir = tempfile::tempdir().unwrap();
        let err = extract(dir.path(), serde_json::json!({"inputURI": "DIR/none/*.csv", "outputView": "out"}))
            .await
            .unwrap_err();
        assert!(
            err.starts_with("Path '")
                && err.ends_with("does not exist and no schema has been provided to create an empty dataframe."),
            "{err}"
        );
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let err =
            extract(dir.path(), serde_json::json!({"inputURI": "DIR/empty", "outputView": "out"})).await.unwrap_err();
        assert!(err.starts_with("No files matched"), "{err}");
    }

    #[tokio::test]
    async fn unterminated_quote_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("q.csv"), "1,a\n2,\"b\n3,c\n4,d\n").unwrap();
        let err =
            extract(dir.path(), serde_json::json!({"inputURI": "DIR/q.csv", "outputView": "out"})).await.unwrap_err();
        assert!(err.contains("/q.csv") && err.contains("quote opened on line 2 is never closed"), "{err}");
        // Quoted fields spanning lines, doubled and escaped quotes are still fine.
        std::fs::write(dir.path().join("q.csv"), "1,\"b\n\"\"x\\\"\"\n2,c\n").unwrap();
        let out = extract(dir.path(), serde_json::json!({"inputURI": "DIR/q.csv", "outputView": "out"})).await.unwrap();
        assert!(out.contains("| 2   | c "), "{out}");
    }

    #[tokio::test]
    async fn first_record_longer_than_a_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(3 << 20);
        std::fs::write(dir.path().join("h.csv"), format!("id,text,tail\n1,{long},end\n2,short,z\n")).unwrap();
        let out =
            extract(dir.path(), serde_json::json!({"inputURI": "DIR/h.csv", "outputView": "out", "header": true}))
                .await
                .unwrap();
        assert!(out.contains("| 2  | short"), "{}", &out[..out.len().min(400)]);
        std::fs::write(dir.path().join("h.csv"), format!("\"{long}\",a,b,c\n")).unwrap();
        let out = extract(dir.path(), serde_json::json!({"inputURI": "DIR/h.csv", "outputView": "out"})).await.unwrap();
        assert!(out.contains("_c3"), "four columns");
    }

    #[tokio::test]
    async fn records_wider_or_narrower_than_the_header() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.csv"), "a,b\n1,2,3,4\n5\n\"x,y\",\"q\nr\",\"extra,\nfield\",z\n6,7").unwrap();
        let out =
            extract(dir.path(), serde_json::json!({"inputURI": "DIR/w.csv", "outputView": "out", "header": true}))
                .await
                .unwrap();
        let rows: Vec<String> =
            out.lines().filter(|l| l.starts_with("| ")).map(|l| l.split_whitespace().collect::<String>()).collect();
        assert_eq!(rows[0], "|a|b|_filename|_index|");
        assert_eq!(rows[1], "|1|2|file:///w.csv|1|");
        assert_eq!(rows[2], "|5||file:///w.csv|2|");
        assert!(rows[3].starts_with("|x,y|q"), "{out}");
        assert_eq!(rows.last().unwrap(), "|6|7|file:///w.csv|4|");

        let extract = DelimitedExtract {
            input: TextInput::Uri(String::new()),
            output_view: String::new(),
            delimiter: b',',
            quote: Some(b'"'),
            header: false,
            escape: Some(b'\\'),
            index: IndexColumn::Contiguous,
            schema: ReadSchema::default(),
            common: ViewCommon::default(),
        };
        let counts = Arc::new(RecordWidths::default());
        let mut t = FieldTrimmer::new(2, &extract, counts.clone());
        let mut out = Vec::new();
        for chunk in [&b"1,2,3"[..], b"\r\n4\n\n\"5,", b"5\",6,\"7\n8\"\n9"] {
            t.feed(chunk, &mut out);
        }
        t.finish();
        assert_eq!(String::from_utf8(out).unwrap(), "1,2\r\n4\n\n\"5,5\",6\n9");
        assert_eq!(counts.get(), (2, 2));
    }

    #[test]
    fn scanner_finds_the_end_of_the_first_record() {
        let mut s = QuoteScanner::new(b',', Some(b'"'), Some(b'\\'));
        assert_eq!(s.feed(b"\n\na,\"x\ny"), None);
        assert_eq!(s.open_quote_line(), Some(3));
        assert_eq!(s.feed(b"\"\"z\",q\nnext\n"), Some(7));
        assert_eq!(s.open_quote_line(), None);
        let mut none = QuoteScanner::new(b',', None, None);
        assert_eq!(none.feed(b"\"a\nb"), Some(3));
    }
}
