//! A Spark function computed by an existing DataFusion function whose contract is close:
//! arguments reordered or extended with constants, the result cast to Spark's type, NULL
//! where Spark's is NULL. Saves re-implementing kernels that are right but for their edges.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, new_null_array};
use datafusion::arrow::compute::{cast, kernels::nullif, kernels::zip};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The argument types `udf`'s signature coerces `types` to.
pub fn coerced(types: &[DataType], udf: &ScalarUDF) -> Result<Vec<DataType>> {
    let fields: Vec<FieldRef> = types.iter().map(|t| Arc::new(Field::new("arg", t.clone(), true))).collect();
    Ok(datafusion::logical_expr::type_coercion::functions::fields_with_udf(&fields, udf)?
        .iter()
        .map(|f| f.data_type().clone())
        .collect())
}

/// Which NULL arguments make the result NULL (beyond what `inner` does).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum NullOn {
    #[default]
    Inner,
    Any,
    Args(Vec<usize>),
}

/// How the Spark function maps onto `inner`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Recipe {
    /// Inner argument `k` is outer argument `order[k]` (identity when empty).
    pub order: Vec<usize>,
    /// Constants appended to the inner call's arguments.
    pub extra: Vec<ScalarValue>,
    /// The result is NULL where one of these outer arguments is NULL.
    pub null_on: NullOn,
    /// Where the inner result is NULL but no outer argument is, this value instead.
    pub default: Option<ScalarValue>,
    /// The result cast to this type (Spark's).
    pub output: Option<DataType>,
    /// The inner result is a list of which Spark's answer is the first element (or NULL).
    pub first_element: bool,
    /// Spark's coercion for `array(…)`, `coalesce`…: when some argument is text and the
    /// others are numbers or booleans, all become text (DataFusion's: numbers win).
    pub text_wins: bool,
}

/// The adapted function (see the module doc).
#[derive(Debug)]
pub struct Adapted {
    name: &'static str,
    inner: Arc<ScalarUDF>,
    recipe: Recipe,
    signature: Signature,
}

impl PartialEq for Adapted {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.inner.name() == other.inner.name() && self.recipe == other.recipe
    }
}
impl Eq for Adapted {}
impl Hash for Adapted {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.inner.name().hash(state);
        self.recipe.hash(state);
    }
}

/// `name` computed by `inner` following `recipe`.
pub fn adapt(name: &'static str, inner: Arc<ScalarUDF>, recipe: Recipe) -> Arc<ScalarUDF> {
    let signature = Signature::user_defined(Volatility::Immutable);
    Arc::new(ScalarUDF::from(Adapted { name, inner, recipe, signature }))
}

impl Adapted {
    fn reorder<T: Clone>(&self, outer: &[T]) -> Vec<T> {
        if self.recipe.order.is_empty() {
            outer.to_vec()
        } else {
            self.recipe.order.iter().filter_map(|&i| outer.get(i).cloned()).collect()
        }
    }

    /// Outer argument `k` of the inner position, for mapping coerced types back.
    fn outer_index(&self, inner_position: usize) -> usize {
        if self.recipe.order.is_empty() { inner_position } else { self.recipe.order[inner_position] }
    }

    fn extra_fields(&self) -> Vec<FieldRef> {
        self.recipe.extra.iter().map(|v| Arc::new(Field::new("extra", v.data_type(), true))).collect()
    }

    fn inner_field(&self, outer_fields: &[FieldRef], outer_scalars: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let mut fields = self.reorder(outer_fields);
        fields.extend(self.extra_fields());
        let mut scalars: Vec<Option<&ScalarValue>> = self.reorder(outer_scalars);
        scalars.extend(self.recipe.extra.iter().map(Some));
        self.inner.return_field_from_args(ReturnFieldArgs { arg_fields: &fields, scalar_arguments: &scalars })
    }
}

