//! Spark's array higher-order functions over one array: `transform(arr, (x[, i]) -> …)`,
//! `filter(arr, (x[, i]) -> …)`, `exists(arr, x -> …)` and `forall(arr, x -> …)`. The
//! optional second lambda parameter is the element's 0-based index (an `int`). `exists` is
//! true when the predicate is true for some element, else NULL when it is NULL for some,
//! else false; `forall` is false when it is false for some, else NULL when NULL for some,
//! else true. `filter` keeps the elements whose predicate is true. A NULL array gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{cast, filter, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature, HigherOrderUDF,
    HigherOrderUDFImpl, LambdaArgument, LambdaParametersProgress, ValueOrLambda, Volatility,
};

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Transform,
    Filter,
    Exists,
    Forall,
}

/// One of the functions (see the module doc).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArrayLambda {
    kind: Kind,
    signature: HigherOrderSignature,
}

impl ArrayLambda {
    pub fn new(kind: Kind) -> Self {
        let signature = HigherOrderSignature::exact(
            vec![ValueOrLambda::Value(()), ValueOrLambda::Lambda(())],
            Volatility::Immutable,
        );
        Self { kind, signature }
    }
}

/// The four functions.
pub fn functions() -> Vec<Arc<HigherOrderUDF>> {
    [Kind::Transform, Kind::Filter, Kind::Exists, Kind::Forall]
        .into_iter()
        .map(|k| Arc::new(HigherOrderUDF::new_from_impl(ArrayLambda::new(k))))
        .collect()
}

/// A list type coerced to `List` (a NULL to a list of NULLs).
pub(crate) fn coerce_list(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(_) => Ok(t.clone()),
        DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) | DataType::LargeListView(f) => {
            Ok(DataType::List(f.clone()))
        }
        DataType::Null => Ok(DataType::new_list(DataType::Null, true)),
        _ => plan_err!("{name} expects an array, got {t}"),
    }
}

pub(crate) fn element_field(name: &str, t: &DataType) -> Result<FieldRef> {
    match t {
        DataType::List(f) | DataType::LargeList(f) => Ok(f.clone()),
        _ => plan_err!("{name} expects an array, got {t}"),
    }
}

/// A list's elements as one array, with the list's offsets rebased to 0.
pub(crate) struct Flat {
    pub list: ListArray,
    pub values: ArrayRef,
    pub offsets: Vec<usize>,
}

impl Flat {
    pub fn new(list: &ArrayRef) -> Result<Self> {
        let list = match list.data_type() {
            DataType::List(_) => list.as_list::<i32>().clone(),
            DataType::Null => {
                let t = DataType::new_list(DataType::Null, true);
                cast(list, &t)?.as_list::<i32>().clone()
            }
            other => {
                let Ok(f) = element_field("a lambda function", other) else {
                    return exec_err!("expected an array, got {other}");
                };
                cast(list, &DataType::List(f))?.as_list::<i32>().clone()
            }
        };
        let raw = list.value_offsets();
        let first = raw[0] as usize;
        let last = raw[list.len()] as usize;
        let values = list.values().slice(first, last - first);
        let offsets = raw.iter().map(|o| *o as usize - first).collect();
        Ok(Self { list, values, offsets })
    }

    /// The row of each element.
    pub fn owners(&self) -> UInt32Array {
        (0..self.list.len())
            .flat_map(|r| std::iter::repeat_n(r as u32, self.offsets[r + 1] - self.offsets[r]))
            .collect()
    }

    /// Each element's 0-based index in its array.
    pub fn indices(&self) -> Int32Array {
        (0..self.list.len()).flat_map(|r| 0..(self.offsets[r + 1] - self.offsets[r]) as i32).collect()
    }

    /// The lambda over every element: parameters the element and its index.
    pub fn apply(&self, lambda: &LambdaArgument) -> Result<ArrayRef> {
        let values = || Ok(self.values.clone());
        let indices = || Ok(Arc::new(self.indices()) as ArrayRef);
        let result = lambda.evaluate(&[&values, &indices], |captured| {
            let owners = self.owners();
            Ok(take_arrays(captured, &owners, None)?)
        })?;
        result.into_array(self.values.len())
    }
}

fn predicate(array: ArrayRef) -> Result<BooleanArray> {
    match array.data_type() {
        DataType::Boolean => Ok(array.as_boolean().clone()),
        DataType::Null => Ok(BooleanArray::new_null(array.len())),
        other => exec_err!("the lambda function must return a boolean, not {other}"),
    }
}

