//! `array_insert(arr, pos, item)`: Spark puts `item` at 1-based position `pos`. A position
//! past the end pads with NULLs (`array_insert(array(1), 3, 9)` is `[1, NULL, 9]`). A
//! negative position counts from the end, -1 meaning after the last element; one before the
//! start puts `item` first and pads with NULLs up to the array (`array_insert(array(1, 2),
//! -4, 9)` is `[9, NULL, 1, 2]`). Position 0 is an error. A NULL array or position gives NULL;
//! a NULL item is inserted.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, MutableArrayData, make_array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// `array_insert`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArrayInsert {
    signature: Signature,
}

impl ArrayInsert {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for ArrayInsert {
    fn default() -> Self {
        Self::new()
    }
}

/// The element type of a list type (`Null` for a NULL literal).
pub(crate) fn element_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(f.data_type().clone()),
        DataType::Null => Some(DataType::Null),
        _ => None,
    }
}

pub(crate) fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(element, true)))
}

impl ScalarUDFImpl for ArrayInsert {
    fn name(&self) -> &str {
        "array_insert"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [list, pos, item] = args else { return plan_err!("array_insert takes 3 arguments, got {}", args.len()) };
        let Some(element) = element_type(list) else {
            return plan_err!("array_insert expects an array as its first argument, got {list}");
        };
        if !(pos.is_integer() || pos == &DataType::Null) {
            return plan_err!("function array_insert with a {pos} position is not supported yet");
        }
        let element = match (&element, item) {
            (DataType::Null, t) | (t, DataType::Null) => t.clone(),
            (a, b) if a == b => a.clone(),
            (a, b) => match type_union_resolution(&[a.clone(), b.clone()]) {
                Some(t) => t,
                None => return plan_err!("array_insert cannot insert a {b} into an array<{a}>"),
            },
        };
        Ok(vec![list_of(element.clone()), DataType::Int32, element])
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(list_of(element_type(&args[0]).unwrap_or(DataType::Null)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let list = args.args[0].to_array(rows)?;
        let pos = args.args[1].to_array(rows)?;
        let item = args.args[2].to_array(rows)?;
        let result = insert(&list, &pos, &item)?;
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

fn insert(list: &ArrayRef, pos: &ArrayRef, item: &ArrayRef) -> Result<ArrayRef> {
    let element = element_type(list.data_type()).unwrap_or(DataType::Null);
    let list = if list.data_type() == &DataType::Null {
        datafusion::arrow::array::new_null_array(&list_of(element.clone()), list.len())
    } else {
        cast(list, &list_of(element.clone()))?
    };
    let list = list.as_list::<i32>();
    let item = if item.data_type() == &element { item.clone() } else { cast(item, &element)? };
    let pos = cast(pos, &DataType::Int32)?;
    let pos = pos.as_primitive::<Int32Type>();
    let values = list.values().to_data();
    let items = item.to_data();
    let mut out = MutableArrayData::new(vec![&values, &items], true, values.len() + items.len());
    let mut offsets: Vec<i32> = Vec::with_capacity(list.len() + 1);
    offsets.push(0);
    let mut valid = Vec::with_capacity(list.len());
    let mut length: usize = 0;
    for row in 0..list.len() {
        if list.is_null(row) || pos.is_null(row) {
            valid.push(false);
            offsets.push(length as i32);
            continue;
        }
        let start = list.value_offsets()[row] as usize;
        let n = list.value_length(row) as usize;
        let p = pos.value(row) as i64;
        if p == 0 {
            return exec_err!("[INVALID_INDEX_OF_ZERO] array_insert: the index 0 is invalid; indices start at 1");
        }
        let added = if p > 0 {
            let at = (p - 1) as usize;
            if at <= n {
                out.try_extend(0, start, start + at)?;
                out.try_extend(1, row, row + 1)?;
                out.try_extend(0, start + at, start + n)?;
                n + 1
            } else {
                out.try_extend(0, start, start + n)?;
                out.try_extend_nulls(at - n)?;
                out.try_extend(1, row, row + 1)?;
                at + 1
            }
        } else if (-p) as usize > n {
            let pad = (-p) as usize - n - 1;
            out.try_extend(1, row, row + 1)?;
            out.try_extend_nulls(pad)?;
            out.try_extend(0, start, start + n)?;
            n + pad + 1
        } else {
            let at = (n as i64 + p + 1) as usize;
            out.try_extend(0, start, start + at)?;
            out.try_extend(1, row, row + 1)?;
            out.try_extend(0, start + at, start + n)?;
            n + 1
        };
        length += added;
        if length > i32::MAX as usize {
            return exec_err!("array_insert: the result is too large");
        }
        offsets.push(length as i32);
        valid.push(true);
    }
    let values = make_array(out.freeze());
    let field = Arc::new(Field::new_list_field(element, true));
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(ListArray::try_new(field, OffsetBuffer::new(offsets.into()), values, nulls)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, ListArray};
    use datafusion::arrow::datatypes::Int32Type;

    fn run(list: Vec<Option<i32>>, pos: i32) -> Vec<Option<i32>> {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(list)]));
        let pos: ArrayRef = Arc::new(Int32Array::from(vec![pos]));
        let item: ArrayRef = Arc::new(Int32Array::from(vec![9]));
        let result = insert(&list, &pos, &item).expect("insert");
        let result = result.as_list::<i32>().value(0);
        result.as_primitive::<Int32Type>().iter().collect()
    }

    #[test]
    fn positions() {
        assert_eq!(run(vec![Some(1), Some(2), Some(3)], 2), vec![Some(1), Some(9), Some(2), Some(3)]);
        assert_eq!(run(vec![Some(1), Some(2)], -1), vec![Some(1), Some(2), Some(9)]);
        assert_eq!(run(vec![Some(1)], 5), vec![Some(1), None, None, None, Some(9)]);
        assert_eq!(run(vec![Some(1), Some(2)], -3), vec![Some(9), Some(1), Some(2)]);
        assert_eq!(run(vec![Some(1), Some(2)], -4), vec![Some(9), None, Some(1), Some(2)]);
        assert_eq!(
            run(vec![Some(5), Some(3), Some(2), Some(1)], -4),
            vec![Some(5), Some(9), Some(3), Some(2), Some(1)]
        );
    }
}