impl ScalarUDFImpl for Adapted {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, outer: &[DataType]) -> Result<Vec<DataType>> {
        let text = |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
        let scalar = |t: &DataType| t.is_numeric() || text(t) || matches!(t, DataType::Boolean | DataType::Null);
        if self.recipe.text_wins && outer.iter().any(text) && outer.iter().all(scalar) {
            let outer: Vec<DataType> = outer.iter().map(|_| DataType::Utf8).collect();
            return coerced(&outer, &self.inner);
        }
        let mut inner = self.reorder(outer);
        let extra = self.recipe.extra.len();
        inner.extend(self.recipe.extra.iter().map(ScalarValue::data_type));
        let coerced = coerced(&inner, &self.inner)?;
        let mut result = outer.to_vec();
        for (k, t) in coerced.into_iter().take(inner.len() - extra).enumerate() {
            result[self.outer_index(k)] = t;
        }
        Ok(result)
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        datafusion::common::internal_err!("{} computes its type from its arguments' fields", self.name)
    }
    fn simplify(
        &self,
        args: Vec<datafusion::logical_expr::Expr>,
        info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        // With only a coercion rule of its own, the function is the inner one (`coalesce`
        // becomes a CASE this way).
        let only_coercion = Recipe { text_wins: self.recipe.text_wins, ..Default::default() } == self.recipe;
        if only_coercion {
            return self.inner.simplify(args, info);
        }
        Ok(datafusion::logical_expr::simplify::ExprSimplifyResult::Original(args))
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let field = self.inner_field(args.arg_fields, args.scalar_arguments)?;
        let mut field = field.as_ref().clone().with_name(self.name);
        if self.recipe.first_element
            && let DataType::List(item) | DataType::LargeList(item) = field.data_type()
        {
            field = field.clone().with_data_type(item.data_type().clone()).with_nullable(true);
        }
        if let Some(t) = &self.recipe.output {
            field = field.with_data_type(t.clone());
        }
        if self.recipe.null_on != NullOn::Inner {
            field = field.with_nullable(true);
        }
        Ok(Arc::new(field))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let outer = args.args;
        let scalars: Vec<Option<&ScalarValue>> = vec![None; outer.len()];
        let return_field = self.inner_field(&args.arg_fields, &scalars)?;
        let mut inner_args = self.reorder(&outer);
        inner_args.extend(self.recipe.extra.iter().cloned().map(ColumnarValue::Scalar));
        let mut arg_fields = self.reorder(&args.arg_fields);
        arg_fields.extend(self.extra_fields());
        let result = self.inner.invoke_with_args(ScalarFunctionArgs {
            args: inner_args,
            arg_fields,
            number_rows: rows,
            return_field,
            config_options: args.config_options,
        })?;
        let mut result: ArrayRef = result.to_array(rows)?;
        if self.recipe.first_element {
            result = first_elements(&result)?;
        }
        if let Some(t) = &self.recipe.output {
            result = cast(&result, t)?;
        }
        if self.recipe.null_on != NullOn::Inner || self.recipe.default.is_some() {
            // Rows where some outer argument is NULL (among those that matter).
            let mut any_null = datafusion::arrow::array::BooleanArray::from(vec![false; rows]);
            let watched: Vec<&ColumnarValue> = match &self.recipe.null_on {
                NullOn::Args(which) => which.iter().filter_map(|&i| outer.get(i)).collect(),
                _ => outer.iter().collect(),
            };
            for a in watched {
                let a = a.to_array(rows)?;
                let is_null = datafusion::arrow::compute::is_null(&a)?;
                any_null = datafusion::arrow::compute::or(&any_null, &is_null)?;
            }
            if let Some(default) = &self.recipe.default {
                let value = default.cast_to(result.data_type())?.to_array_of_size(rows)?;
                let missing =
                    datafusion::arrow::compute::and_not(&datafusion::arrow::compute::is_null(&result)?, &any_null)?;
                result = zip::zip(&missing, &value, &result)?;
            }
            if self.recipe.null_on != NullOn::Inner {
                result = nullif::nullif(&result, &any_null)?;
            }
        }
        if all_scalar && result.len() == 1 {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        if result.is_empty() && rows > 0 {
            result = new_null_array(result.data_type(), rows);
        }
        Ok(ColumnarValue::Array(result))
    }
}

/// Element 0 of each list (NULL for NULL or empty lists).
fn first_elements(lists: &ArrayRef) -> Result<ArrayRef> {
    use datafusion::arrow::array::AsArray;
    let (offsets, values): (Vec<usize>, ArrayRef) = match lists.data_type() {
        DataType::List(_) => {
            let l = lists.as_list::<i32>();
            (l.value_offsets().iter().map(|o| *o as usize).collect(), l.values().clone())
        }
        DataType::LargeList(_) => {
            let l = lists.as_list::<i64>();
            (l.value_offsets().iter().map(|o| *o as usize).collect(), l.values().clone())
        }
        _ => return Ok(lists.clone()),
    };
    // Take index offsets[i] where the list is non-empty, NULL otherwise.
    let indices: datafusion::arrow::array::UInt64Array = (0..lists.len())
        .map(|i| (lists.is_valid(i) && offsets[i + 1] > offsets[i]).then_some(offsets[i] as u64))
        .collect();
    Ok(datafusion::arrow::compute::take(&values, &indices, None)?)
}
