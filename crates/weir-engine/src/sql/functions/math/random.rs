//! Spark's seeded random functions: `rand([seed])` (alias `random`), `randn([seed])`,
//! `uniform(min, max[, seed])` and `randstr(length[, seed])`.
//!
//! Spark draws from its `XORShiftRandom` (a `java.util.Random` whose `next(bits)` is an
//! xorshift over a MurmurHash3-scrambled seed), seeded with `seed + partitionIndex`, one draw
//! per row in the partition's order. Weir reproduces that generator bit for bit, so a seeded
//! call gives Spark's numbers for the first partition (every query over a single partition —
//! in-memory views, one file — and every constant query). Across several partitions the rows
//! are drawn in the order the partitions run, as in Spark the values then depend on the
//! partitioning.
//!
//! The seed (and `uniform`'s bounds, `randstr`'s length) must be constants, as in Spark; a
//! missing seed is drawn at random, a NULL seed is 0. Each evaluation of a query starts the
//! sequence afresh: the registered function is a template that the optimizer replaces, in
//! every plan it optimizes, by an instance holding its own generator. So a view holding
//! `rand(42)` gives the same numbers every time it is read, as Spark's does.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The group's random functions.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [Kind::Rand, Kind::Randn, Kind::Uniform, Kind::RandStr]
        .into_iter()
        .map(|kind| Arc::new(ScalarUDF::from(SparkRandom::template(kind))))
        .collect()
}

/// Spark's `XORShiftRandom` with `java.util.Random`'s derived draws.
#[derive(Debug, Clone)]
pub struct XorShiftRandom {
    state: u64,
    next_gaussian: Option<f64>,
}

impl XorShiftRandom {
    pub fn new(seed: i64) -> Self {
        Self { state: hash_seed(seed), next_gaussian: None }
    }

    /// `next(bits)`: the low `bits` bits of the next xorshift state.
    fn next(&mut self, bits: u32) -> i32 {
        let mut n = self.state ^ (self.state << 21);
        n ^= n >> 35;
        n ^= n << 4;
        self.state = n;
        (n & ((1u64 << bits) - 1)) as i32
    }

