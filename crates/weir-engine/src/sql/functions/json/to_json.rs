//! `to_json(struct | map | array[, options])`: the value as JSON text, as Spark's Jackson
//! generator writes it: NULL struct fields left out (`ignoreNullFields`), NULL array elements
//! and map values as `null`; doubles as Java prints them (`NaN`/`Infinity` quoted); decimals
//! with their scale; dates `yyyy-MM-dd`; timestamps `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in UTC
//! (`2024-02-29T12:34:56.500Z`); binary as base64. Map keys are written as their text (a
//! struct key of one integer field as `[1]`). Options: `timestampFormat`, `dateFormat`,
//! `ignoreNullFields`, `sortKeys` (struct fields and map entries in key order).

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::sql::cast::java_double;
use crate::sql::functions::pattern::to_chrono;

/// `to_json`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToJson {
    signature: Signature,
}

impl ToJson {
    pub fn new() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl Default for ToJson {
    fn default() -> Self {
        Self::new()
    }
}

/// Why Weir cannot write `t` as Spark does, if it cannot.
fn unwritable(t: &DataType, as_key: bool) -> Option<String> {
    match t {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Decimal128(..)
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => None,
        DataType::Float32
        | DataType::Float64
        | DataType::Date32
        | DataType::Timestamp(_, Some(_))
        | DataType::Timestamp(_, None)
        | DataType::Binary
        | DataType::LargeBinary
            if !as_key =>
        {
            None
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) if !as_key => {
            unwritable(f.data_type(), false)
        }
        DataType::Struct(fields) if as_key => match fields.iter().map(|f| f.data_type()).collect::<Vec<_>>().as_slice()
        {
            [t] if t.is_integer() => None,
            _ => Some(format!("a map keyed by {t}")),
        },
        DataType::Struct(fields) => fields.iter().find_map(|f| unwritable(f.data_type(), false)),
        DataType::Map(entries, _) if !as_key => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                unwritable(kv[0].data_type(), true).or_else(|| unwritable(kv[1].data_type(), false))
            }
            _ => Some(format!("{t}")),
        },
        _ => Some(if as_key { format!("a map keyed by {t}") } else { format!("values of type {t}") }),
    }
}

/// The options Weir honours.
#[derive(Debug)]
struct Options {
    timestamp_format: Option<String>,
    date_format: Option<String>,
    ignore_null_fields: bool,
    sort_keys: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { timestamp_format: None, date_format: None, ignore_null_fields: true, sort_keys: false }
    }
}

fn flag(key: &str, value: Option<&str>) -> Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => exec_err!("to_json: option {key} must be true or false"),
    }
}

impl Options {
    fn from(arg: &ColumnarValue) -> Result<Self> {
        let array = arg.to_array(1)?;
        let mut options = Options::default();
        let DataType::Map(..) = array.data_type() else { return exec_err!("to_json: options must be a map") };
        if array.is_empty() || array.is_null(0) {
            return Ok(options);
        }
        let entries = array.as_map().value(0);
        let keys = cast(entries.column(0), &DataType::Utf8)?;
        let values = cast(entries.column(1), &DataType::Utf8)?;
        let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
        for i in 0..keys.len() {
            let key = keys.value(i);
            let value = (!values.is_null(i)).then(|| values.value(i));
            let pattern = |v: Option<&str>| {
                v.map(|p| to_chrono(p, false)).transpose().map_err(datafusion::error::DataFusionError::Execution)
            };
            match key.to_ascii_lowercase().as_str() {
                "timestampformat" => options.timestamp_format = pattern(value)?,
                "dateformat" => options.date_format = pattern(value)?,
                "ignorenullfields" => options.ignore_null_fields = flag(key, value)?,
                "sortkeys" => options.sort_keys = flag(key, value)?,
                _ => return exec_err!("to_json: option {key} is not supported yet"),
            }
        }
        Ok(options)
    }
}

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn floats(values: impl Iterator<Item = Option<f64>>, single: bool) -> Vec<Option<String>> {
    values
        .map(|v| {
            v.map(|v| {
                let text = java_double(v, single);
                if v.is_finite() { text } else { quoted(&text) }
            })
        })
        .collect()
}

