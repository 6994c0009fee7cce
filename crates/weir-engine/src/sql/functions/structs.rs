//! Spark struct functions (`struct_funcs`) and accessors: the field of every struct in an
//! array (`arr.a`, Spark's `GetArrayStructFields`), and the case-insensitive reading of a
//! field name (Spark resolves `s.A` to the field `a`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, LargeListArray, ListArray, make_array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, lit,
};

/// The field of `fields` that `name` names: the exact spelling when `case_sensitive`, else
/// the one field equal ignoring case; two such fields make it ambiguous, as in Spark (even
/// when one of them is spelled exactly so).
pub fn resolve_field<'a>(fields: &'a Fields, name: &str, case_sensitive: bool) -> Result<Option<&'a FieldRef>> {
    if case_sensitive {
        return Ok(fields.iter().find(|f| f.name() == name));
    }
    let lower = name.to_lowercase();
    let matching: Vec<&FieldRef> = fields.iter().filter(|f| f.name().to_lowercase() == lower).collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        several => {
            let names: Vec<String> = several.iter().map(|f| format!("`{}`", f.name())).collect();
            plan_err!(
                "[AMBIGUOUS_REFERENCE_TO_FIELDS] Ambiguous reference to the field `{name}`: it could be any of {} (field names are case-insensitive; set WEIR_SQL_CASE_SENSITIVE=true to tell them apart).",
                names.join(", ")
            )
        }
    }
}

/// `base.name` where `base` is of type `base_type`: the struct's field (its name resolved as
/// Spark does), or for an array of structs the array of that field; with its type. `None`
/// when `base` is neither or has no such field (DataFusion's planning then says why).
pub fn field_access(
    base: Expr,
    base_type: &DataType,
    name: &str,
    case_sensitive: bool,
) -> Result<Option<(Expr, DataType)>> {
    match base_type {
        DataType::Struct(fields) => Ok(resolve_field(fields, name, case_sensitive)?.map(|f| {
            (datafusion::functions::core::expr_fn::get_field(base, f.name().as_str()), f.data_type().clone())
        })),
        DataType::List(item) | DataType::LargeList(item) => {
            let DataType::Struct(fields) = item.data_type() else { return Ok(None) };
            Ok(resolve_field(fields, name, case_sensitive)?.map(|f| {
                let call = Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::new(ScalarUDF::from(ArrayStructField::new())),
                    vec![base, lit(f.name().as_str())],
                ));
                (call, list_of(base_type, f))
            }))
        }
        _ => Ok(None),
    }
}

/// `array_struct_field(arr, name)`: the field `name` of each struct of `arr` (NULL where the
/// struct is NULL), an array beside each array; NULL for a NULL array.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArrayStructField {
    signature: Signature,
}

