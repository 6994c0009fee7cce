//! Spark's `hash(expr, ...)`: Murmur3 x86 32-bit with seed 42, each argument hashed with the
//! previous result as its seed (NULLs leave the seed as it is). Spark hashes byte/short/int/
//! date/boolean as a 4-byte int, bigint/timestamp(micros) as 8 bytes, floats by their bits
//! (-0.0 as 0.0), decimals of precision <= 18 by their unscaled long and wider ones by the
//! big-endian two's-complement bytes of the unscaled value, strings/binary with Spark's
//! `hashUnsafeBytes` (the tail hashed a byte at a time), arrays and structs element by element.
//! Maps are rejected, as Spark does.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Int32Array, ListArray, StructArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::Simple;

const SEED: i32 = 42;
const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

pub fn udf() -> Arc<ScalarUDF> {
    Simple::new("hash", coerce, ret, eval).udf()
}

fn check(name: &str, t: &DataType) -> Result<()> {
    match t {
        DataType::Map(..) => plan_err!(
            "[DATATYPE_MISMATCH.HASH_MAP_TYPE] Input to the function `{name}` cannot contain elements of the \"MAP\" type"
        ),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => check(name, f.data_type()),
        DataType::Struct(fs) => fs.iter().try_for_each(|f| check(name, f.data_type())),
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::Date32
        | DataType::Timestamp(..) => Ok(()),
        other => plan_err!("function {name} is not supported yet: hashing {other}"),
    }
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    if t.is_empty() {
        return plan_err!("function {name} requires at least one argument");
    }
    let t: Vec<DataType> = t.iter().map(crate::sql::functions::simple::plain).collect();
    t.iter().try_for_each(|x| check(name, x))?;
    Ok(t)
}

