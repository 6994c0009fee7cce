//! Spark's map higher-order functions: `map_filter(m, (k, v) -> …)` keeps the entries whose
//! predicate is true; `transform_values(m, (k, v) -> …)` and `transform_keys(m, (k, v) -> …)`
//! replace the values or the keys (a NULL or repeated new key is an error);
//! `map_zip_with(m1, m2, (k, v1, v2) -> …)` runs over the union of the keys (those of `m1`
//! in order, then the others of `m2`), a missing value being NULL. A NULL map gives NULL.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, MapArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, filter, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature, HigherOrderUDF,
    HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

use super::map_concat::map_of;
use super::map_contains_key::key_value;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Filter,
    TransformValues,
    TransformKeys,
    ZipWith,
}

/// One of the functions (see the module doc).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MapLambda {
    kind: Kind,
    signature: HigherOrderSignature,
}

/// The four functions.
pub fn functions() -> Vec<Arc<HigherOrderUDF>> {
    [Kind::Filter, Kind::TransformValues, Kind::TransformKeys, Kind::ZipWith]
        .into_iter()
        .map(|kind| {
            let mut args = vec![ValueOrLambda::Value(())];
            if kind == Kind::ZipWith {
                args.push(ValueOrLambda::Value(()));
            }
            args.push(ValueOrLambda::Lambda(()));
            let signature = HigherOrderSignature::exact(args, Volatility::Immutable);
            Arc::new(HigherOrderUDF::new_from_impl(MapLambda { kind, signature }))
        })
        .collect()
}

/// A map's entries as arrays, offsets rebased to 0.
struct Entries {
    map: MapArray,
    keys: ArrayRef,
    values: ArrayRef,
    offsets: Vec<usize>,
}

impl Entries {
    fn new(array: &ArrayRef) -> Result<Self> {
        let map = array.as_map().clone();
        let raw = map.value_offsets();
        let first = raw[0] as usize;
        let last = raw[map.len()] as usize;
        let keys = map.keys().slice(first, last - first);
        let values = map.values().slice(first, last - first);
        let offsets = raw.iter().map(|o| *o as usize - first).collect();
        Ok(Self { map, keys, values, offsets })
    }
    fn owners(&self) -> UInt32Array {
        (0..self.map.len()).flat_map(|r| std::iter::repeat_n(r as u32, self.offsets[r + 1] - self.offsets[r])).collect()
    }
}

fn field(name: &str, t: &DataType) -> FieldRef {
    Arc::new(Field::new(name, t.clone(), true))
}

fn build_map(key: ArrayRef, value: ArrayRef, offsets: Vec<usize>, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
    let DataType::Map(entries, _) = map_of(key.data_type().clone(), value.data_type().clone()) else {
        return exec_err!("not a map type");
    };
    let DataType::Struct(kv) = entries.data_type() else { return exec_err!("not a map type") };
    let kv: Fields = kv.clone();
    let pairs = StructArray::try_new(kv, vec![key, value], None)?;
    let offsets: Vec<i32> = offsets.iter().map(|o| *o as i32).collect();
    Ok(Arc::new(MapArray::try_new(entries, OffsetBuffer::new(offsets.into()), pairs, nulls, false)?))
}

/// Spark's EXCEPTION policy: an error for a key twice in one map (or a NULL key).
fn check_keys(keys: &ArrayRef, offsets: &[usize]) -> Result<()> {
    if keys.null_count() > 0 {
        return exec_err!("[NULL_MAP_KEY] Cannot use null as map key.");
    }
    let converter = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let rows = converter.convert_columns(std::slice::from_ref(keys))?;
    for w in offsets.windows(2) {
        let mut seen = HashSet::with_capacity(w[1] - w[0]);
        for i in w[0]..w[1] {
            if !seen.insert(rows.row(i)) {
                let key = ScalarValue::try_from_array(keys, i)?;
                return exec_err!(
                    "[DUPLICATED_MAP_KEY] Duplicate map key {key} was found, please check the input data."
                );
            }
        }
    }
    Ok(())
}

