//! Spark array and collection functions (`array_funcs`, `collection_funcs`) where
//! DataFusion's differ:
//!
//! | Spark | DataFusion's difference |
//! |---|---|
//! | `array_prepend(arr, e)` | takes `(e, arr)` |
//! | `array_append(NULL, e)` is NULL | gives `[e]` |
//! | `array_remove(arr, e)` removes every `e` | removes the first |
//! | `array_position` is a BIGINT, 0 when absent | UInt64, NULL |
//! | `array_sort(arr)` puts NULLs last | first |
//! | `sort_array(arr)` puts NULLs first | — |
//! | `cardinality` is `size` (INT, -1 for NULL) | UInt64 |
//! | `arrays_zip` names fields `0`, `1`… | `1`, `2`… (Spark names them after column arguments; Weir always by position) |
//! | `concat`, `reverse` on arrays work on the arrays | cast them to strings |
//! | `element_at(map, k)` is the value | a list |
//! | `flatten` of an array holding a NULL array is NULL | skips it |
//! | `get(arr, i)` is 0-based, NULL when out of range | missing |
//! | `array('a', 1)` is `array<string>` | numbers win, 'a' is lost |
//! | `arrays_overlap` is NULL when nothing matches but an array holds a NULL | false |

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_nested as nested;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::adapt::{NullOn, Recipe, adapt, coerced as data_types_with_scalar_udf};

pub mod array_insert;
pub mod array_sort_by;
pub mod generator;
pub mod lambda;
pub mod lambda_fold;
pub mod sequence;
pub mod sort_array;

fn utf8(text: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(text.to_string()))
}

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let prepend = adapt(
        "array_prepend",
        nested::concat::array_prepend_udf(),
        Recipe { order: vec![1, 0], null_on: NullOn::Args(vec![0]), ..Default::default() },
    );
    let append = adapt(
        "array_append",
        nested::concat::array_append_udf(),
        Recipe { null_on: NullOn::Args(vec![0]), ..Default::default() },
    );
    let remove = adapt(
        "array_remove",
        nested::remove::array_remove_all_udf(),
        Recipe { null_on: NullOn::Any, ..Default::default() },
    );
    let position = adapt(
        "array_position",
        nested::position::array_position_udf(),
        Recipe {
            null_on: NullOn::Any,
            default: Some(ScalarValue::Int64(Some(0))),
            output: Some(DataType::Int64),
            ..Default::default()
        },
    );
    let array_sort = adapt(
        "array_sort",
        nested::sort::array_sort_udf(),
        Recipe { extra: vec![utf8("ASC"), utf8("NULLS LAST")], ..Default::default() },
    );
    let sort_array = Arc::new(ScalarUDF::from(sort_array::SortArray::new()));
    let size = datafusion_spark::function::collection::size();
    let cardinality = adapt("cardinality", size.clone(), Recipe::default());
    let array_size = adapt("array_size", size.clone(), Recipe { null_on: NullOn::Any, ..Default::default() });
    let array_concat =
        adapt("concat", nested::concat::array_concat_udf(), Recipe { null_on: NullOn::Any, ..Default::default() });
    let string_concat = datafusion_spark::function::string::concat();
    let map_value = adapt(
        "element_at",
        nested::map_extract::map_extract_udf(),
        Recipe { first_element: true, ..Default::default() },
    );
    // Outside ANSI mode `try_element_at` is `element_at` (NULL past the end or for a missing
    // key; index 0 an error in both).
    let try_map_value = adapt(
        "try_element_at",
        nested::map_extract::map_extract_udf(),
        Recipe { first_element: true, ..Default::default() },
    );
    let array =
        adapt("array", datafusion_spark::function::array::array(), Recipe { text_wins: true, ..Default::default() });
    vec![
        array,
        Arc::new(ScalarUDF::from(ArraysOverlap::default())),
        prepend,
        append,
        remove,
        position,
        array_sort,
        sort_array,
        cardinality,
        dispatch("concat", array_concat, string_concat),
        dispatch("reverse", nested::reverse::array_reverse_udf(), datafusion::functions::unicode::reverse()),
        dispatch_checked("element_at", nested::extract::array_element_udf(), map_value, refuse_index_zero),
        dispatch_checked("try_element_at", nested::extract::array_element_udf(), try_map_value, refuse_index_zero),
        Arc::new(ScalarUDF::from(Get::default())),
        Arc::new(ScalarUDF::from(ArraysZip::default())),
        Arc::new(ScalarUDF::from(Flatten::default())),
        array_size,
        Arc::new(ScalarUDF::from(array_insert::ArrayInsert::new())),
        Arc::new(ScalarUDF::from(sequence::Sequence::new())),
    ]
    .into_iter()
    .chain(generator::functions())
    .collect()
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _))
}

