//! `aggregate(arr, zero, (acc, x) -> …[, acc -> …])` (also `reduce`): Spark folds the array
//! from `zero` through the merge function, then applies the finish function (identity by
//! default); the merge function must return `zero`'s type. NULL for a NULL array.
//! `zip_with(a, b, (x, y) -> …)`: the function over the arrays' elements pairwise, the
//! shorter array padded with NULLs; NULL when either array is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray, UInt32Array, new_null_array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, interleave, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature, HigherOrderUDF,
    HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

use super::lambda::{Flat, coerce_list, element_field};

/// `aggregate` or `reduce`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Aggregate {
    name: &'static str,
    signature: HigherOrderSignature,
}

/// `zip_with`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ZipWith {
    signature: HigherOrderSignature,
}

/// `aggregate`, `reduce` and `zip_with`.
pub fn functions() -> Vec<Arc<HigherOrderUDF>> {
    let fold = |name| {
        Arc::new(HigherOrderUDF::new_from_impl(Aggregate {
            name,
            signature: HigherOrderSignature::variadic_any(Volatility::Immutable),
        }))
    };
    let zip = ZipWith {
        signature: HigherOrderSignature::exact(
            vec![ValueOrLambda::Value(()), ValueOrLambda::Value(()), ValueOrLambda::Lambda(())],
            Volatility::Immutable,
        ),
    };
    vec![fold("aggregate"), fold("reduce"), Arc::new(HigherOrderUDF::new_from_impl(zip))]
}

fn renamed(f: &FieldRef, name: &str) -> FieldRef {
    Arc::new(f.as_ref().clone().with_name(name).with_nullable(true))
}

impl HigherOrderUDFImpl for Aggregate {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }
    fn coerce_value_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [list, zero] => Ok(vec![coerce_list(self.name, list)?, zero.clone()]),
            _ => plan_err!("{} takes an array, a start value and one or two lambda functions", self.name),
        }
    }
    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let (list, zero) = match fields {
            [ValueOrLambda::Value(l), ValueOrLambda::Value(z), ValueOrLambda::Lambda(_)]
            | [ValueOrLambda::Value(l), ValueOrLambda::Value(z), ValueOrLambda::Lambda(_), ValueOrLambda::Lambda(_)] => {
                (l, z)
            }
            _ => return plan_err!("{} takes an array, a start value and one or two lambda functions", self.name),
        };
        let element = element_field(self.name, list.data_type())?;
        let acc = renamed(zero, "acc");
        let mut params = vec![vec![acc.clone(), element]];
        if fields.len() == 4 {
            params.push(vec![acc]);
        }
        Ok(LambdaParametersProgress::Complete(params))
    }
    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let (zero, merge, finish) = match args.arg_fields {
            [_, ValueOrLambda::Value(z), ValueOrLambda::Lambda(m)] => (z, m, None),
            [_, ValueOrLambda::Value(z), ValueOrLambda::Lambda(m), ValueOrLambda::Lambda(f)] => (z, m, Some(f)),
            _ => return plan_err!("{} takes an array, a start value and one or two lambda functions", self.name),
        };
        if merge.data_type() != zero.data_type() && merge.data_type() != &DataType::Null {
            return plan_err!(
                "function {} is not supported yet: with a merge function of type {} from a start value of type {}",
                self.name,
                merge.data_type(),
                zero.data_type()
            );
        }
        let t = finish.map_or(zero.data_type(), |f| f.data_type()).clone();
        Ok(Arc::new(Field::new(self.name, t, true)))
    }
    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (list, zero, merge, finish) = match args.args.as_slice() {
            [ValueOrLambda::Value(l), ValueOrLambda::Value(z), ValueOrLambda::Lambda(m)] => (l, z, m, None),
            [ValueOrLambda::Value(l), ValueOrLambda::Value(z), ValueOrLambda::Lambda(m), ValueOrLambda::Lambda(f)] => {
                (l, z, m, Some(f))
            }
            _ => return exec_err!("{} takes an array, a start value and one or two lambda functions", self.name),
        };
        let flat = Flat::new(&list.to_array(rows)?)?;
        let mut acc = zero.to_array(rows)?;
        let longest = (0..rows).map(|r| flat.offsets[r + 1] - flat.offsets[r]).max().unwrap_or(0);
        for k in 0..longest {
            let active: Vec<u32> = (0..rows)
                .filter(|&r| flat.list.is_valid(r) && flat.offsets[r + 1] - flat.offsets[r] > k)
                .map(|r| r as u32)
                .collect();
            let positions: UInt32Array = active.iter().map(|&r| (flat.offsets[r as usize] + k) as u32).collect();
            let active_rows = UInt32Array::from(active.clone());
            let acc_now = take(&acc, &active_rows, None)?;
            let x_now = take(&flat.values, &positions, None)?;
            let a = || Ok(acc_now.clone());
            let x = || Ok(x_now.clone());
            let merged = merge
                .evaluate(&[&a, &x], |captured| Ok(take_arrays(captured, &active_rows, None)?))?
                .into_array(active.len())?;
            let merged = if merged.data_type() == acc.data_type() { merged } else { cast(&merged, acc.data_type())? };
            let mut slot = vec![(0usize, 0usize); rows];
            for (r, s) in slot.iter_mut().enumerate() {
                *s = (0, r);
            }
            for (j, &r) in active.iter().enumerate() {
                slot[r as usize] = (1, j);
            }
            acc = interleave(&[acc.as_ref(), merged.as_ref()], &slot)?;
        }
        let result = match finish {
            Some(f) => {
                let a = || Ok(acc.clone());
                f.evaluate(&[&a], |captured| Ok(captured.to_vec()))?.into_array(rows)?
            }
            None => acc,
        };
        let result = match flat.list.nulls() {
            Some(n) => {
                let data = result.to_data();
                let nulls = NullBuffer::union(data.nulls(), Some(n));
                datafusion::arrow::array::make_array(data.into_builder().nulls(nulls).build()?)
            }
            None => result,
        };
        Ok(ColumnarValue::Array(result))
    }
}