fn ret(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

fn mix_k1(k1: u32) -> u32 {
    k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_h1(h1: u32, k1: u32) -> u32 {
    (h1 ^ k1).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

fn fmix(mut h1: u32, len: u32) -> u32 {
    h1 ^= len;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^ (h1 >> 16)
}

pub fn hash_int(v: i32, seed: i32) -> i32 {
    fmix(mix_h1(seed as u32, mix_k1(v as u32)), 4) as i32
}

pub fn hash_long(v: i64, seed: i32) -> i32 {
    let low = v as u32;
    let high = (v as u64 >> 32) as u32;
    let h1 = mix_h1(seed as u32, mix_k1(low));
    fmix(mix_h1(h1, mix_k1(high)), 8) as i32
}

pub fn hash_bytes(bytes: &[u8], seed: i32) -> i32 {
    let aligned = bytes.len() - bytes.len() % 4;
    let mut h1 = seed as u32;
    for c in bytes[..aligned].chunks(4) {
        h1 = mix_h1(h1, mix_k1(u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    }
    for b in &bytes[aligned..] {
        h1 = mix_h1(h1, mix_k1(*b as i8 as i32 as u32));
    }
    fmix(h1, bytes.len() as u32) as i32
}

/// Java's `BigInteger.toByteArray` of a value: minimal big-endian two's complement.
fn big_integer_bytes(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Updates `hashes` (one per row) with the rows of `array`; NULL rows leave theirs unchanged.
pub fn update(array: &ArrayRef, hashes: &mut [i32]) -> Result<()> {
    macro_rules! each {
        ($a:expr, $f:expr) => {{
            let a = $a;
            for (i, h) in hashes.iter_mut().enumerate() {
                if a.is_valid(i) {
                    *h = $f(a.value(i), *h);
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Null => {}
        DataType::Boolean => {
            let a = array.as_any().downcast_ref::<BooleanArray>().map_or_else(|| exec_err!("boolean"), Ok)?;
            each!(a, |v: bool, h| hash_int(v as i32, h))
        }
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), |v: i8, h| hash_int(v as i32, h)),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |v: i16, h| hash_int(v as i32, h)),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), hash_int),
        DataType::Date32 => each!(array.as_primitive::<Date32Type>(), hash_int),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), hash_long),
        DataType::Timestamp(..) => {
            let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let longs = cast(&micros, &DataType::Int64)?;
            each!(longs.as_primitive::<Int64Type>(), hash_long)
        }
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v: f32, h| {
            let v = if v == 0.0 { 0.0f32 } else { v };
            let bits = if v.is_nan() { 0x7fc0_0000u32 } else { v.to_bits() };
            hash_int(bits as i32, h)
        }),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), |v: f64, h| {
            let v = if v == 0.0 { 0.0f64 } else { v };
            let bits = if v.is_nan() { 0x7ff8_0000_0000_0000u64 } else { v.to_bits() };
            hash_long(bits as i64, h)
        }),
        DataType::Decimal128(p, _) => {
            let a = array.as_any().downcast_ref::<Decimal128Array>().map_or_else(|| exec_err!("decimal"), Ok)?;
            if *p <= 18 {
                each!(a, |v: i128, h| hash_long(v as i64, h))
            } else {
                each!(a, |v: i128, h| hash_bytes(&big_integer_bytes(v), h))
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let s = cast(array, &DataType::Utf8)?;
            each!(s.as_string::<i32>(), |v: &str, h| hash_bytes(v.as_bytes(), h))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            let b = cast(array, &DataType::Binary)?;
            each!(b.as_binary::<i32>(), |v: &[u8], h| hash_bytes(v, h))
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let list = if let DataType::FixedSizeList(f, _) | DataType::LargeList(f) = array.data_type() {
                cast(array, &DataType::List(f.clone()))?
            } else {
                array.clone()
            };
            let list = list.as_any().downcast_ref::<ListArray>().map_or_else(|| exec_err!("list"), Ok)?;
            for (i, h) in hashes.iter_mut().enumerate() {
                if list.is_valid(i) {
                    let values = list.value(i);
                    // Elements hash in sequence: each takes the previous element's result.
                    let mut acc = [*h];
                    for k in 0..values.len() {
                        update(&values.slice(k, 1), &mut acc)?;
                    }
                    *h = acc[0];
                }
            }
        }
        DataType::Struct(_) => {
            let s = array.as_any().downcast_ref::<StructArray>().map_or_else(|| exec_err!("struct"), Ok)?;
            let before: Vec<i32> = hashes.to_vec();
            for c in s.columns() {
                update(c, hashes)?;
            }
            // A NULL struct keeps the seed it came with.
            for (i, h) in hashes.iter_mut().enumerate() {
                if s.is_null(i) {
                    *h = before[i];
                }
            }
        }
        other => return exec_err!("hash of {other} is not supported yet"),
    }
    Ok(())
}

fn eval(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let rows = args.first().map(|a| a.len()).unwrap_or(0);
    let mut hashes = vec![SEED; rows];
    for a in args {
        update(a, &mut hashes)?;
    }
    Ok(Arc::new(Int32Array::from(hashes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, StringArray};

    fn one(a: ArrayRef) -> i32 {
        let mut h = vec![SEED];
        update(&a, &mut h).unwrap();
        h[0]
    }

    #[test]
    fn matches_spark() {
        assert_eq!(hash_int(1, SEED), -559580957);
        assert_eq!(hash_long(1, SEED), -1712319331);
        assert_eq!(one(Arc::new(StringArray::from(vec!["abc"]))), 1322437556);
        assert_eq!(one(Arc::new(StringArray::from(vec![""]))), 142593372);
        assert_eq!(one(Arc::new(StringArray::from(vec!["héllo"]))), 1212979866);
        let d = Decimal128Array::from(vec![125i128]).with_precision_and_scale(20, 2).unwrap();
        assert_eq!(one(Arc::new(d)), -1153375511);
        assert_eq!(hash_int(1, hash_int(1, SEED)), hash_int(1, hash_int(1, SEED)));
    }
}