/// One Spark name, two implementations: `lists` when the first argument is an array,
/// `other` otherwise (strings, maps…).
#[derive(Debug)]
struct Dispatch {
    name: &'static str,
    lists: Arc<ScalarUDF>,
    other: Arc<ScalarUDF>,
    /// Checks the arguments of a call on an array before `lists` runs.
    check_lists: Option<fn(&[ColumnarValue]) -> Result<()>>,
    signature: Signature,
}

fn dispatch(name: &'static str, lists: Arc<ScalarUDF>, other: Arc<ScalarUDF>) -> Arc<ScalarUDF> {
    let signature = Signature::user_defined(Volatility::Immutable);
    Arc::new(ScalarUDF::from(Dispatch { name, lists, other, check_lists: None, signature }))
}

/// [`dispatch`] whose calls on arrays are checked by `check` first.
fn dispatch_checked(
    name: &'static str,
    lists: Arc<ScalarUDF>,
    other: Arc<ScalarUDF>,
    check: fn(&[ColumnarValue]) -> Result<()>,
) -> Arc<ScalarUDF> {
    let signature = Signature::user_defined(Volatility::Immutable);
    Arc::new(ScalarUDF::from(Dispatch { name, lists, other, check_lists: Some(check), signature }))
}

impl PartialEq for Dispatch {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Dispatch {}
impl Hash for Dispatch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Dispatch {
    fn pick(&self, first: Option<&DataType>) -> &Arc<ScalarUDF> {
        if first.is_some_and(is_list) { &self.lists } else { &self.other }
    }
}

impl ScalarUDFImpl for Dispatch {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if self.name == "reverse"
            && matches!(args.first(), Some(DataType::Binary | DataType::LargeBinary | DataType::BinaryView))
        {
            return datafusion::common::plan_err!("function reverse is not supported yet: on binary values");
        }
        data_types_with_scalar_udf(args, self.pick(args.first()))
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        datafusion::common::internal_err!("{} computes its type from its arguments' fields", self.name)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let f = self.pick(args.arg_fields.first().map(|f| f.data_type())).return_field_from_args(args)?;
        Ok(Arc::new(f.as_ref().clone().with_name(self.name)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let first = args.arg_fields.first().map(|f| f.data_type());
        if let Some(check) = self.check_lists.filter(|_| first.is_some_and(is_list)) {
            check(&args.args)?;
        }
        let inner = self.pick(first).clone();
        let fields: Vec<Option<&ScalarValue>> = vec![None; args.arg_fields.len()];
        let return_field = inner
            .return_field_from_args(ReturnFieldArgs { arg_fields: &args.arg_fields, scalar_arguments: &fields })?;
        inner.invoke_with_args(ScalarFunctionArgs { return_field, ..args })
    }
}

/// Spark's `element_at`/`try_element_at` on an array: index 0 is an error (indices start at 1).
fn refuse_index_zero(args: &[ColumnarValue]) -> Result<()> {
    let Some(index) = args.get(1) else { return Ok(()) };
    let index = index.to_array(1)?;
    let index = datafusion::arrow::compute::cast(&index, &DataType::Int64)?;
    let index = index.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
    if index.iter().any(|i| i == Some(0)) {
        return datafusion::common::exec_err!(
            "[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 (the first \
             element has index 1)."
        );
    }
    Ok(())
}

macro_rules! plain_udf {
    ($name:ident) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        struct $name {
            signature: Signature,
        }
        impl Default for $name {
            fn default() -> Self {
                Self { signature: Signature::user_defined(Volatility::Immutable) }
            }
        }
    };
}

plain_udf!(Get);

/// `get(arr, i)`: element `i` counting from 0; NULL when `i` is negative or past the end.
impl ScalarUDFImpl for Get {
    fn name(&self) -> &str {
        "get"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, _] if is_list(a) || a == &DataType::Null => Ok(vec![a.clone(), DataType::Int64]),
            _ => datafusion::common::plan_err!("function get with these arguments is not supported yet: {args:?}"),
        }
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)) => {
                Ok(f.data_type().clone())
            }
            _ => Ok(DataType::Null),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::compute::kernels::{cmp, nullif, numeric};
        let rows = args.number_rows;
        let index = args.args[1].to_array(rows)?;
        let negative = cmp::lt(&index, &datafusion::arrow::array::Int64Array::new_scalar(0))?;
        let one_based = numeric::add(&index, &datafusion::arrow::array::Int64Array::new_scalar(1))?;
        let one_based = nullif::nullif(&one_based, &negative)?;
        let mut call = args;
        call.args[1] = ColumnarValue::Array(one_based);
        nested::extract::array_element_udf().invoke_with_args(call)
    }
}

plain_udf!(ArraysZip);