/// Each element of `a` as JSON text (None for NULL).
fn render(a: &ArrayRef, o: &Options) -> Result<Vec<Option<String>>> {
    let texts = |a: &ArrayRef| -> Result<Vec<Option<String>>> {
        let t = cast(a, &DataType::Utf8)?;
        Ok(t.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect())
    };
    Ok(match a.data_type() {
        DataType::Null => vec![None; a.len()],
        DataType::Boolean | DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => texts(a)?,
        DataType::Decimal128(..) => texts(a)?,
        DataType::Float64 => floats(a.as_primitive::<Float64Type>().iter(), false),
        DataType::Float32 => floats(a.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from)), true),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            texts(a)?.into_iter().map(|s| s.map(|s| quoted(&s))).collect()
        }
        DataType::Date32 => {
            let days = a.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
            days.iter()
                .map(|d| {
                    let date = crate::sql::functions::datetime::common::date_of(d?)?;
                    let text = match &o.date_format {
                        Some(f) => date.format(f).to_string(),
                        None => date.format("%Y-%m-%d").to_string(),
                    };
                    Some(quoted(&text))
                })
                .collect()
        }
        DataType::Timestamp(..) => {
            let micros = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let micros = cast(&micros, &DataType::Int64)?;
            micros
                .as_primitive::<Int64Type>()
                .iter()
                .map(|m| {
                    let t = chrono::DateTime::from_timestamp_micros(m?)?;
                    let text = match &o.timestamp_format {
                        Some(f) => t.format(f).to_string(),
                        None => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                    };
                    Some(quoted(&text))
                })
                .collect()
        }
        DataType::Binary | DataType::LargeBinary => {
            let b = cast(a, &DataType::Binary)?;
            b.as_binary::<i32>()
                .iter()
                .map(|v| v.map(|v| quoted(&base64::engine::general_purpose::STANDARD.encode(v))))
                .collect()
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let item = match a.data_type() {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.clone(),
                _ => return exec_err!("unreachable"),
            };
            let list = cast(a, &DataType::List(item))?;
            let list = list.as_list::<i32>();
            let offsets = list.value_offsets();
            let first = offsets[0] as usize;
            let values = list.values().slice(first, offsets[list.len()] as usize - first);
            let items = render(&values, o)?;
            (0..list.len())
                .map(|r| {
                    if list.is_null(r) {
                        return None;
                    }
                    let (s, e) = (offsets[r] as usize - first, offsets[r + 1] as usize - first);
                    let parts: Vec<&str> = items[s..e].iter().map(|x| x.as_deref().unwrap_or("null")).collect();
                    Some(format!("[{}]", parts.join(",")))
                })
                .collect()
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let columns: Vec<Vec<Option<String>>> = s.columns().iter().map(|c| render(c, o)).collect::<Result<_>>()?;
            let mut order: Vec<usize> = (0..fields.len()).collect();
            if o.sort_keys {
                order.sort_by(|&x, &y| fields[x].name().cmp(fields[y].name()));
            }
            let names: Vec<String> = fields.iter().map(|f| quoted(f.name())).collect();
            (0..s.len())
                .map(|r| {
                    if s.is_null(r) {
                        return None;
                    }
                    let mut parts = Vec::with_capacity(fields.len());
                    for &k in &order {
                        match &columns[k][r] {
                            Some(v) => parts.push(format!("{}:{v}", names[k])),
                            None if !o.ignore_null_fields => parts.push(format!("{}:null", names[k])),
                            None => {}
                        }
                    }
                    Some(format!("{{{}}}", parts.join(",")))
                })
                .collect()
        }
        DataType::Map(..) => {
            let m = a.as_map();
            let offsets = m.value_offsets();
            let first = offsets[0] as usize;
            let n = offsets[m.len()] as usize - first;
            let keys = m.keys().slice(first, n);
            let values = m.values().slice(first, n);
            let keys: Vec<Option<String>> = match keys.data_type() {
                DataType::Struct(_) => {
                    let inner = keys.as_struct().column(0).clone();
                    texts(&inner)?.into_iter().map(|k| Some(format!("[{}]", k.as_deref().unwrap_or("null")))).collect()
                }
                _ => texts(&keys)?,
            };
            let values = render(&values, o)?;
            (0..m.len())
                .map(|r| {
                    if m.is_null(r) {
                        return None;
                    }
                    let (s, e) = (offsets[r] as usize - first, offsets[r + 1] as usize - first);
                    let mut entries: Vec<(String, &str)> = (s..e)
                        .map(|i| (keys[i].clone().unwrap_or_default(), values[i].as_deref().unwrap_or("null")))
                        .collect();
                    if o.sort_keys {
                        entries.sort_by(|x, y| x.0.cmp(&y.0));
                    }
                    let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{}:{v}", quoted(k))).collect();
                    Some(format!("{{{}}}", parts.join(",")))
                })
                .collect()
        }
        other => return exec_err!("function to_json is not supported yet: values of type {other}"),
    })
}

impl ScalarUDFImpl for ToJson {
    fn name(&self) -> &str {
        "to_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] | [t, DataType::Map(..)] => {
                if !matches!(
                    t,
                    DataType::Struct(_)
                        | DataType::Map(..)
                        | DataType::List(_)
                        | DataType::LargeList(_)
                        | DataType::FixedSizeList(..)
                        | DataType::Null
                ) {
                    return plan_err!("to_json expects a struct, map or array, not {t}");
                }
                if let Some(why) = unwritable(t, false) {
                    return plan_err!("function to_json is not supported yet: {why}");
                }
                Ok(DataType::Utf8)
            }
            _ => plan_err!("function to_json with these arguments is not supported yet: {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let is_scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let rows = if is_scalar { 1 } else { args.number_rows };
        let options = match args.args.get(1) {
            Some(o) => Options::from(o)?,
            None => Options::default(),
        };
        let array = args.args[0].to_array(rows)?;
        let result: ArrayRef = Arc::new(render(&array, &options)?.into_iter().collect::<StringArray>());
        if is_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int32Array, StructArray};
    use datafusion::arrow::datatypes::Field;

    #[test]
    fn structs_skip_nulls_and_sort() {
        let b: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.1), Some(f64::NAN)]));
        let s: ArrayRef = Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("b", DataType::Int32, true)), b),
            (Arc::new(Field::new("a", DataType::Float64, true)), a),
        ]));
        let plain = render(&s, &Options::default()).expect("render");
        assert_eq!(plain, vec![Some(r#"{"b":1,"a":0.1}"#.to_string()), Some(r#"{"a":"NaN"}"#.to_string())]);
        let sorted = render(&s, &Options { sort_keys: true, ..Options::default() }).expect("render");
        assert_eq!(sorted[0].as_deref(), Some(r#"{"a":0.1,"b":1}"#));
    }
}
