//! `map_contains_key(map, key)`: Spark's test whether `map` has the key `key` (coerced to the
//! map's key type); NULL for a NULL map or key.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use datafusion::arrow::compute::kernels::cmp;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::map_concat::map_of;

/// `map_contains_key`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MapContainsKey {
    signature: Signature,
}

impl MapContainsKey {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for MapContainsKey {
    fn default() -> Self {
        Self::new()
    }
}

/// The key and value types of a map type.
pub(crate) fn key_value(t: &DataType) -> Option<(DataType, DataType)> {
    let DataType::Map(entries, _) = t else { return None };
    let DataType::Struct(kv) = entries.data_type() else { return None };
    (kv.len() == 2).then(|| (kv[0].data_type().clone(), kv[1].data_type().clone()))
}

impl ScalarUDFImpl for MapContainsKey {
    fn name(&self) -> &str {
        "map_contains_key"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [map, key] = args else { return plan_err!("map_contains_key takes 2 arguments, got {}", args.len()) };
        let Some((k, v)) = key_value(map) else {
            return plan_err!("function map_contains_key is not supported yet: on a {map}");
        };
        let common = if key == &DataType::Null || key == &k {
            k.clone()
        } else if k == DataType::Null {
            key.clone()
        } else {
            match comparison_coercion(&k, key) {
                Some(t) => t,
                None => return plan_err!("map_contains_key: cannot compare a {key} with keys of type {k}"),
            }
        };
        Ok(vec![map_of(common.clone(), v), common])
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let map = args.args[0].to_array(rows)?;
        let key = args.args[1].to_array(rows)?;
        let result = contains(&map, &key)?;
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

fn contains(map: &ArrayRef, key: &ArrayRef) -> Result<ArrayRef> {
    let rows = map.len();
    if map.data_type() == &DataType::Null {
        return Ok(Arc::new(BooleanArray::new_null(rows)));
    }
    let map = map.as_map();
    let keys = map.keys();
    let key = if key.data_type() == keys.data_type() { key.clone() } else { cast(key, keys.data_type())? };
    let offsets = map.value_offsets();
    // The key of each entry's row, beside the entry.
    let owners: UInt32Array =
        (0..rows).flat_map(|r| std::iter::repeat_n(r as u32, (offsets[r + 1] - offsets[r]) as usize)).collect();
    let first = offsets[0] as usize;
    let last = offsets[rows] as usize;
    let keys = keys.slice(first, last - first);
    let wanted = take(&key, &owners, None)?;
    let equal = cmp::eq(&keys, &wanted)?;
    let result: BooleanArray = (0..rows)
        .map(|r| {
            if map.is_null(r) || key.is_null(r) {
                return None;
            }
            let (a, b) = (offsets[r] as usize - first, offsets[r + 1] as usize - first);
            Some((a..b).any(|i| equal.is_valid(i) && equal.value(i)))
        })
        .collect();
    Ok(Arc::new(result))
}
