//! StatisticsExtract: one row of column statistics per column of `inputView`, every value a
//! string, as Arc's `StatisticsUtils` computes them: `count`, `distinct_count`, `null_count`,
//! `mean`, `stddev`, `min`, `25%`, `50%`, `75%`, `max`.
//!
//! Arc's per-type rules hold: booleans have no mean, stddev or percentiles; dates no mean or
//! stddev and approximate percentiles only; long columns have their mean and percentiles
//! floored; timestamps no mean or stddev, and their min, percentiles and max written as
//! `yyyy-MM-dd HH:mm:ss'Z'` in UTC; strings no min or max (no data leaks into statistics).
//! `approximate` (default true) chooses `approx_count_distinct`, `stddev_samp` and
//! approximate percentiles; `false` gives `count(DISTINCT)`, `stddev_pop` and exact
//! percentiles, as Arc pairs them. The statistics are one aggregation over the view, written in
//! Spark SQL and run by Weir's SQL layer, so every value is cast to a string as Spark casts it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::sql::{quote_ident, quote_literal};

/// Arc's timestamp format in statistics (UTC, the session's zone).
const TIMESTAMP_FORMAT: &str = "yyyy-MM-dd HH:mm:ss'Z'";
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// The statistics, in Arc's column order.
const STATISTICS: [&str; 10] =
    ["count", "distinct_count", "null_count", "mean", "stddev", "min", "25%", "50%", "75%", "max"];

/// `StatisticsExtract` configuration.
#[derive(Debug)]
pub struct StatisticsExtract {
    input_view: String,
    output_view: String,
    approximate: bool,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let approximate = c.bool_or("approximate", true);
    let common = ViewCommon::read(c);
    if c.bool_or("histogram", false) {
        c.error("histogram", "Histograms ('histogram': true) are not supported yet by Weir's StatisticsExtract.");
    }
    if let Some(node) = c.node("hllRelativeSD") {
        let rsd = crate::config::scalar_text(node).and_then(|t| t.parse::<f64>().ok());
        if rsd != Some(0.05) {
            c.error(
                "hllRelativeSD",
                "Only the default 'hllRelativeSD' (0.05) is supported by Weir's StatisticsExtract; remove the attribute.",
            );
        }
    }
    Some(Box::new(StatisticsExtract { input_view: input_view?, output_view: output_view?, approximate, common }))
}

/// How a column's statistics are computed, from its type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Integer types other than bigint, floating point, decimal: every statistic as is.
    Number,
    /// bigint: mean and percentiles floored.
    Long,
    Boolean,
    Date,
    Timestamp,
    /// Strings: mean, stddev and percentiles of the values cast to double, as Spark's implicit
    /// cast does; no min or max.
    Text,
    /// NullType: every row counts as NULL.
    Null,
}

fn kind(name: &str, t: &DataType) -> Result<Kind, StageError> {
    Ok(match t {
        DataType::Int64 => Kind::Long,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Float32 | DataType::Float64 => Kind::Number,
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            Kind::Number
        }
        DataType::Boolean => Kind::Boolean,
        DataType::Date32 => Kind::Date,
        DataType::Timestamp(..) => Kind::Timestamp,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
        DataType::Null => Kind::Null,
        other => {
            let spark = crate::sql::types::spark_type_name(other).unwrap_or_else(|| other.to_string());
            return Err(StageError::msg(format!(
                "StatisticsExtract cannot compute statistics of column '{name}' of type {spark}: Spark's mean, \
                 stddev and percentiles need a number, string, boolean, date or timestamp."
            )));
        }
    })
}

