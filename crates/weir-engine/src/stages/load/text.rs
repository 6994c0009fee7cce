//! TextLoad: writes a one-string-column view as text. By default as Spark's text source (a
//! directory of files, one line per row, `numPartitions` files); with `singleFile` as whole
//! files Arc's way: `prefix`, the values joined by `separator`, `suffix` — one file at
//! `outputURI` for `[value: string]`, or one file per `filename` under the `outputURI`
//! directory for `[value: string, filename: string]` (ordered by `index: integer` when given).
//! Every single file is written whole in one put (never half-written).

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Outcome, SaveMode, Stage, StageError};
use crate::storage::parse_uri;

/// `TextLoad` configuration.
#[derive(Debug)]
pub struct TextLoad {
    files: FileLoad,
    single_file: bool,
    prefix: String,
    separator: String,
    suffix: String,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let single_file = c.bool_or("singleFile", false);
    let prefix = c.string("prefix").unwrap_or_default();
    let separator = c.string("separator").unwrap_or_default();
    let suffix = c.string("suffix").unwrap_or_default();
    let _ = c.node("authentication");
    let _ = c.node("params");
    let common = common?;
    if !common.partition_by.is_empty() {
        c.error("partitionBy", "TextLoad writes one text column, which cannot also be a partition column.");
        return None;
    }
    let extra =
        crate::obj! { "singleFile" => single_file, "prefix" => prefix, "separator" => separator, "suffix" => suffix };
    let files = FileLoad { stage: "TextLoad", common, format: FileFormat::Text, extra };
    Some(Box::new(TextLoad { files, single_file, prefix, separator, suffix }))
}

const SIGNATURE: &str = "TextLoad requires input [value: string], [value: string, filename: string] or [value: string, filename: string, index: integer] signature when in singleFile mode.";

impl TextLoad {
    /// The files to write in singleFile mode: (path below outputURI or "" for outputURI itself, content).
    async fn single_files(&self, session: &Session) -> Result<Vec<(String, String)>, StageError> {
        let view = &self.files.common.input_view;
        let df = crate::stages::load::delta::load_input(session, view, "TextLoad").await?;
        let schema = df.schema().as_arrow().clone();
        let field = |name: &str, t: &DataType| schema.field_with_name(name).ok().is_some_and(|f| f.data_type() == t);
        let utf8 = DataType::Utf8;
        let shape = match schema.fields().len() {
            1 if matches!(schema.field(0).data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
                Some((false, false))
            }
            2 if field("value", &utf8) && field("filename", &utf8) => Some((true, false)),
            3 if field("value", &utf8) && field("filename", &utf8) && field("index", &DataType::Int32) => {
                Some((true, true))
            }
            _ => None,
        };
        let Some((by_file, indexed)) = shape else {
            let got: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    format!(
                        "{}: {}",
                        f.name(),
                        crate::sql::types::spark_field_type_name(f).unwrap_or_else(|| f.data_type().to_string())
                    )
                })
                .collect();
            return Err(StageError::msg(format!("{SIGNATURE} Got [{}].", got.join(", "))));
        };
        // (file, index, value) in view order.
        let mut rows: Vec<(String, i32, Option<String>)> = Vec::new();
        for batch in df.collect().await? {
            let value_at = if by_file { batch.schema().index_of("value")? } else { 0 };
            let values = datafusion::arrow::compute::cast(batch.column(value_at), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            let names = match by_file {
                true => Some(batch.column(batch.schema().index_of("filename")?).as_string::<i32>().clone()),
                false => None,
            };
            let indexes = match indexed {
                true => Some(batch.column(batch.schema().index_of("index")?).as_primitive::<Int32Type>().clone()),
                false => None,
            };
            for i in 0..batch.num_rows() {
                let name = names.as_ref().map(|n| n.value(i).to_string()).unwrap_or_default();
                let index = indexes.as_ref().map(|x| x.value(i)).unwrap_or_default();
                rows.push((name, index, (!values.is_null(i)).then(|| values.value(i).to_string())));
            }
        }
        if indexed {
            rows.sort_by_key(|(_, index, _)| *index);
        }
        let mut files: Vec<(String, Vec<String>)> = Vec::new();
        for (name, _, value) in rows {
            let value = value.unwrap_or_default();
            match files.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) => values.push(value),
                None => files.push((name, vec![value])),
            }
        }
        if files.is_empty() && !by_file {
            files.push((String::new(), Vec::new()));
        }
        Ok(files
            .into_iter()
            .map(|(name, values)| (name, format!("{}{}{}", self.prefix, values.join(&self.separator), self.suffix)))
            .collect())
    }

    async fn write_single(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = self.single_files(session).await?;
        let base = parse_uri(&self.files.common.output_uri)?;
        let by_file = files.iter().any(|(name, _)| !name.is_empty());
        if by_file && base.to_file_path().is_ok_and(|p| p.exists() && !p.is_dir()) {
            return Err(StageError::msg(format!(
                "TextLoad requires outputURI '{}' to be a directory when in singleFile with 'filename' mode.",
                self.files.common.output_uri
            )));
        }
        // Decide for every file before writing any, so an ErrorIfExists stops before a write.
        let mut planned = Vec::new();
        for (name, content) in files {
            let url = match name.is_empty() {
                true => base.clone(),
                false => {
                    let mut dir = base.clone();
                    if !dir.path().ends_with('/') {
                        dir.set_path(&format!("{}/", dir.path()));
                    }
                    dir.join(&name).map_err(|e| StageError::msg(format!("invalid filename '{name}': {e}")))?
                }
            };
            let existing = match session.storage.read_bytes(&url).await {
                Ok(bytes) => Some(bytes),
                Err(crate::storage::StorageError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let content = match (existing, self.files.common.save_mode) {
                (None, _) | (Some(_), SaveMode::Overwrite) => content,
                (Some(_), SaveMode::Ignore) => continue,
                (Some(_), SaveMode::ErrorIfExists) => {
                    return Err(StageError::msg(format!(
                        "File '{url}' already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue."
                    )));
                }
                (Some(old), SaveMode::Append) => format!("{}{content}", String::from_utf8_lossy(&old)),
            };
            planned.push((url, content));
        }
        let mut written = Vec::new();
        for (url, content) in planned {
            session.storage.write_bytes(&url, content.into_bytes().into()).await?;
            written.push(Value::String(url.to_string()));
        }
        let mut outcome = Outcome::default();
        outcome.detail.insert("outputFiles".into(), Value::Array(written));
        Ok(outcome)
    }
}

#[async_trait]
impl Stage for TextLoad {
    fn detail(&self) -> Map<String, Value> {
        self.files.detail()
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        if self.single_file {
            return self.write_single(session).await;
        }
        let df = session.view(&self.files.common.input_view).await?;
        let fields = df.schema().fields();
        if fields.len() != 1
            || !matches!(fields[0].data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        {
            return Err(StageError::msg(format!(
                "TextLoad supports only a single text column but the input view has {} columns.",
                fields.len()
            )));
        }
        self.files.execute(session).await
    }
}