impl HigherOrderUDFImpl for ZipWith {
    fn name(&self) -> &str {
        "zip_with"
    }
    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }
    fn coerce_value_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, b] => Ok(vec![coerce_list("zip_with", a)?, coerce_list("zip_with", b)?]),
            _ => plan_err!("zip_with takes two arrays and a lambda function"),
        }
    }
    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let [ValueOrLambda::Value(a), ValueOrLambda::Value(b), ValueOrLambda::Lambda(_)] = fields else {
            return plan_err!("zip_with takes two arrays and a lambda function");
        };
        let x = renamed(&element_field("zip_with", a.data_type())?, "x");
        let y = renamed(&element_field("zip_with", b.data_type())?, "y");
        Ok(LambdaParametersProgress::Complete(vec![vec![x, y]]))
    }
    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let [_, _, ValueOrLambda::Lambda(f)] = args.arg_fields else {
            return plan_err!("zip_with takes two arrays and a lambda function");
        };
        Ok(Arc::new(Field::new("zip_with", DataType::new_list(f.data_type().clone(), true), true)))
    }
    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [ValueOrLambda::Value(a), ValueOrLambda::Value(b), ValueOrLambda::Lambda(f)] = args.args.as_slice() else {
            return exec_err!("zip_with takes two arrays and a lambda function");
        };
        let a = Flat::new(&a.to_array(rows)?)?;
        let b = Flat::new(&b.to_array(rows)?)?;
        let mut offsets: Vec<i32> = vec![0];
        let mut owners: Vec<u32> = Vec::new();
        let mut at_a: Vec<Option<u32>> = Vec::new();
        let mut at_b: Vec<Option<u32>> = Vec::new();
        let mut valid = Vec::with_capacity(rows);
        for r in 0..rows {
            let ok = a.list.is_valid(r) && b.list.is_valid(r);
            valid.push(ok);
            if ok {
                let (la, lb) = (a.offsets[r + 1] - a.offsets[r], b.offsets[r + 1] - b.offsets[r]);
                for k in 0..la.max(lb) {
                    owners.push(r as u32);
                    at_a.push((k < la).then(|| (a.offsets[r] + k) as u32));
                    at_b.push((k < lb).then(|| (b.offsets[r] + k) as u32));
                }
            }
            let Ok(end) = i32::try_from(owners.len()) else { return exec_err!("zip_with: the result is too large") };
            offsets.push(end);
        }
        let item = element_field("zip_with", args.return_field.data_type())?;
        let values = if owners.is_empty() {
            new_null_array(item.data_type(), 0)
        } else {
            let xs = take(&a.values, &UInt32Array::from(at_a), None)?;
            let ys = take(&b.values, &UInt32Array::from(at_b), None)?;
            let owners = UInt32Array::from(owners);
            let x = || Ok(xs.clone());
            let y = || Ok(ys.clone());
            let out = f
                .evaluate(&[&x, &y], |captured| Ok(take_arrays(captured, &owners, None)?))?
                .into_array(owners.len())?;
            if out.data_type() == item.data_type() { out } else { cast(&out, item.data_type())? }
        };
        let nulls = NullBuffer::from(valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let result: ArrayRef = Arc::new(ListArray::try_new(item, OffsetBuffer::new(offsets.into()), values, nulls)?);
        Ok(ColumnarValue::Array(result))
    }
}