/// `arrays_zip(a, b, …)`: DataFusion's, with fields named by position from 0 as Spark names
/// them for expressions (Spark names a column argument's field after the column; argument
/// names do not survive DataFusion's constant folding, so Weir does not).
impl ScalarUDFImpl for ArraysZip {
    fn name(&self) -> &str {
        "arrays_zip"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        data_types_with_scalar_udf(args, &nested::arrays_zip::arrays_zip_udf())
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        datafusion::common::internal_err!("arrays_zip computes its type from its arguments' fields")
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let inner = nested::arrays_zip::arrays_zip_udf().return_field_from_args(ReturnFieldArgs {
            arg_fields: args.arg_fields,
            scalar_arguments: args.scalar_arguments,
        })?;
        Ok(Arc::new(Field::new(self.name(), renamed(inner.data_type(), args.arg_fields), true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let fields = args.arg_fields.clone();
        let rows = args.number_rows;
        let inner = nested::arrays_zip::arrays_zip_udf();
        let scalars: Vec<Option<&ScalarValue>> = vec![None; fields.len()];
        let return_field =
            inner.return_field_from_args(ReturnFieldArgs { arg_fields: &fields, scalar_arguments: &scalars })?;
        let result = inner.invoke_with_args(ScalarFunctionArgs { return_field, ..args })?.to_array(rows)?;
        let target = renamed(result.data_type(), &fields);
        let list = result.as_list::<i32>();
        let DataType::List(item) = &target else { return Ok(ColumnarValue::Array(result)) };
        let DataType::Struct(names) = item.data_type() else { return Ok(ColumnarValue::Array(result)) };
        let values = list.values().as_struct();
        let values = StructArray::try_new(names.clone(), values.columns().to_vec(), values.nulls().cloned())?;
        let list = GenericListArray::<i32>::try_new(
            item.clone(),
            list.offsets().clone(),
            Arc::new(values),
            list.nulls().cloned(),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// The list-of-struct type with Spark's field names.
fn renamed(t: &DataType, _args: &[FieldRef]) -> DataType {
    let DataType::List(item) = t else { return t.clone() };
    let DataType::Struct(fields) = item.data_type() else { return t.clone() };
    let names: Fields =
        fields.iter().enumerate().map(|(i, f)| Arc::new(f.as_ref().clone().with_name(i.to_string()))).collect();
    DataType::List(Arc::new(item.as_ref().clone().with_data_type(DataType::Struct(names))))
}

plain_udf!(Flatten);

/// `flatten(arr)`: DataFusion's, NULL where the outer array holds a NULL array.
impl ScalarUDFImpl for Flatten {
    fn name(&self) -> &str {
        "flatten"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        data_types_with_scalar_udf(args, &nested::flatten::flatten_udf())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        nested::flatten::flatten_udf().return_type(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = args.args[0].to_array(rows)?;
        let result = nested::flatten::flatten_udf().invoke_with_args(args)?.to_array(rows)?;
        let holes = match input.data_type() {
            DataType::List(_) => has_null_item(input.as_list::<i32>()),
            DataType::LargeList(_) => has_null_item(input.as_list::<i64>()),
            _ => return Ok(ColumnarValue::Array(result)),
        };
        Ok(ColumnarValue::Array(datafusion::arrow::compute::kernels::nullif::nullif(&result, &holes)?))
    }
}

/// Per row: does the list hold a NULL item?
fn has_null_item<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> datafusion::arrow::array::BooleanArray {
    let values: &ArrayRef = list.values();
    list.offsets().windows(2).map(|w| Some((w[0].as_usize()..w[1].as_usize()).any(|j| values.is_null(j)))).collect()
}

plain_udf!(ArraysOverlap);

/// `arrays_overlap(a, b)`: true when they share a non-NULL element; otherwise NULL when
/// either holds a NULL, else false.
impl ScalarUDFImpl for ArraysOverlap {
    fn name(&self) -> &str {
        "arrays_overlap"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        data_types_with_scalar_udf(args, &nested::array_has::array_has_any_udf())
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::compute::{and_not, or};
        let rows = args.number_rows;
        let inputs: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
        let fields: Vec<Option<&ScalarValue>> = vec![None; args.arg_fields.len()];
        let inner = nested::array_has::array_has_any_udf();
        let return_field = inner
            .return_field_from_args(ReturnFieldArgs { arg_fields: &args.arg_fields, scalar_arguments: &fields })?;
        let found = inner.invoke_with_args(ScalarFunctionArgs { return_field, ..args })?.to_array(rows)?;
        let found = found.as_boolean();
        let mut holes = datafusion::arrow::array::BooleanArray::from(vec![false; rows]);
        for input in &inputs {
            let h = match input.data_type() {
                DataType::List(_) => has_null_item(input.as_list::<i32>()),
                DataType::LargeList(_) => has_null_item(input.as_list::<i64>()),
                _ => continue,
            };
            holes = or(&holes, &h)?;
        }
        // NULL where nothing was found and a NULL element could have matched.
        let unknown = and_not(&holes, found)?;
        Ok(ColumnarValue::Array(datafusion::arrow::compute::kernels::nullif::nullif(found, &unknown)?))
    }
}
