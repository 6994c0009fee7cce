//! Helpers of Spark's generators (`explode`, `posexplode`, `inline`, `stack` and their
//! `_outer` forms), which [`crate::sql::rewrite::generators`] plans as DataFusion's `unnest`
//! of arrays these functions build. Internal: their names start with `__weir_`.
//!
//! - `__weir_generator_shape(x, id)`: never planned through. Its type computation fails with
//!   a message that says what `x` is (an array, a map, an array of structs and their field
//!   names), which the planner reads to rewrite generator `id` for that shape.
//! - `__weir_outer(arr)`: `arr`, or `[NULL]` when it is NULL or empty (the `_outer` forms
//!   keep such rows, with NULL columns).
//! - `__weir_positions(x, outer)`: `[0, 1, …]`, one position per element of the array or
//!   map `x` (an INT, as Spark's `pos`); with `outer`, `[NULL]` when `x` is NULL or empty.
//! - `__weir_stack(e1, …, en)`: one column of `stack` as the array `[e1, …, en]`; as Spark,
//!   the values must have one type (NULLs take it).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, Int32Builder, ListBuilder, OffsetSizeTrait, UInt64Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Starts the message of `__weir_generator_shape`'s planning error.
pub const SHAPE_MARKER: &str = "WEIR_GENERATOR_SHAPE";
/// Separates the parts of the message (never in a field name Spark writes).
const SEPARATOR: char = '\u{1f}';
/// Ends the message.
const END: char = '\u{1e}';

/// What a generator's argument is, as the planner learned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Array,
    Map,
    /// An array of structs with these field names.
    Structs(Vec<String>),
    /// Anything else (its type, as DataFusion writes it).
    Other(String),
}

/// The generator id and shape in a planning error of `__weir_generator_shape`.
pub fn probed(message: &str) -> Option<(usize, Shape)> {
    let start = message.find(SHAPE_MARKER)? + SHAPE_MARKER.len();
    let rest = &message[start..];
    let rest = &rest[..rest.find(END)?];
    let mut parts = rest.split(SEPARATOR).skip(1);
    let id = parts.next()?.parse().ok()?;
    let shape = match parts.next()? {
        "array" => Shape::Array,
        "map" => Shape::Map,
        "structs" => Shape::Structs(parts.map(str::to_string).collect()),
        other => Shape::Other(other.trim_start_matches("other:").to_string()),
    };
    Some((id, shape))
}

fn describe(t: &DataType) -> String {
    match t {
        DataType::Map(_, _) => "map".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => match f.data_type() {
            DataType::Struct(fields) => {
                let mut text = String::from("structs");
                for field in fields {
                    text.push(SEPARATOR);
                    text.push_str(field.name());
                }
                text
            }
            _ => "array".into(),
        },
        other => format!("other:{other}"),
    }
}

macro_rules! helper_udf {
    ($name:ident) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            signature: Signature,
        }
        impl Default for $name {
            fn default() -> Self {
                Self { signature: Signature::user_defined(Volatility::Immutable) }
            }
        }
    };
}

helper_udf!(GeneratorShape);

impl ScalarUDFImpl for GeneratorShape {
    fn name(&self) -> &str {
        "__weir_generator_shape"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(args.to_vec())
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        internal_err!("__weir_generator_shape computes its type from its arguments' fields")
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let id = match args.scalar_arguments.get(1) {
            Some(Some(value)) => value.cast_to(&DataType::Int64)?,
            _ => return internal_err!("__weir_generator_shape needs a literal id"),
        };
        let ScalarValue::Int64(Some(id)) = id else { return internal_err!("__weir_generator_shape needs an id") };
        let Some(field) = args.arg_fields.first() else {
            return internal_err!("__weir_generator_shape needs an argument");
        };
        plan_err!("{SHAPE_MARKER}{SEPARATOR}{id}{SEPARATOR}{}{END}", describe(field.data_type()))
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        internal_err!("__weir_generator_shape is never executed")
    }
}

helper_udf!(Outer);

