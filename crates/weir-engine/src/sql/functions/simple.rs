//! A small scalar-UDF frame shared by the Spark functions that need no state: a name,
//! Spark-style implicit casts (`coerce`), the Spark result type (`ret`) and a kernel over
//! whole arrays (`eval`). Scalar-only calls give a scalar back.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Implicit casts for the call's argument types (`name` is for messages).
pub type Coerce = fn(&str, &[DataType]) -> Result<Vec<DataType>>;
/// The result type from the (coerced) argument types and any literal arguments.
pub type Ret = fn(&str, &[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
/// The kernel: arrays of equal length (scalars expanded), the result type.
pub type Eval = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

#[derive(Debug)]
pub struct Simple {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
    coerce: Coerce,
    ret: Ret,
    eval: Eval,
}

// Two instances are the same function when their names are (function pointers do not
// compare meaningfully).
impl PartialEq for Simple {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.aliases == other.aliases
    }
}

impl Eq for Simple {}

impl std::hash::Hash for Simple {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.aliases.hash(state);
    }
}

impl Simple {
    pub fn new(name: &'static str, coerce: Coerce, ret: Ret, eval: Eval) -> Self {
        Self { name, aliases: Vec::new(), signature: Signature::user_defined(Volatility::Immutable), coerce, ret, eval }
    }

    pub fn with_aliases(mut self, aliases: &[&str]) -> Self {
        self.aliases = aliases.iter().map(|a| a.to_string()).collect();
        self
    }

    /// A function whose value differs between calls (random, session state).
    pub fn volatile(mut self) -> Self {
        self.signature = Signature::user_defined(Volatility::Volatile);
        self
    }

    pub fn udf(self) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(self))
    }
}

impl ScalarUDFImpl for Simple {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        (self.coerce)(self.name, arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.ret)(self.name, arg_types, &[])
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let t = (self.ret)(self.name, &types, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<_>>>()?;
        let out = (self.eval)(&arrays, args.return_field.data_type())?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

// ---- coercion helpers ----

pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

pub fn is_binary(t: &DataType) -> bool {
    matches!(t, DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_))
}

pub fn is_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

pub fn is_numeric(t: &DataType) -> bool {
    is_integer(t)
        || matches!(
            t,
            DataType::Float16
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
        )
}

/// Spark's implicit cast to string: strings, numbers, booleans, dates, timestamps, binary, NULL.
pub fn to_string_type(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Dictionary(_, v) => to_string_type(name, v),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null | DataType::Boolean => {
            Ok(DataType::Utf8)
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => Ok(DataType::Utf8),
        t if is_numeric(t) || is_binary(t) => Ok(DataType::Utf8),
        other => plan_err!("function {name} expects a string argument, not {other}"),
    }
}

/// Spark's implicit cast to an integer argument (kept as bigint inside).
pub fn to_int_type(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Dictionary(_, v) => to_int_type(name, v),
        t if is_integer(t) => Ok(DataType::Int64),
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(DataType::Int64),
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => Ok(DataType::Int64),
        other => plan_err!("function {name} expects an integer argument, not {other}"),
    }
}

/// Binary stays binary, strings (and what casts to string) become Utf8.
pub fn to_string_or_binary(name: &str, t: &DataType) -> Result<DataType> {
    if let DataType::Dictionary(_, v) = t {
        return to_string_or_binary(name, v);
    }
    if is_binary(t) { Ok(DataType::Binary) } else { to_string_type(name, t) }
}

pub fn check_arity(name: &str, types: &[DataType], min: usize, max: usize) -> Result<()> {
    if types.len() < min || types.len() > max {
        let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return plan_err!("function {name} takes {expected} arguments, got {}", types.len());
    }
    Ok(())
}

/// All arguments strings, `min..=max` of them.
pub fn strings(name: &str, types: &[DataType], min: usize, max: usize) -> Result<Vec<DataType>> {
    check_arity(name, types, min, max)?;
    types.iter().map(|t| to_string_type(name, t)).collect()
}

/// A dictionary-encoded type (e.g. a partition column) read as its values' type.
pub fn plain(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, v) => plain(v),
        other => other.clone(),
    }
}

// ---- return-type helpers ----

pub fn ret_utf8(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

pub fn ret_int32(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

pub fn ret_bool(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}

pub fn ret_binary(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Binary)
}

// ---- array access helpers ----

/// The array as Utf8 (casting if needed).
pub fn utf8(array: &ArrayRef) -> Result<StringArray> {
    let a = if array.data_type() == &DataType::Utf8 { array.clone() } else { cast(array, &DataType::Utf8)? };
    Ok(a.as_string::<i32>().clone())
}

/// The array as Int64 (casting if needed).
pub fn int64(array: &ArrayRef) -> Result<datafusion::arrow::array::Int64Array> {
    let a = if array.data_type() == &DataType::Int64 { array.clone() } else { cast(array, &DataType::Int64)? };
    Ok(a.as_primitive::<datafusion::arrow::datatypes::Int64Type>().clone())
}

/// The array as Binary (casting if needed).
pub fn binary(array: &ArrayRef) -> Result<datafusion::arrow::array::BinaryArray> {
    let a = if array.data_type() == &DataType::Binary { array.clone() } else { cast(array, &DataType::Binary)? };
    Ok(a.as_binary::<i32>().clone())
}

/// The literal string value of an argument, if it is one.
pub fn literal_str<'a>(args: &[Option<&'a ScalarValue>], i: usize) -> Option<Option<&'a str>> {
    match args.get(i).copied().flatten() {
        Some(v) if v.is_null() => Some(None),
        Some(ScalarValue::Utf8(s)) | Some(ScalarValue::LargeUtf8(s)) | Some(ScalarValue::Utf8View(s)) => {
            Some(s.as_deref())
        }
        _ => None,
    }
}

/// Rows of an array, or a single scalar row repeated: index helper.
pub fn len_of(arrays: &[ArrayRef]) -> usize {
    arrays.first().map(|a| a.len()).unwrap_or(1)
}

pub fn arc<A: Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}
