//! `array_sort(arr, (left, right) -> …)`: Spark sorts the array with a comparator returning a
//! negative, zero or positive integer (stable: equal elements keep their order); a NULL
//! comparison is an error. Planned as `array_sort_by` (the SQL rewrite renames the call, as a
//! scalar `array_sort` takes precedence over higher-order functions of the same name).
//! The comparator runs once over every pair of elements of each array, so very long arrays
//! are refused.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, ListArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{cast, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature, HigherOrderUDF,
    HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

use super::lambda::{Flat, coerce_list, element_field};

/// The most comparisons Weir evaluates for one batch.
const MAX_PAIRS: usize = 16 * 1024 * 1024;

/// `array_sort` with a comparator.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArraySortBy {
    signature: HigherOrderSignature,
}

/// The function.
pub fn function() -> Arc<HigherOrderUDF> {
    Arc::new(HigherOrderUDF::new_from_impl(ArraySortBy {
        signature: HigherOrderSignature::exact(
            vec![ValueOrLambda::Value(()), ValueOrLambda::Lambda(())],
            Volatility::Immutable,
        ),
    }))
}

/// A stable merge sort of `items` by `cmp` (which need not be consistent).
fn merge_sort(items: &mut Vec<usize>, cmp: &dyn Fn(usize, usize) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut right = items.split_off(items.len() / 2);
    merge_sort(items, cmp);
    merge_sort(&mut right, cmp);
    let left = std::mem::take(items);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(right[j], left[i]) == Ordering::Less {
            items.push(right[j]);
            j += 1;
        } else {
            items.push(left[i]);
            i += 1;
        }
    }
    items.extend_from_slice(&left[i..]);
    items.extend_from_slice(&right[j..]);
}

impl HigherOrderUDFImpl for ArraySortBy {
    fn name(&self) -> &str {
        "array_sort_by"
    }
    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }
    fn coerce_value_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [list] => Ok(vec![coerce_list("array_sort", list)?]),
            _ => plan_err!("array_sort takes an array and a comparator"),
        }
    }
    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(_)] = fields else {
            return plan_err!("array_sort takes an array and a comparator");
        };
        let e = element_field("array_sort", list.data_type())?;
        let left = Arc::new(e.as_ref().clone().with_name("left").with_nullable(true));
        let right = Arc::new(e.as_ref().clone().with_name("right").with_nullable(true));
        Ok(LambdaParametersProgress::Complete(vec![vec![left, right]]))
    }
    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(cmp)] = args.arg_fields else {
            return plan_err!("array_sort takes an array and a comparator");
        };
        if !cmp.data_type().is_integer() {
            return plan_err!(
                "function array_sort is not supported yet: with a comparator returning {}",
                cmp.data_type()
            );
        }
        Ok(Arc::new(Field::new("array_sort", list.data_type().clone(), true)))
    }
    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(cmp)] = args.args.as_slice() else {
            return exec_err!("array_sort takes an array and a comparator");
        };
        let flat = Flat::new(&list.to_array(rows)?)?;
        let mut left: Vec<u32> = Vec::new();
        let mut right: Vec<u32> = Vec::new();
        let mut owners: Vec<u32> = Vec::new();
        let mut base = Vec::with_capacity(rows);
        for r in 0..rows {
            base.push(left.len());
            if flat.list.is_null(r) {
                continue;
            }
            let (a, b) = (flat.offsets[r], flat.offsets[r + 1]);
            for i in a..b {
                for j in a..b {
                    left.push(i as u32);
                    right.push(j as u32);
                    owners.push(r as u32);
                }
            }
            if left.len() > MAX_PAIRS {
                return exec_err!("function array_sort is not supported yet: with a comparator over arrays this long");
            }
        }
        let order: Int64Array = if left.is_empty() {
            Int64Array::from(Vec::<i64>::new())
        } else {
            let ls = take(&flat.values, &UInt32Array::from(left.clone()), None)?;
            let rs = take(&flat.values, &UInt32Array::from(right), None)?;
            let owners = UInt32Array::from(owners);
            let l = || Ok(ls.clone());
            let r = || Ok(rs.clone());
            let out = cmp
                .evaluate(&[&l, &r], |captured| Ok(take_arrays(captured, &owners, None)?))?
                .into_array(left.len())?;
            let out = cast(&out, &DataType::Int64)?;
            let out = out.as_any().downcast_ref::<datafusion::arrow::array::PrimitiveArray<Int64Type>>().cloned();
            let Some(out) = out else { return exec_err!("array_sort: the comparator must return an integer") };
            if out.null_count() > 0 {
                return exec_err!("[COMPARATOR_RETURNS_NULL] The comparator has returned a NULL for a comparison");
            }
            out
        };
        let mut picks: Vec<u32> = Vec::with_capacity(flat.values.len());
        for r in 0..rows {
            let (a, b) = (flat.offsets[r], flat.offsets[r + 1]);
            let n = b - a;
            let mut items: Vec<usize> = (0..n).collect();
            if flat.list.is_valid(r) {
                let at = base[r];
                merge_sort(&mut items, &|i, j| order.value(at + i * n + j).cmp(&0));
            }
            picks.extend(items.iter().map(|i| (a + i) as u32));
        }
        let values = take(&flat.values, &UInt32Array::from(picks), None)?;
        let item = element_field("array_sort", flat.list.data_type())?;
        let offsets = OffsetBuffer::new(flat.offsets.iter().map(|o| *o as i32).collect::<Vec<_>>().into());
        let result: ArrayRef = Arc::new(ListArray::try_new(item, offsets, values, flat.list.nulls().cloned())?);
        Ok(ColumnarValue::Array(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_descending() {
        let keys = [3, 1, 2, 1];
        let mut items: Vec<usize> = (0..4).collect();
        merge_sort(&mut items, &|i, j| keys[j].cmp(&keys[i]));
        assert_eq!(items, vec![0, 2, 1, 3]);
    }
}