impl ScalarUDFImpl for Outer {
    fn name(&self) -> &str {
        "__weir_outer"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::List(_) | DataType::LargeList(_)] => Ok(args.to_vec()),
            [DataType::FixedSizeList(f, _)] => Ok(vec![DataType::List(f.clone())]),
            _ => plan_err!("an outer generator of {args:?} is not supported yet"),
        }
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::List(f)] => Ok(DataType::List(Arc::new(f.as_ref().clone().with_nullable(true)))),
            [DataType::LargeList(f)] => Ok(DataType::LargeList(Arc::new(f.as_ref().clone().with_nullable(true)))),
            _ => plan_err!("an outer generator of {args:?} is not supported yet"),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let item = match args.return_field.data_type() {
            DataType::List(f) | DataType::LargeList(f) => f.clone(),
            _ => return internal_err!("__weir_outer returns a list"),
        };
        let result: ArrayRef = match input.data_type() {
            DataType::List(_) => Arc::new(outer(input.as_list::<i32>(), item)?),
            DataType::LargeList(_) => Arc::new(outer(input.as_list::<i64>(), item)?),
            other => return internal_err!("__weir_outer of {other}"),
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// Each list, or `[NULL]` where it is NULL or empty.
fn outer<O: OffsetSizeTrait>(list: &GenericListArray<O>, item: FieldRef) -> Result<GenericListArray<O>> {
    let mut indices: Vec<Option<u64>> = Vec::with_capacity(list.values().len() + 1);
    let mut offsets: Vec<O> = Vec::with_capacity(list.len() + 1);
    offsets.push(O::zero());
    for (row, window) in list.offsets().windows(2).enumerate() {
        let (start, end) = (window[0].as_usize(), window[1].as_usize());
        if list.is_null(row) || start == end {
            indices.push(None);
        } else {
            indices.extend((start..end).map(|i| Some(i as u64)));
        }
        offsets.push(O::usize_as(indices.len()));
    }
    let values = datafusion::arrow::compute::take(list.values().as_ref(), &UInt64Array::from(indices), None)?;
    Ok(GenericListArray::try_new(item, OffsetBuffer::new(offsets.into()), values, None)?)
}

helper_udf!(Positions);

impl ScalarUDFImpl for Positions {
    fn name(&self) -> &str {
        "__weir_positions"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) | DataType::Map(_, _), _] => {
                Ok(vec![args[0].clone(), DataType::Boolean])
            }
            _ => plan_err!("posexplode of {args:?} is not supported yet"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let outer = matches!(args.args.get(1), Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))));
        let input = args.args[0].to_array(args.number_rows)?;
        let lengths: Vec<Option<usize>> = match input.data_type() {
            DataType::List(_) => lengths(input.as_list::<i32>()),
            DataType::LargeList(_) => lengths(input.as_list::<i64>()),
            DataType::FixedSizeList(_, n) => {
                (0..input.len()).map(|i| (!input.is_null(i)).then_some(*n as usize)).collect()
            }
            DataType::Map(_, _) => {
                let map = input.as_map();
                map.offsets()
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| (!map.is_null(i)).then_some((w[1] - w[0]) as usize))
                    .collect()
            }
            other => return internal_err!("__weir_positions of {other}"),
        };
        let mut builder = ListBuilder::new(Int32Builder::new());
        for length in lengths {
            match length {
                Some(0) | None if outer => {
                    builder.values().append_null();
                    builder.append(true);
                }
                None => builder.append(false),
                Some(n) => {
                    for i in 0..n {
                        builder.values().append_value(i as i32);
                    }
                    builder.append(true);
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(builder.finish())))
    }
}

fn lengths<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> Vec<Option<usize>> {
    list.offsets().windows(2).enumerate().map(|(i, w)| (!list.is_null(i)).then_some((w[1] - w[0]).as_usize())).collect()
}

helper_udf!(Stack);

/// Spark's type of a value, for `stack`'s check (its string types are one).
fn spark_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        other => other.clone(),
    }
}

impl ScalarUDFImpl for Stack {
    fn name(&self) -> &str {
        "__weir_stack"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let Some(first) = args.iter().find(|t| **t != DataType::Null) else { return Ok(args.to_vec()) };
        let target = spark_type(first);
        if let Some(other) = args.iter().find(|t| **t != DataType::Null && spark_type(t) != target) {
            return plan_err!(
                "[DATATYPE_MISMATCH.STACK_COLUMN_DIFF_TYPES] Cannot resolve \"stack\" due to data type mismatch: the values of a column do not have the same type: {target} <> {other}"
            );
        }
        Ok(vec![target; args.len()])
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let item = args.first().cloned().unwrap_or(DataType::Null);
        Ok(DataType::List(Arc::new(Field::new_list_field(item, true))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
        let n = columns.len();
        let DataType::List(item) = args.return_field.data_type() else {
            return internal_err!("__weir_stack returns a list");
        };
        let refs: Vec<&dyn Array> = columns.iter().map(|c| c.as_ref()).collect();
        let indices: Vec<(usize, usize)> = (0..rows).flat_map(|r| (0..n).map(move |j| (j, r))).collect();
        let values = if refs.is_empty() {
            datafusion::arrow::array::new_empty_array(item.data_type())
        } else {
            datafusion::arrow::compute::interleave(&refs, &indices)?
        };
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(n, rows));
        Ok(ColumnarValue::Array(Arc::new(GenericListArray::<i32>::try_new(item.clone(), offsets, values, None)?)))
    }
}

/// The helpers, to register with the other functions.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(GeneratorShape::default())),
        Arc::new(ScalarUDF::from(Outer::default())),
        Arc::new(ScalarUDF::from(Positions::default())),
        Arc::new(ScalarUDF::from(Stack::default())),
    ]
}
