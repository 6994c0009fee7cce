//! DelimitedExtract: CSV-like text files to a view of string columns (`_c0`, `_c1`… or the
//! header's names), plus `_filename` and `_index`. Files are streamed, never loaded whole.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::csv::reader::{Format, ReaderBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::extract::source::{self, DecoderFactory, IndexColumn};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `DelimitedExtract` configuration.
#[derive(Debug, Clone)]
pub struct DelimitedExtract {
    input_uri: String,
    output_view: String,
    delimiter: u8,
    quote: Option<u8>,
    header: bool,
    escape: Option<u8>,
    index: IndexColumn,
    schema_uri: Option<String>,
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
    let input_uri = c.string("inputURI");
    if c.has("inputView") {
        c.error(
            "inputView",
            "Parsing text from a view ('inputView') is not supported yet by Weir's DelimitedExtract; use 'inputURI'.",
        );
    }
    let _ = c.string("inputField");
    if input_uri.is_none() && !c.has("inputView") {
        c.error("inputURI", "Missing required attribute 'inputURI'.");
    }
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
    let index = if c.bool_or("contiguousIndex", true) { IndexColumn::Contiguous } else { IndexColumn::Monotonic };
    let schema_uri = c.string("schemaURI");
    if c.has("schemaView") {
        c.error("schemaView", "'schemaView' is not supported yet by Weir; use 'schemaURI'.");
    }
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("watermark") {
        c.error("watermark", "Streaming ('watermark') is not supported by Weir.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(DelimitedExtract {
        input_uri: input_uri?,
        output_view: output_view?,
        delimiter: delimiter?,
        quote: quote?,
        header,
        escape,
        index,
        schema_uri,
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

    /// Column names: the header of the first file, or `_c0.._cN` from its first line.
    async fn data_schema(&self, session: &Session, first: &crate::storage::FileEntry) -> Result<SchemaRef, StageError> {
        let head = source::head_bytes(&session.storage, first, 1 << 20).await?;
        let (inferred, _) = self
            .format()
            .with_header(self.header)
            .infer_schema(std::io::Cursor::new(head.as_ref()), Some(1))
            .map_err(|e| StageError::msg(format!("{}: {e}", first.url)))?;
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

    /// The schema named by `schemaURI` (for an empty result), as all-string columns.
    async fn fallback_schema(&self, session: &Session) -> Result<Option<SchemaRef>, StageError> {
        let Some(uri) = &self.schema_uri else { return Ok(None) };
        let doc = crate::stages::transform::typing::load_schema(session, uri).await.map_err(StageError::msg)?;
        let fields = crate::stages::transform::typing::schema_fields(&doc, "schemaURI").map_err(|errors| {
            StageError::msg(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))
        })?;
        Ok(Some(Arc::new(Schema::new(
            fields.iter().map(|f| Field::new(&f.name, DataType::Utf8, true)).collect::<Vec<_>>(),
        ))))
    }
}

#[async_trait]
impl Stage for DelimitedExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputURI" => self.input_uri,
            "outputView" => self.output_view,
            "delimiter" => (self.delimiter as char).to_string(),
            "header" => self.header,
            "contiguousIndex" => (self.index == IndexColumn::Contiguous),
        };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let listed = session.storage.list_files(&self.input_uri).await?;
        let files = match listed {
            Some(files) if !files.is_empty() => files,
            other => {
                let Some(schema) = self.fallback_schema(session).await? else {
                    return Err(StageError::msg(match other {
                        None => format!(
                            "Path '{}' does not exist and no schema has been provided to create an empty dataframe.",
                            self.input_uri
                        ),
                        Some(_) => format!(
                            "No files matched '{}' and no schema has been provided to create an empty dataframe.",
                            self.input_uri
                        ),
                    }));
                };
                let table = source::file_table(
                    &session.storage,
                    Vec::new(),
                    schema,
                    Arc::new(unreachable_decoder),
                    self.index,
                )?;
                let df = session.ctx.read_table(Arc::new(table))?;
                return self.common.register(session, &self.output_view, df).await;
            }
        };
        let data_schema = self.data_schema(session, &files[0]).await?;
        if data_schema.fields().is_empty() {
            return Err(StageError::msg(format!(
                "Input '{}' does not contain any fields and no schema has been provided to create an empty dataframe.",
                self.input_uri
            )));
        }
        let config = self.clone();
        let decoder_schema = data_schema.clone();
        let factory: DecoderFactory = Arc::new(move || {
            let mut builder = ReaderBuilder::new(decoder_schema.clone())
                .with_header(config.header)
                .with_delimiter(config.delimiter)
                .with_quote(config.quote.unwrap_or(0))
                .with_truncated_rows(true)
                .with_batch_size(8192);
            if let Some(e) = config.escape {
                builder = builder.with_escape(e);
            }
            Ok(Box::new(builder.build_decoder()))
        });
        let table = source::file_table(&session.storage, files, data_schema, factory, self.index)?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
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
}
