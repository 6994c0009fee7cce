//! `skewness(x)` and `kurtosis(x)` (excess kurtosis), as Spark's central-moment aggregates:
//! population moments over the non-null values as doubles; NULL when there are no values or
//! they are all equal (Spark's non-legacy statistical aggregates).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Moment {
    Skewness,
    Kurtosis,
}

/// `skewness` or `kurtosis`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CentralMoment {
    moment: Moment,
    signature: Signature,
}

/// `skewness`, `kurtosis`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    [Moment::Skewness, Moment::Kurtosis]
        .into_iter()
        .map(|moment| {
            Arc::new(AggregateUDF::from(CentralMoment {
                moment,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

impl AggregateUDFImpl for CentralMoment {
    fn name(&self) -> &str {
        match self.moment {
            Moment::Skewness => "skewness",
            Moment::Kurtosis => "kurtosis",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if t.is_numeric()
                || t.is_null()
                || matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
            {
                Ok(vec![DataType::Float64])
            }
            _ => plan_err!("function {} is not supported yet: arguments {arg_types:?}", self.name()),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["n", "mean", "m2", "m3", "m4"]
            .iter()
            .map(|s| Arc::new(Field::new(format_state_name(args.name, s), DataType::Float64, true)))
            .collect())
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Moments { moment: self.moment, ..Moments::default() }))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    n: f64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl State {
    /// Adds one value (the one-pass update of the central moments).
    fn push(&mut self, x: f64) {
        let n1 = self.n;
        self.n += 1.0;
        let n = self.n;
        let delta = x - self.mean;
        let delta_n = delta / n;
        let delta_n2 = delta_n * delta_n;
        let term1 = delta * delta_n * n1;
        self.mean += delta_n;
        self.m4 += term1 * delta_n2 * (n * n - 3.0 * n + 3.0) + 6.0 * delta_n2 * self.m2 - 4.0 * delta_n * self.m3;
        self.m3 += term1 * delta_n * (n - 2.0) - 3.0 * delta_n * self.m2;
        self.m2 += term1;
    }

    /// Combines two partial states.
    fn merge(&mut self, o: &State) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.n, o.n);
        let n = na + nb;
        let delta = o.mean - self.mean;
        let delta_n = delta / n;
        let delta_n2 = delta_n * delta_n;
        let m2 = self.m2 + o.m2 + delta * delta_n * na * nb;
        let m3 = self.m3 + o.m3 + delta * delta_n2 * na * nb * (na - nb) + 3.0 * delta_n * (na * o.m2 - nb * self.m2);
        let m4 = self.m4
            + o.m4
            + delta * delta_n * delta_n2 * na * nb * (na * na - na * nb + nb * nb)
            + 6.0 * delta_n2 * (na * na * o.m2 + nb * nb * self.m2)
            + 4.0 * delta_n * (na * o.m3 - nb * self.m3);
        *self = State { n, mean: self.mean + delta_n * nb, m2, m3, m4 };
    }
}

#[derive(Debug, Default)]
struct Moments {
    moment: Moment,
    state: State,
}

impl Default for Moment {
    fn default() -> Self {
        Moment::Skewness
    }
}

impl Accumulator for Moments {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = cast(&values[0], &DataType::Float64)?;
        for x in values.as_primitive::<Float64Type>().iter().flatten() {
            self.state.push(x);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let cols: Vec<_> = states.iter().map(|s| s.as_primitive::<Float64Type>()).collect();
        for i in 0..states[0].len() {
            let part = State {
                n: cols[0].value(i),
                mean: cols[1].value(i),
                m2: cols[2].value(i),
                m3: cols[3].value(i),
                m4: cols[4].value(i),
            };
            self.state.merge(&part);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let s = self.state;
        Ok([s.n, s.mean, s.m2, s.m3, s.m4].into_iter().map(|v| ScalarValue::Float64(Some(v))).collect())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let s = self.state;
        if s.n == 0.0 || s.m2 == 0.0 {
            return Ok(ScalarValue::Float64(None));
        }
        let value = match self.moment {
            Moment::Skewness => s.n.sqrt() * s.m3 / (s.m2 * s.m2 * s.m2).sqrt(),
            Moment::Kurtosis => s.n * s.m4 / (s.m2 * s.m2) - 3.0,
        };
        Ok(ScalarValue::Float64(Some(value)))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_matches_one_pass() {
        let xs = [-10.0, -20.0, 100.0, 1000.0, 3.5];
        let mut all = State::default();
        xs.iter().for_each(|x| all.push(*x));
        let (mut a, mut b) = (State::default(), State::default());
        xs[..2].iter().for_each(|x| a.push(*x));
        xs[2..].iter().for_each(|x| b.push(*x));
        a.merge(&b);
        for (x, y) in [(all.m2, a.m2), (all.m3, a.m3), (all.m4, a.m4), (all.mean, a.mean)] {
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}");
        }
    }
}