    /// `nextInt()`: 32 random bits.
    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextDouble()`: uniform in [0, 1) from 53 random bits.
    pub fn next_double(&mut self) -> f64 {
        let high = self.next(26) as i64;
        let low = self.next(27) as i64;
        ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `nextGaussian()`: Marsaglia's polar method, each pair's second value kept for the next call.
    pub fn next_gaussian(&mut self) -> f64 {
        if let Some(g) = self.next_gaussian.take() {
            return g;
        }
        loop {
            let v1 = 2.0 * self.next_double() - 1.0;
            let v2 = 2.0 * self.next_double() - 1.0;
            let s = v1 * v1 + v2 * v2;
            if s < 1.0 && s != 0.0 {
                let multiplier = (-2.0 * s.ln() / s).sqrt();
                self.next_gaussian = Some(v2 * multiplier);
                return v1 * multiplier;
            }
        }
    }
}

/// Spark's seed scramble: two MurmurHash3 (Scala's `bytesHash`) passes over the seed's
/// big-endian bytes give the low and high halves of the initial state.
fn hash_seed(seed: i64) -> u64 {
    let bytes = seed.to_be_bytes();
    let low = bytes_hash(&bytes, 0x3c07_4a61);
    let high = bytes_hash(&bytes, low);
    ((high as u64) << 32) | low as u64
}

fn bytes_hash(data: &[u8], seed: u32) -> u32 {
    let mix_last = |h: u32, k: u32| h ^ k.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593);
    let mut h = seed;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        h = mix_last(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    if !tail.is_empty() {
        let k = tail.iter().enumerate().fold(0u32, |k, (i, b)| k ^ ((*b as u32) << (8 * i)));
        h = mix_last(h, k);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Rand,
    Randn,
    Uniform,
    RandStr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Rand => "rand",
            Kind::Randn => "randn",
            Kind::Uniform => "uniform",
            Kind::RandStr => "randstr",
        }
    }

    /// The constant arguments before the optional seed.
    fn leading(self) -> usize {
        match self {
            Kind::Rand | Kind::Randn => 0,
            Kind::Uniform => 2,
            Kind::RandStr => 1,
        }
    }
}

/// The constant arguments of one call, read when the optimizer instantiates it.
#[derive(Debug)]
struct Instance {
    rng: Mutex<XorShiftRandom>,
    leading: Vec<ScalarValue>,
}

#[derive(Debug)]
struct SparkRandom {
    kind: Kind,
    aliases: Vec<String>,
    signature: Signature,
    /// None for the registered template; the optimizer swaps in an instance per plan.
    instance: Option<Arc<Instance>>,
}

impl PartialEq for SparkRandom {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && match (&self.instance, &other.instance) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for SparkRandom {}

impl std::hash::Hash for SparkRandom {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.instance.as_ref().map(Arc::as_ptr).hash(state);
    }
}

impl SparkRandom {
    fn template(kind: Kind) -> Self {
        let aliases = if kind == Kind::Rand { vec!["random".to_string()] } else { Vec::new() };
        Self { kind, aliases, signature: Signature::user_defined(Volatility::Volatile), instance: None }
    }

    fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The constant arguments: the leading ones and the seed (drawn when absent).
    fn constants(&self, args: &[Expr]) -> Result<Instance> {
        let name = self.name();
        let lead = self.kind.leading();
        if args.len() < lead || args.len() > lead + 1 {
            return plan_err!("function {name} takes {} or {} arguments, got {}", lead, lead + 1, args.len());
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            match literal(arg) {
                Some(v) => values.push(v),
                None => return plan_err!("function {name}: its arguments must be constants, got {arg}"),
            }
        }
        let seed = match values.get(lead) {
            None => random_seed(),
            Some(v) if v.is_null() => 0,
            Some(ScalarValue::Int8(Some(s))) => *s as i64,
            Some(ScalarValue::Int16(Some(s))) => *s as i64,
            Some(ScalarValue::Int32(Some(s))) => *s as i64,
            Some(ScalarValue::Int64(Some(s))) => *s,
            Some(other) => {
                return plan_err!("function {name}: the seed must be an INT or BIGINT constant, got {other}");
            }
        };
        values.truncate(lead);
        Ok(Instance { rng: Mutex::new(XorShiftRandom::new(seed)), leading: values })
    }
}

/// A seed for a call without one (Spark draws it at random too).
fn random_seed() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as i64
}

/// A constant argument, looking through casts the analyzer added.
fn literal(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        Expr::TryCast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        Expr::Alias(a) => literal(&a.expr),
        _ => None,
    }
}

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
}

/// `uniform`'s result type from its bounds' types, as Spark's: the wider integer when both are
/// integers, else DOUBLE, FLOAT, or the (upper bound's first) decimal type.
fn uniform_type(min: &DataType, max: &DataType) -> Result<DataType> {
    use DataType::*;
    let both = [min, max];
    if both.iter().all(|t| is_integer(t)) {
        return Ok(if both.contains(&&Int64) {
            Int64
        } else if both.contains(&&Int32) {
            Int32
        } else {
            Int16
        });
    }
    if both.contains(&&Float64) {
        return Ok(Float64);
    }
    if both.contains(&&Float32) {
        return Ok(Float32);
    }
    for t in [max, min] {
        if let Decimal128(p, s) = t
            && both.iter().all(|t| is_integer(t) || matches!(t, Decimal128(..)))
        {
            return Ok(Decimal128(*p, *s));
        }
    }
    plan_err!("function uniform is not supported yet: bounds of types {min} and {max}")
}

fn as_f64(v: &ScalarValue) -> Result<f64> {
    match v.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(x)) => Ok(x),
        other => exec_err!("uniform: a bound must be a number, got {other}"),
    }
}

impl ScalarUDFImpl for SparkRandom {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let lead = self.kind.leading();
        if arg_types.len() < lead || arg_types.len() > lead + 1 {
            return plan_err!("function {name} takes {} or {} arguments, got {}", lead, lead + 1, arg_types.len());
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match (self.kind, i, t) {
                (_, i, t) if i == lead => match t {
                    DataType::Null | DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                        Ok(t.clone())
                    }
                    other => plan_err!("function {name}: the seed must be an INT or BIGINT constant, not {other}"),
                },
                (Kind::Uniform, _, t)
                    if is_integer(t)
                        || matches!(t, DataType::Float32 | DataType::Float64 | DataType::Decimal128(..)) =>
                {
                    Ok(t.clone())
                }
                (Kind::RandStr, _, t) if is_integer(t) => Ok(DataType::Int32),
                (_, _, other) => plan_err!("function {name} does not take an argument of type {other}"),
            })
            .collect()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::Rand | Kind::Randn => Ok(DataType::Float64),
            Kind::RandStr => Ok(DataType::Utf8),
            Kind::Uniform => match arg_types {
                [min, max, ..] => uniform_type(min, max),
                _ => plan_err!("function uniform takes a lower and an upper bound"),
            },
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        Ok(Arc::new(Field::new(self.name(), self.return_type(&types)?, false)))
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        if self.instance.is_some() {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let instance = Some(Arc::new(self.constants(&args)?));
        let udf =
            SparkRandom { kind: self.kind, aliases: self.aliases.clone(), signature: self.signature.clone(), instance };
        Ok(ExprSimplifyResult::Simplified(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::from(udf)),
            args,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // Without the optimizer (never in Weir's sessions) the template seeds a generator for
        // the call itself.
        let fresh;
        let instance = match &self.instance {
            Some(instance) => instance.as_ref(),
            None => {
                let exprs: Vec<Expr> = args
                    .args
                    .iter()
                    .map(|a| match a {
                        ColumnarValue::Scalar(v) => Ok(Expr::Literal(v.clone(), None)),
                        ColumnarValue::Array(_) => {
                            exec_err!("function {}: its arguments must be constants", self.name())
                        }
                    })
                    .collect::<Result<_>>()?;
                fresh = self.constants(&exprs)?;
                &fresh
            }
        };
        let mut rng = match instance.rng.lock() {
            Ok(rng) => rng,
            Err(poisoned) => poisoned.into_inner(),
        };
        let out: ArrayRef = match self.kind {
            Kind::Rand => Arc::new((0..rows).map(|_| Some(rng.next_double())).collect::<Float64Array>()),
            Kind::Randn => Arc::new((0..rows).map(|_| Some(rng.next_gaussian())).collect::<Float64Array>()),
            Kind::RandStr => {
                let len = match &instance.leading[0] {
                    v if v.is_null() => return exec_err!("randstr: the length must not be NULL"),
                    v => match v.cast_to(&DataType::Int64)? {
                        ScalarValue::Int64(Some(n)) if n >= 0 => n as usize,
                        other => return exec_err!("randstr: the length must not be negative, got {other}"),
                    },
                };
                let mut b = StringBuilder::with_capacity(rows, rows * len);
                let mut s = String::with_capacity(len);
                for _ in 0..rows {
                    s.clear();
                    for _ in 0..len {
                        let v = (rng.next_int() % 62).unsigned_abs() as u8;
                        s.push(match v {
                            0..=9 => b'0' + v,
                            10..=35 => b'a' + (v - 10),
                            _ => b'A' + (v - 36),
                        } as char);
                    }
                    b.append_value(&s);
                }
                Arc::new(b.finish())
            }
            Kind::Uniform => {
                let (min, max) = (&instance.leading[0], &instance.leading[1]);
                let out_type = args.return_field.data_type().clone();
                if min.is_null() || max.is_null() {
                    return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&out_type)?));
                }
                let (lo, hi) = (as_f64(min)?, as_f64(max)?);
                let mut draw = || lo + rng.next_double() * (hi - lo);
                match out_type {
                    DataType::Int16 => Arc::new(Int16Array::from_iter_values((0..rows).map(|_| draw() as i16))),
                    DataType::Int32 => Arc::new(Int32Array::from_iter_values((0..rows).map(|_| draw() as i32))),
                    DataType::Int64 => Arc::new(Int64Array::from_iter_values((0..rows).map(|_| draw() as i64))),
                    DataType::Float32 => Arc::new(Float32Array::from_iter_values((0..rows).map(|_| draw() as f32))),
                    DataType::Float64 => Arc::new(Float64Array::from_iter_values((0..rows).map(|_| draw()))),
                    DataType::Decimal128(p, s) => {
                        let scale = 10f64.powi(s as i32);
                        // HALF_UP on the scaled value, as Spark's BigDecimal rounding.
                        let values = (0..rows).map(|_| {
                            let x = draw() * scale;
                            (x.abs() + 0.5).floor().copysign(x) as i128
                        });
                        Arc::new(Decimal128Array::from_iter_values(values).with_precision_and_scale(p, s)?)
                    }
                    other => return exec_err!("uniform: unexpected result type {other}"),
                }
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by Spark 4.3 (`SELECT rand(0) ... FROM range(0, 4, 1, 1)`).
    #[test]
    fn spark_sequences() {
        let mut r = XorShiftRandom::new(0);
        let got: Vec<f64> = (0..4).map(|_| r.next_double()).collect();
        assert_eq!(got, [0.7604953758285915, 0.5234194256885571, 0.0953472826424725, 0.3163249920547614]);
        let mut r = XorShiftRandom::new(0);
        let got: Vec<f64> = (0..4).map(|_| r.next_gaussian()).collect();
        let want = [1.6034991609278433, 0.14416006165776865, -0.6253564498627744, -0.28385414448030416];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * w.abs(), "{g} vs {w}");
        }
        assert_eq!(XorShiftRandom::new(42).next_double(), 0.619189370225301);
        assert_eq!(XorShiftRandom::new(-5).next_double(), 0.7332337014740989);
    }

    #[test]
    fn uniform_types() {
        use DataType::*;
        assert_eq!(uniform_type(&Int32, &Int32).unwrap(), Int32);
        assert_eq!(uniform_type(&Int64, &Int32).unwrap(), Int64);
        assert_eq!(uniform_type(&Int32, &Decimal128(2, 1)).unwrap(), Decimal128(2, 1));
        assert_eq!(uniform_type(&Decimal128(2, 1), &Decimal128(3, 2)).unwrap(), Decimal128(3, 2));
        assert_eq!(uniform_type(&Float32, &Float64).unwrap(), Float64);
    }
}
