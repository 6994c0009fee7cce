//! `map_concat(m1, m2, …)`: Spark's union of the maps' entries, in order; NULL if any map is
//! NULL. A key in two maps is an error (Spark's default `mapKeyDedupPolicy`, EXCEPTION).
//! The maps' key and value types are coerced to common ones.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, MapArray, MutableArrayData, StructArray, make_array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::map_contains_key::key_value;

/// `map<key, value>` as Weir builds maps.
pub(crate) fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// `map_concat`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MapConcat {
    signature: Signature,
}

impl MapConcat {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for MapConcat {
    fn default() -> Self {
        Self::new()
    }
}

fn common(types: Vec<DataType>) -> Option<DataType> {
    let known: Vec<DataType> = types.into_iter().filter(|t| t != &DataType::Null).collect();
    match known.first() {
        None => Some(DataType::Null),
        Some(first) if known.iter().all(|t| t == first) => Some(first.clone()),
        Some(_) => type_union_resolution(&known),
    }
}

impl ScalarUDFImpl for MapConcat {
    fn name(&self) -> &str {
        "map_concat"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() {
            return plan_err!("function map_concat is not supported yet: without arguments");
        }
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for t in args {
            match (t, key_value(t)) {
                (_, Some((k, v))) => {
                    keys.push(k);
                    values.push(v);
                }
                (DataType::Null, None) => {}
                _ => return plan_err!("map_concat expects maps, got {t}"),
            }
        }
        let (Some(k), Some(v)) = (common(keys), common(values)) else {
            return plan_err!("map_concat: the maps' types {args:?} have no common type");
        };
        Ok(vec![map_of(k, v); args.len()])
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let target = args.return_field.data_type().clone();
        let maps: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| {
                let a = a.to_array(rows)?;
                if a.data_type() == &target { Ok(a) } else { Ok(cast(&a, &target)?) }
            })
            .collect::<Result<_>>()?;
        let result = concat(&maps, &target, rows)?;
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

fn concat(maps: &[ArrayRef], target: &DataType, rows: usize) -> Result<ArrayRef> {
    let DataType::Map(entries_field, sorted) = target else { return exec_err!("map_concat: not a map type {target}") };
    let DataType::Struct(kv) = entries_field.data_type() else { return exec_err!("map_concat: bad map type") };
    let maps: Vec<&MapArray> = maps.iter().map(|m| m.as_map()).collect();
    let entries: Vec<datafusion::arrow::array::ArrayData> = maps.iter().map(|m| m.entries().to_data()).collect();
    let mut out = MutableArrayData::new(entries.iter().collect(), false, 0);
    let mut offsets: Vec<i32> = vec![0];
    let mut valid = Vec::with_capacity(rows);
    let mut length = 0usize;
    for row in 0..rows {
        if maps.iter().any(|m| m.is_null(row)) {
            valid.push(false);
        } else {
            for (k, m) in maps.iter().enumerate() {
                let o = m.value_offsets();
                let (a, b) = (o[row] as usize, o[row + 1] as usize);
                out.try_extend(k, a, b)?;
                length += b - a;
            }
            valid.push(true);
        }
        let Ok(end) = i32::try_from(length) else { return exec_err!("map_concat: the result is too large") };
        offsets.push(end);
    }
    let entries = make_array(out.freeze());
    let entries = entries.as_struct();
    let entries = StructArray::try_new(kv.clone(), entries.columns().to_vec(), None)?;
    // Spark's EXCEPTION policy for a key twice in one map.
    let converter = RowConverter::new(vec![SortField::new(kv[0].data_type().clone())])?;
    let keys = converter.convert_columns(&[entries.column(0).clone()])?;
    for row in 0..rows {
        let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
        let mut seen = HashSet::with_capacity(b - a);
        for i in a..b {
            if !seen.insert(keys.row(i)) {
                let key = ScalarValue::try_from_array(entries.column(0), i)?;
                return exec_err!(
                    "[DUPLICATED_MAP_KEY] Duplicate map key {key} was found, please check the input data."
                );
            }
        }
    }
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(MapArray::try_new(entries_field.clone(), OffsetBuffer::new(offsets.into()), entries, nulls, *sorted)?))
}
