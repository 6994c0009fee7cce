//! `sequence(start, stop[, step])` over integers: Spark's array from `start` to `stop`
//! inclusive, by `step` (default 1, or -1 when `stop < start`). A step of the wrong sign (or
//! zero, unless start = stop) is an error. The element type is the arguments' common
//! integer type. Dates and timestamps (stepped by intervals) are not supported yet.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// Spark's limit on an array's length.
const MAX_LENGTH: i64 = i32::MAX as i64 - 15;

/// `sequence`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sequence {
    signature: Signature,
}

impl Sequence {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for Sequence {
    fn default() -> Self {
        Self::new()
    }
}

fn rank(t: &DataType) -> Option<u8> {
    match t {
        DataType::Null => Some(0),
        DataType::Int8 => Some(1),
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(3),
        DataType::Int64 => Some(4),
        _ => None,
    }
}

impl ScalarUDFImpl for Sequence {
    fn name(&self) -> &str {
        "sequence"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("sequence takes 2 or 3 arguments, got {}", args.len());
        }
        let mut widest = DataType::Null;
        for t in args {
            match (rank(t), rank(&widest)) {
                (Some(a), Some(b)) => {
                    if a > b {
                        widest = t.clone();
                    }
                }
                _ => {
                    return plan_err!("function sequence is not supported yet: over {t} (only integers are)");
                }
            }
        }
        if widest == DataType::Null {
            widest = DataType::Int32;
        }
        Ok(vec![widest; args.len()])
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(args[0].clone(), false))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let element = args.arg_fields[0].data_type().clone();
        let inputs: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows).and_then(|a| Ok(cast(&a, &DataType::Int64)?)))
            .collect::<Result<_>>()?;
        let start = inputs[0].as_primitive::<Int64Type>();
        let stop = inputs[1].as_primitive::<Int64Type>();
        let step = inputs.get(2).map(|s| s.as_primitive::<Int64Type>());
        let mut values = Int64Builder::new();
        let mut offsets: Vec<i32> = vec![0];
        let mut valid = Vec::with_capacity(rows);
        let mut total: i64 = 0;
        for row in 0..rows {
            let null = start.is_null(row) || stop.is_null(row) || step.is_some_and(|s| s.is_null(row));
            if null {
                valid.push(false);
                offsets.push(total as i32);
                continue;
            }
            let (a, b) = (start.value(row), stop.value(row));
            let s = match step {
                Some(s) => s.value(row),
                None if b >= a => 1,
                None => -1,
            };
            let ok = (s > 0 && a <= b) || (s < 0 && a >= b) || (s == 0 && a == b);
            if !ok {
                return exec_err!("[INVALID_SEQUENCE_BOUNDARIES] Illegal sequence boundaries: {a} to {b} by {s}");
            }
            let count = if s == 0 { 1 } else { ((b as i128 - a as i128) / s as i128) as i64 + 1 };
            if count > MAX_LENGTH || total + count > i32::MAX as i64 {
                return exec_err!("sequence: too long a sequence ({count} elements)");
            }
            for k in 0..count {
                values.append_value((a as i128 + k as i128 * s as i128) as i64);
            }
            total += count;
            offsets.push(total as i32);
            valid.push(true);
        }
        let values = cast(&values.finish(), &element)?;
        let nulls = NullBuffer::from(valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let field = Arc::new(Field::new_list_field(element, false));
        let result: ArrayRef = Arc::new(ListArray::try_new(field, OffsetBuffer::new(offsets.into()), values, nulls)?);
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}