impl ArrayStructField {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for ArrayStructField {
    fn default() -> Self {
        Self::new()
    }
}

/// The index and field of `name` among the structs of an array type.
fn item_field(array: &DataType, name: &str) -> Result<(usize, FieldRef)> {
    let item = match array {
        DataType::List(item) | DataType::LargeList(item) => item,
        other => return plan_err!("array_struct_field: expected an array of structs, got {other}"),
    };
    let DataType::Struct(fields) = item.data_type() else {
        return plan_err!("array_struct_field: expected an array of structs, got {array}");
    };
    match fields.find(name) {
        Some((i, f)) => Ok((i, f.clone())),
        None => plan_err!("array_struct_field: no field {name} in {array}"),
    }
}

fn list_of(array: &DataType, field: &Field) -> DataType {
    let item = Arc::new(Field::new("item", field.data_type().clone(), true));
    match array {
        DataType::LargeList(_) => DataType::LargeList(item),
        _ => DataType::List(item),
    }
}

impl ScalarUDFImpl for ArrayStructField {
    fn name(&self) -> &str {
        "array_struct_field"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        plan_err!("array_struct_field: the return type comes from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let Some(Some(ScalarValue::Utf8(Some(name)))) = args.scalar_arguments.get(1) else {
            return plan_err!("array_struct_field: the field name must be a string literal");
        };
        let array = args.arg_fields[0].data_type();
        let (_, field) = item_field(array, name)?;
        Ok(Arc::new(Field::new(self.name(), list_of(array, &field), args.arg_fields[0].is_nullable())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))) = &args.args[1] else {
            return exec_err!("array_struct_field: the field name must be a string literal");
        };
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let array = args.args[0].to_array(args.number_rows)?;
        let result = fields_of(&array, name)?;
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

/// The field `name` of the struct values of a list array, NULL where the struct is NULL.
fn field_values(values: &ArrayRef, index: usize) -> ArrayRef {
    let structs = values.as_struct();
    let column = structs.column(index);
    let nulls = NullBuffer::union(column.nulls(), structs.nulls());
    make_array(column.to_data().into_builder().nulls(nulls).build().expect("same length"))
}

fn fields_of(array: &ArrayRef, name: &str) -> Result<ArrayRef> {
    let (index, field) = item_field(array.data_type(), name)?;
    let item = Arc::new(Field::new("item", field.data_type().clone(), true));
    Ok(match array.data_type() {
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let values = field_values(list.values(), index);
            Arc::new(LargeListArray::try_new(item, list.offsets().clone(), values, list.nulls().cloned())?)
        }
        _ => {
            let list = array.as_list::<i32>();
            let values = field_values(list.values(), index);
            Arc::new(ListArray::try_new(item, list.offsets().clone(), values, list.nulls().cloned())?)
        }
    })
}

/// An expression whose planning fails with `message`: how a planner hook whose errors are
/// not passed on (DataFusion's `plan_compound_identifier`) still refuses a query.
pub fn refusal(message: String) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(ScalarUDF::from(Refusal::new(message))), vec![]))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Refusal {
    message: String,
    signature: Signature,
}

impl Refusal {
    fn new(message: String) -> Self {
        Self { message, signature: Signature::nullary(Volatility::Volatile) }
    }
}

impl ScalarUDFImpl for Refusal {
    fn name(&self) -> &str {
        "refused"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        plan_err!("{}", self.message)
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("{}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, StructArray};
    use datafusion::arrow::buffer::OffsetBuffer;

    fn fields(names: &[&str]) -> Fields {
        names.iter().map(|n| Field::new(*n, DataType::Int32, true)).collect()
    }

    #[test]
    fn field_names_resolve_ignoring_case() {
        let f = fields(&["a", "B"]);
        assert_eq!(resolve_field(&f, "A", false).unwrap().unwrap().name(), "a");
        assert_eq!(resolve_field(&f, "b", false).unwrap().unwrap().name(), "B");
        assert!(resolve_field(&f, "A", true).unwrap().is_none());
        assert!(resolve_field(&f, "c", false).unwrap().is_none());
        // Two spellings are ambiguous, even when one is exact (Spark's rule).
        for name in ["a", "A"] {
            let err = resolve_field(&fields(&["A", "a"]), name, false).unwrap_err().to_string();
            assert!(err.contains("`A`") && err.contains("`a`"), "{err}");
        }
        assert_eq!(resolve_field(&fields(&["A", "a"]), "a", true).unwrap().unwrap().name(), "a");
    }

    #[test]
    fn field_of_each_struct() {
        let a = Arc::new(Int32Array::from(vec![Some(1), Some(2), None, Some(4)])) as ArrayRef;
        let structs =
            StructArray::try_new(fields(&["a"]), vec![a], Some(NullBuffer::from(vec![true, false, true, true])))
                .unwrap();
        let item = Arc::new(Field::new("item", structs.data_type().clone(), true));
        // [[{1}, NULL], NULL, [NULL-field, {4}]]
        let list = ListArray::try_new(
            item,
            OffsetBuffer::new(vec![0, 2, 2, 4].into()),
            Arc::new(structs),
            Some(NullBuffer::from(vec![true, false, true])),
        )
        .unwrap();
        let result = fields_of(&(Arc::new(list) as ArrayRef), "a").unwrap();
        let result = result.as_list::<i32>();
        assert!(result.is_null(1));
        let first = result.value(0);
        let first = first.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(first.iter().collect::<Vec<_>>(), vec![Some(1), None]);
        let last = result.value(2);
        let last = last.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(last.iter().collect::<Vec<_>>(), vec![None, Some(4)]);
    }
}