/// The inner aggregation's expressions for one column (aliased `a{i}_{n}`) and the outer
/// expressions producing its ten strings from them.
fn column_sql(i: usize, name: &str, kind: Kind, approximate: bool) -> (Vec<String>, Vec<String>) {
    let c = quote_ident(name);
    let alias = |n: usize| format!("a{i}_{n}");
    let mut inner = Vec::new();
    let mut add = |expr: String| {
        let a = alias(inner.len());
        inner.push(format!("{expr} AS {a}"));
        a
    };
    // The numeric value statistics are taken over: strings as Spark's implicit cast makes them.
    let value = match kind {
        Kind::Text => format!("TRY_CAST({c} AS DOUBLE)"),
        Kind::Date => format!("UNIX_DATE({c})"),
        Kind::Timestamp => format!("UNIX_MICROS({c})"),
        _ => c.clone(),
    };
    let count = match kind {
        Kind::Null => add(format!("COUNT_IF({c} IS NULL)")),
        _ => add(format!("COUNT({c})")),
    };
    let distinct = match (kind, approximate) {
        (_, true) => add(format!("APPROX_COUNT_DISTINCT({c})")),
        (_, false) => add(format!("COUNT(DISTINCT {c})")),
    };
    let nulls = add(format!("COUNT_IF({c} IS NULL)"));
    let moments = matches!(kind, Kind::Number | Kind::Long | Kind::Text);
    let mean = moments.then(|| add(format!("AVG({value})")));
    let stddev = moments.then(|| match approximate {
        true => add(format!("STDDEV_SAMP({value})")),
        false => add(format!("STDDEV_POP({value})")),
    });
    let extremes = matches!(kind, Kind::Number | Kind::Long | Kind::Boolean | Kind::Date | Kind::Timestamp);
    let min = extremes.then(|| add(format!("MIN({c})")));
    let max = extremes.then(|| add(format!("MAX({c})")));
    // Dates and timestamps only have approximate percentiles in Arc.
    let percentiles = match kind {
        Kind::Boolean | Kind::Null => None,
        Kind::Date | Kind::Timestamp => Some(add(format!("PERCENTILE_APPROX({value}, ARRAY(0.25, 0.5, 0.75))"))),
        _ if approximate => Some(add(format!("PERCENTILE_APPROX({value}, ARRAY(0.25, 0.5, 0.75))"))),
        _ => Some(add(format!("PERCENTILE({value}, ARRAY(0.25, 0.5, 0.75))"))),
    };

    let text = |expr: String| format!("CAST({expr} AS STRING)");
    let none = || "CAST(NULL AS STRING)".to_string();
    let timestamp = |expr: String| format!("DATE_FORMAT({expr}, {})", quote_literal(TIMESTAMP_FORMAT));
    let percentile = |at: usize| -> String {
        let Some(p) = &percentiles else { return none() };
        let v = format!("{p}[{at}]");
        match kind {
            Kind::Long => text(format!("FLOOR({v})")),
            Kind::Date => text(format!("DATE_FROM_UNIX_DATE({v})")),
            Kind::Timestamp => text(timestamp(format!("TIMESTAMP_MICROS({v})"))),
            _ => text(v),
        }
    };
    let extreme = |a: &Option<String>| match (a, kind) {
        (None, _) => none(),
        (Some(a), Kind::Timestamp) => text(timestamp(a.clone())),
        (Some(a), _) => text(a.clone()),
    };
    let outer = vec![
        text(count),
        text(distinct),
        text(nulls),
        match (&mean, kind) {
            (None, _) => none(),
            (Some(m), Kind::Long) => text(format!("FLOOR({m})")),
            (Some(m), _) => text(m.clone()),
        },
        stddev.map(text).unwrap_or_else(none),
        extreme(&min),
        percentile(0),
        percentile(1),
        percentile(2),
        extreme(&max),
    ];
    (inner, outer)
}

/// The query computing every column's statistics as one row of `10 × columns` strings.
fn statistics_sql(view: &str, columns: &[(String, Kind)], approximate: bool) -> String {
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    for (i, (name, kind)) in columns.iter().enumerate() {
        let (a, b) = column_sql(i, name, *kind, approximate);
        inner.extend(a);
        outer.extend(b);
    }
    format!("SELECT {} FROM (SELECT {} FROM {})", outer.join(", "), inner.join(", "), quote_ident(view))
}

