//! Rendering results as Arc's kernel shows them: an HTML table (with a `text/plain` table
//! beside it for clients without HTML), Spark's `printSchema` tree and JSON schema.
//!
//! Cell text follows Arc: `null` for nulls, doubles in plain decimal, dates `yyyy-MM-dd`,
//! timestamps as UTC with a `Z` suffix, binary as hex; text longer than `truncate` is cut to
//! `truncate - 3` characters plus `...`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Value, json};

/// Display options (`%conf` and per-cell magic arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayOptions {
    pub num_rows: usize,
    pub truncate: usize,
    pub monospace: bool,
    pub left_align: bool,
    pub dataset_labels: bool,
    pub show_log: bool,
}

impl Default for DisplayOptions {
    fn default() -> Self {
        Self { num_rows: 20, truncate: 50, monospace: false, left_align: false, dataset_labels: false, show_log: false }
    }
}

/// A table ready to show: column names and formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub label: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Whether more rows exist than are shown.
    pub more: bool,
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        // Rust's Display never uses scientific notation and prints the shortest exact form.
        format!("{v}")
    }
}

/// Formats every value of one column as Arc shows it.
pub fn format_column(array: &ArrayRef) -> Result<Vec<String>, ArrowError> {
    let n = array.len();
    match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            return Ok((0..n).map(|i| if a.is_null(i) { "null".into() } else { format_float(a.value(i)) }).collect());
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            return Ok((0..n)
                .map(|i| if a.is_null(i) { "null".into() } else { format_float(a.value(i) as f64) })
                .collect());
        }
        _ => {}
    }
    let array = match array.data_type() {
        DataType::Timestamp(unit, tz) if tz.as_deref() != Some("UTC") => {
            cast(array, &DataType::Timestamp(*unit, Some(Arc::from("UTC"))))?
        }
        _ => array.clone(),
    };
    let options = FormatOptions::default()
        .with_null("null")
        .with_date_format(Some("%Y-%m-%d"))
        .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S%.fZ"))
        .with_timestamp_tz_format(Some("%Y-%m-%dT%H:%M:%S%.fZ"));
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
    Ok((0..n).map(|i| formatter.value(i).to_string()).collect())
}

fn truncate(text: String, limit: usize) -> String {
    if limit == 0 || text.chars().count() <= limit {
        return text;
    }
    let keep = limit.saturating_sub(3);
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str("...");
    cut
}

impl Table {
    /// Formats up to `limit` rows of `batches` (the batches may hold one extra row to detect `more`).
    pub fn from_batches(
        schema: &Schema,
        batches: &[RecordBatch],
        limit: usize,
        truncate_at: usize,
    ) -> Result<Self, ArrowError> {
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut total = 0usize;
        for batch in batches {
            total += batch.num_rows();
            if rows.len() >= limit {
                continue;
            }
            let take = (limit - rows.len()).min(batch.num_rows());
            let formatted: Vec<Vec<String>> =
                batch.columns().iter().map(|c| format_column(&c.slice(0, take))).collect::<Result<_, _>>()?;
            for r in 0..take {
                rows.push(formatted.iter().map(|col| truncate(col[r].clone(), truncate_at)).collect());
            }
        }
        Ok(Self { label: None, columns, more: total > rows.len(), rows })
    }