impl HigherOrderUDFImpl for MapLambda {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Filter => "map_filter",
            Kind::TransformValues => "transform_values",
            Kind::TransformKeys => "transform_keys",
            Kind::ZipWith => "map_zip_with",
        }
    }
    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }
    fn coerce_value_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let mut out = Vec::new();
        for t in args {
            let Some((k, v)) = key_value(t) else {
                return plan_err!("function {} is not supported yet: on a {t}", self.name());
            };
            out.push(map_of(k, v));
        }
        if self.kind == Kind::ZipWith {
            let (Some((k1, _)), Some((k2, _))) = (key_value(&out[0]), key_value(&out[1])) else {
                return plan_err!("map_zip_with takes two maps");
            };
            if k1 != k2 {
                return plan_err!("function map_zip_with is not supported yet: with keys of types {k1} and {k2}");
            }
        }
        Ok(out)
    }
    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let maps: Vec<&FieldRef> = fields
            .iter()
            .filter_map(|f| match f {
                ValueOrLambda::Value(v) => Some(v),
                ValueOrLambda::Lambda(_) => None,
            })
            .collect();
        let Some((k, v)) = maps.first().and_then(|m| key_value(m.data_type())) else {
            return plan_err!("{} expects a map", self.name());
        };
        let mut params = vec![field("k", &k), field("v", &v)];
        if self.kind == Kind::ZipWith {
            let Some((_, v2)) = maps.get(1).and_then(|m| key_value(m.data_type())) else {
                return plan_err!("map_zip_with takes two maps");
            };
            params = vec![field("k", &k), field("v1", &v), field("v2", &v2)];
        }
        Ok(LambdaParametersProgress::Complete(vec![params]))
    }
    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let Some(ValueOrLambda::Value(map)) = args.arg_fields.first() else {
            return plan_err!("{} expects a map", self.name());
        };
        let Some(ValueOrLambda::Lambda(lambda)) = args.arg_fields.last() else {
            return plan_err!("{} expects a lambda function", self.name());
        };
        let Some((k, v)) = key_value(map.data_type()) else { return plan_err!("{} expects a map", self.name()) };
        let t = match self.kind {
            Kind::Filter => {
                if !matches!(lambda.data_type(), DataType::Boolean | DataType::Null) {
                    return plan_err!("the map_filter lambda function must return a boolean");
                }
                map_of(k, v)
            }
            Kind::TransformValues | Kind::ZipWith => map_of(k, lambda.data_type().clone()),
            Kind::TransformKeys => map_of(lambda.data_type().clone(), v),
        };
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }
    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut maps = Vec::new();
        let mut lambda = None;
        for a in &args.args {
            match a {
                ValueOrLambda::Value(v) => maps.push(Entries::new(&v.to_array(rows)?)?),
                ValueOrLambda::Lambda(l) => lambda = Some(l),
            }
        }
        let (Some(lambda), Some(m)) = (lambda, maps.first()) else {
            return exec_err!("{} expects a map and a lambda function", self.name());
        };
        let Some((out_k, out_v)) = key_value(args.return_field.data_type()) else {
            return exec_err!("{} returns a map", self.name());
        };
        let conform = |a: ArrayRef, t: &DataType| -> Result<ArrayRef> {
            if a.data_type() == t { Ok(a) } else { Ok(cast(&a, t)?) }
        };
        if self.kind == Kind::ZipWith {
            return Ok(ColumnarValue::Array(zip(&maps, lambda, &out_v, rows)?));
        }
        let nulls = m.map.nulls().cloned();
        let owners = m.owners();
        let result = if m.keys.is_empty() {
            build_map(
                datafusion::arrow::array::new_empty_array(&out_k),
                datafusion::arrow::array::new_empty_array(&out_v),
                m.offsets.clone(),
                nulls,
            )?
        } else {
            let k = || Ok(m.keys.clone());
            let v = || Ok(m.values.clone());
            let out = lambda
                .evaluate(&[&k, &v], |captured| Ok(take_arrays(captured, &owners, None)?))?
                .into_array(m.keys.len())?;
            match self.kind {
                Kind::Filter => {
                    let keep = match out.data_type() {
                        DataType::Boolean => out.as_boolean().clone(),
                        _ => BooleanArray::new_null(out.len()),
                    };
                    let mask: BooleanArray = (0..keep.len()).map(|i| Some(keep.is_valid(i) && keep.value(i))).collect();
                    let mut offsets = vec![0usize];
                    let mut kept = 0;
                    for w in m.offsets.windows(2) {
                        kept += (w[0]..w[1]).filter(|&i| mask.value(i)).count();
                        offsets.push(kept);
                    }
                    build_map(filter(&m.keys, &mask)?, filter(&m.values, &mask)?, offsets, nulls)?
                }
                Kind::TransformValues => build_map(m.keys.clone(), conform(out, &out_v)?, m.offsets.clone(), nulls)?,
                Kind::TransformKeys => {
                    let keys = conform(out, &out_k)?;
                    check_keys(&keys, &m.offsets)?;
                    build_map(keys, m.values.clone(), m.offsets.clone(), nulls)?
                }
                Kind::ZipWith => return exec_err!("unreachable"),
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn zip(
    maps: &[Entries],
    lambda: &datafusion::logical_expr::LambdaArgument,
    out_v: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let [a, b] = maps else { return exec_err!("map_zip_with takes two maps") };
    let converter = RowConverter::new(vec![SortField::new(a.keys.data_type().clone())])?;
    let ka = converter.convert_columns(std::slice::from_ref(&a.keys))?;
    let kb = converter.convert_columns(std::slice::from_ref(&b.keys))?;
    // Per output entry: the key's source (0 = a, 1 = b) and index, and the values' indices.
    let mut key_from: Vec<(usize, usize)> = Vec::new();
    let mut at_a: Vec<Option<u32>> = Vec::new();
    let mut at_b: Vec<Option<u32>> = Vec::new();
    let mut owners: Vec<u32> = Vec::new();
    let mut offsets = vec![0usize];
    let mut valid = Vec::with_capacity(rows);
    for r in 0..rows {
        let ok = a.map.is_valid(r) && b.map.is_valid(r);
        valid.push(ok);
        if ok {
            let in_b: HashMap<_, usize> = (b.offsets[r]..b.offsets[r + 1]).map(|j| (kb.row(j), j)).collect();
            let mut used = HashSet::new();
            for i in a.offsets[r]..a.offsets[r + 1] {
                let j = in_b.get(&ka.row(i)).copied();
                if let Some(j) = j {
                    used.insert(j);
                }
                key_from.push((0, i));
                at_a.push(Some(i as u32));
                at_b.push(j.map(|j| j as u32));
                owners.push(r as u32);
            }
            for j in b.offsets[r]..b.offsets[r + 1] {
                if !used.contains(&j) {
                    key_from.push((1, j));
                    at_a.push(None);
                    at_b.push(Some(j as u32));
                    owners.push(r as u32);
                }
            }
        }
        offsets.push(owners.len());
    }
    let keys = datafusion::arrow::compute::interleave(&[a.keys.as_ref(), b.keys.as_ref()], &key_from)?;
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    if owners.is_empty() {
        return build_map(keys, datafusion::arrow::array::new_empty_array(out_v), offsets, nulls);
    }
    let v1 = take(&a.values, &UInt32Array::from(at_a), None)?;
    let v2 = take(&b.values, &UInt32Array::from(at_b), None)?;
    let owners = UInt32Array::from(owners);
    let k = || Ok(keys.clone());
    let x = || Ok(v1.clone());
    let y = || Ok(v2.clone());
    let out = lambda
        .evaluate(&[&k, &x, &y], |captured| Ok(take_arrays(captured, &owners, None)?))?
        .into_array(owners.len())?;
    let out = if out.data_type() == out_v { out } else { cast(&out, out_v)? };
    build_map(keys, out, offsets, nulls)
}