/// Arc's JSON form of a statistic in the logs: a long, else a double, else a boolean, else
/// the string (Java's `toLong`, `toDouble`, `toBoolean` in that order).
fn json_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return n.into();
    }
    if let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return Value::Number(n);
    }
    match text.to_ascii_lowercase().as_str() {
        "true" => true.into(),
        "false" => false.into(),
        _ => text.into(),
    }
}

#[async_trait]
impl Stage for StatisticsExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputView" => self.input_view, "outputView" => self.output_view, "approximate" => self.approximate,
        };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let input = session.view(&self.input_view).await?;
        let columns = input
            .schema()
            .fields()
            .iter()
            .map(|f| Ok((f.name().clone(), kind(f.name(), f.data_type())?)))
            .collect::<Result<Vec<_>, StageError>>()?;
        let mut values: Vec<Option<String>> = vec![None; columns.len() * STATISTICS.len()];
        if !columns.is_empty() {
            let sql = statistics_sql(&self.input_view, &columns, self.approximate);
            let batches = session.sql(&sql).await?.collect().await?;
            let batch = batches.iter().find(|b| b.num_rows() == 1).ok_or_else(|| {
                StageError::msg("StatisticsExtract: the statistics query returned no row.".to_string())
            })?;
            for (at, value) in values.iter_mut().enumerate() {
                let column = datafusion::arrow::compute::cast(batch.column(at), &DataType::Utf8)?;
                let column = column.as_string::<i32>();
                *value = (!column.is_null(0)).then(|| column.value(0).to_string());
            }
        }
        let mut fields = vec![Field::new("column", DataType::Utf8, true)];
        fields.extend(STATISTICS.iter().map(|s| Field::new(*s, DataType::Utf8, true)));
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(columns.iter().map(|c| &c.0)))];
        for s in 0..STATISTICS.len() {
            let column: StringArray = (0..columns.len()).map(|c| values[c * STATISTICS.len() + s].clone()).collect();
            arrays.push(Arc::new(column));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        let df = session.ctx.read_batch(batch)?;
        let mut outcome = self.common.register(session, &self.output_view, df).await?;
        if self.common.persist {
            let statistics: Map<String, Value> = columns
                .iter()
                .enumerate()
                .map(|(c, (name, _))| {
                    let stats: Map<String, Value> = STATISTICS
                        .iter()
                        .enumerate()
                        .map(|(s, stat)| {
                            let v = values[c * STATISTICS.len() + s].as_deref().map(json_value).unwrap_or(Value::Null);
                            (stat.to_string(), v)
                        })
                        .collect();
                    (name.clone(), Value::Object(stats))
                })
                .collect();
            outcome.detail.insert("statistics".into(), Value::Object(statistics));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_in_logs_are_typed_as_arc_types_them() {
        assert_eq!(json_value("3"), Value::from(3));
        assert_eq!(json_value("2.5"), Value::from(2.5));
        assert_eq!(json_value("TRUE"), Value::from(true));
        assert_eq!(json_value("2024-01-01"), Value::from("2024-01-01"));
    }

    #[test]
    fn long_columns_are_floored_and_strings_have_no_extremes() {
        let (_, outer) = column_sql(0, "n", Kind::Long, true);
        assert_eq!(outer[3], "CAST(FLOOR(a0_3) AS STRING)");
        let (inner, outer) = column_sql(1, "s", Kind::Text, false);
        assert!(inner.iter().any(|e| e == "COUNT(DISTINCT `s`) AS a1_1"), "{inner:?}");
        assert_eq!(outer[5], "CAST(NULL AS STRING)");
        assert_eq!(outer[9], "CAST(NULL AS STRING)");
    }

    #[test]
    fn nested_types_are_refused_naming_the_column() {
        let t = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let err = kind("tags", &t).unwrap_err().to_string();
        assert!(err.contains("column 'tags' of type array<int>"), "{err}");
    }
}