    /// The HTML rendering (a `tex2jax_ignore` table so MathJax leaves `$` alone).
    pub fn html(&self, options: &DisplayOptions) -> String {
        let mut classes = vec!["tex2jax_ignore"];
        if options.monospace {
            classes.push("monospace");
        }
        if options.left_align {
            classes.push("leftalign");
        }
        let mut out = String::new();
        if let Some(label) = &self.label {
            out.push_str(&format!("<p><b>{}</b></p>", escape(label)));
        }
        let style = match (options.monospace, options.left_align) {
            (true, true) => " style=\"font-family: monospace; text-align: left\"",
            (true, false) => " style=\"font-family: monospace\"",
            (false, true) => " style=\"text-align: left\"",
            (false, false) => "",
        };
        out.push_str(&format!("<table class=\"{}\"{style}><thead><tr>", classes.join(" ")));
        for c in &self.columns {
            out.push_str(&format!("<th>{}</th>", escape(c)));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for v in row {
                out.push_str(&format!("<td>{}</td>", escape(v)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
        if self.more {
            out.push_str(&format!("<p>only showing top {} rows</p>", self.rows.len()));
        }
        out
    }

    /// A plain-text rendering (Spark's `show()` layout).
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain(std::iter::once(self.columns[i].chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let sep: String = widths.iter().map(|w| format!("+{}", "-".repeat(*w))).collect::<String>() + "+\n";
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("|{}{}", " ".repeat(w - c.chars().count()), c))
                .collect::<String>()
                + "|\n"
        };
        let mut out = String::new();
        if let Some(label) = &self.label {
            out.push_str(label);
            out.push('\n');
        }
        out.push_str(&sep);
        out.push_str(&line(&self.columns));
        out.push_str(&sep);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out.push_str(&sep);
        if self.more {
            out.push_str(&format!("only showing top {} rows\n", self.rows.len()));
        }
        out
    }
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Spark's name for an Arrow type (as `printSchema` shows it).
pub fn spark_type(t: &DataType) -> String {
    match t {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::UInt8 => "byte".into(),
        DataType::Int16 | DataType::UInt16 => "short".into(),
        DataType::Int32 | DataType::UInt32 => "integer".into(),
        DataType::Int64 | DataType::UInt64 => "long".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            format!("decimal({p},{s})")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            "binary".into()
        }
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::List(_) | DataType::LargeList(_) | DataType::ListView(_) | DataType::FixedSizeList(_, _) => {
            "array".into()
        }
        DataType::Struct(_) => "struct".into(),
        DataType::Map(_, _) => "map".into(),
        DataType::Dictionary(_, v) => spark_type(v),
        other => other.to_string().to_lowercase(),
    }
}

fn tree(out: &mut String, prefix: &str, name: &str, t: &DataType, nullable: bool, label: &str) {
    out.push_str(&format!("{prefix}-- {name}: {} ({label} = {nullable})\n", spark_type(t)));
    let inner = format!("{prefix}    |");
    match t {
        DataType::Struct(fields) => {
            for f in fields {
                tree(out, &inner, f.name(), f.data_type(), f.is_nullable(), "nullable");
            }
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            tree(out, &inner, "element", f.data_type(), f.is_nullable(), "containsNull");
        }
        DataType::Map(entries, _) => {
            if let DataType::Struct(kv) = entries.data_type()
                && kv.len() == 2
            {
                tree(out, &inner, "key", kv[0].data_type(), false, "nullable");
                tree(out, &inner, "value", kv[1].data_type(), kv[1].is_nullable(), "valueContainsNull");
            }
        }
        _ => {}
    }
}

/// Spark's `printSchema()` tree.
pub fn print_schema(schema: &Schema) -> String {
    let mut out = String::from("root\n");
    for f in schema.fields() {
        tree(&mut out, " |", f.name(), f.data_type(), f.is_nullable(), "nullable");
    }
    out
}

fn json_type(t: &DataType) -> Value {
    match t {
        DataType::Struct(fields) => {
            json!({"type": "struct", "fields": fields.iter().map(|f| json_field(f)).collect::<Vec<_>>()})
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            json!({"type": "array", "elementType": json_type(f.data_type()), "containsNull": f.is_nullable()})
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => json!({
                "type": "map",
                "keyType": json_type(kv[0].data_type()),
                "valueType": json_type(kv[1].data_type()),
                "valueContainsNull": kv[1].is_nullable(),
            }),
            _ => json!("map"),
        },
        other => json!(spark_type(other)),
    }
}

fn json_field(f: &Field) -> Value {
    let metadata: serde_json::Map<String, Value> = f
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()))))
        .collect();
    json!({"name": f.name(), "type": json_type(f.data_type()), "nullable": f.is_nullable(), "metadata": metadata})
}

/// Spark's JSON schema, pretty-printed (`%schema`).
pub fn schema_json(schema: &Schema) -> String {
    let v = json!({"type": "struct", "fields": schema.fields().iter().map(|f| json_field(f)).collect::<Vec<_>>()});
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BinaryArray, Date32Array, Float64Array, Int32Array, StringArray, TimestampMicrosecondArray,
    };

    #[test]
    fn values_are_formatted_as_arc_shows_them() {
        let f = |a: ArrayRef| format_column(&a).unwrap();
        assert_eq!(
            f(Arc::new(Float64Array::from(vec![Some(1e20), Some(0.5), Some(2.0), None]))),
            ["100000000000000000000", "0.5", "2", "null"]
        );
        assert_eq!(f(Arc::new(Date32Array::from(vec![Some(19000)]))), ["2022-01-08"]);
        assert_eq!(
            f(Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000)]))),
            ["2023-11-14T22:13:20Z"]
        );
        assert_eq!(
            f(Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_000)]).with_timezone("+01:00"))),
            ["2023-11-14T22:13:20.123Z"]
        );
        assert_eq!(f(Arc::new(BinaryArray::from(vec![&b"\x01\xab"[..]]))), ["01ab"]);
    }

    #[test]
    fn tables_truncate_and_escape() {
        let schema =
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, true), Field::new("s", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("<b>a very long text</b>"), None, Some("x")])),
            ],
        )
        .unwrap();
        let table = Table::from_batches(&schema, &[batch], 2, 10).unwrap();
        assert_eq!(table.rows, [vec!["1", "<b>a ve..."], vec!["2", "null"]]);
        assert!(table.more);
        let html = table.html(&DisplayOptions::default());
        assert!(html.contains("<td>&lt;b&gt;a ve...</td>"), "{html}");
        assert!(html.contains("only showing top 2 rows"));
        assert_eq!(
            table.text(),
            "+--+----------+\n|id|         s|\n+--+----------+\n| 1|<b>a ve...|\n| 2|      null|\n+--+----------+\nonly showing top 2 rows\n"
        );
    }

    #[test]
    fn schema_tree_and_json() {
        let item = Field::new("item", DataType::Struct(vec![Field::new("field", DataType::Utf8, false)].into()), true);
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("_errors", DataType::List(Arc::new(item)), false),
        ]);
        assert_eq!(
            print_schema(&schema),
            "root\n |-- id: integer (nullable = true)\n |-- _errors: array (nullable = false)\n |    |-- element: struct (containsNull = true)\n |    |    |-- field: string (nullable = false)\n"
        );
        let v: Value = serde_json::from_str(&schema_json(&schema)).unwrap();
        assert_eq!(v["fields"][1]["type"]["elementType"]["fields"][0]["type"], "string");
    }
}