impl HigherOrderUDFImpl for ArrayLambda {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Transform => "transform",
            Kind::Filter => "filter",
            Kind::Exists => "exists",
            Kind::Forall => "forall",
        }
    }
    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }
    fn coerce_value_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [list] => Ok(vec![coerce_list(self.name(), list)?]),
            _ => plan_err!("{} takes an array and a lambda function", self.name()),
        }
    }
    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(_)] = fields else {
            return plan_err!("{} takes an array and a lambda function", self.name());
        };
        let element = element_field(self.name(), list.data_type())?;
        let mut params = vec![element];
        if matches!(self.kind, Kind::Transform | Kind::Filter) {
            params.push(Arc::new(Field::new("i", DataType::Int32, false)));
        }
        Ok(LambdaParametersProgress::Complete(vec![params]))
    }
    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(lambda)] = args.arg_fields else {
            return plan_err!("{} takes an array and a lambda function", self.name());
        };
        let t = match self.kind {
            Kind::Transform => DataType::new_list(lambda.data_type().clone(), true),
            Kind::Filter => list.data_type().clone(),
            Kind::Exists | Kind::Forall => {
                if !matches!(lambda.data_type(), DataType::Boolean | DataType::Null) {
                    return plan_err!("the {} lambda function must return a boolean", self.name());
                }
                DataType::Boolean
            }
        };
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }
    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let [ValueOrLambda::Value(list), ValueOrLambda::Lambda(lambda)] = args.args.as_slice() else {
            return exec_err!("{} takes an array and a lambda function", self.name());
        };
        let list = list.to_array(args.number_rows)?;
        let flat = Flat::new(&list)?;
        let nulls = flat.list.nulls().cloned();
        let rows = flat.list.len();
        let result: ArrayRef = if flat.values.is_empty() {
            match self.kind {
                Kind::Transform | Kind::Filter => {
                    let t = args.return_field.data_type();
                    let item = element_field(self.name(), t)?;
                    let values = datafusion::arrow::array::new_empty_array(item.data_type());
                    Arc::new(ListArray::try_new(item, OffsetBuffer::new_zeroed(rows), values, nulls)?)
                }
                Kind::Exists => Arc::new(BooleanArray::new(vec![false; rows].into(), nulls)),
                Kind::Forall => Arc::new(BooleanArray::new(vec![true; rows].into(), nulls)),
            }
        } else {
            let out = flat.apply(lambda)?;
            match self.kind {
                Kind::Transform => {
                    let item = element_field(self.name(), args.return_field.data_type())?;
                    let out = if out.data_type() == item.data_type() { out } else { cast(&out, item.data_type())? };
                    let offsets = OffsetBuffer::new(flat.offsets.iter().map(|o| *o as i32).collect::<Vec<_>>().into());
                    Arc::new(ListArray::try_new(item, offsets, out, nulls)?)
                }
                Kind::Filter => {
                    let keep = predicate(out)?;
                    let mut offsets: Vec<i32> = vec![0];
                    let mut kept = 0i32;
                    for r in 0..rows {
                        for i in flat.offsets[r]..flat.offsets[r + 1] {
                            if keep.is_valid(i) && keep.value(i) {
                                kept += 1;
                            }
                        }
                        offsets.push(kept);
                    }
                    let mask = BooleanArray::from(
                        (0..keep.len()).map(|i| keep.is_valid(i) && keep.value(i)).collect::<Vec<bool>>(),
                    );
                    let values = filter(&flat.values, &mask)?;
                    let item = element_field(self.name(), flat.list.data_type())?;
                    Arc::new(ListArray::try_new(item, OffsetBuffer::new(offsets.into()), values, nulls)?)
                }
                Kind::Exists | Kind::Forall => {
                    let p = predicate(out)?;
                    let decisive = self.kind == Kind::Exists;
                    let result: BooleanArray = (0..rows)
                        .map(|r| {
                            if flat.list.is_null(r) {
                                return None;
                            }
                            let range = flat.offsets[r]..flat.offsets[r + 1];
                            if range.clone().any(|i| p.is_valid(i) && p.value(i) == decisive) {
                                Some(decisive)
                            } else if range.clone().any(|i| p.is_null(i)) {
                                None
                            } else {
                                Some(!decisive)
                            }
                        })
                        .collect();
                    Arc::new(result)
                }
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}
