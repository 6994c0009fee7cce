//! `histogram_numeric(x, nb)`: Spark's approximate histogram of the numeric `x` with at most
//! `nb` bins, an `array<struct<x, y: double>>` of (bin centre, count) in ascending centre
//! order; `x` has the input's type (Spark's default
//! `spark.sql.legacy.histogramNumericPropagateInputType=true`: integers truncate the centre).
//! NULL when there are no non-null values.
//!
//! The algorithm is Spark's (from Hive's `NumericHistogram`, after Ben-Haim & Tom-Tov): each
//! value joins the bin with its exact centre or becomes a new bin; while there are more than
//! `nb` bins the two adjacent bins closest together merge into their weighted mean. Among
//! equally close pairs the choice is Hive's reservoir draw from `java.util.Random(31183)`,
//! reproduced here, so the result is Spark's for the same input order. Merging partial
//! histograms appends and sorts the bins, then trims, as Spark does.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

/// `histogram_numeric`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HistogramNumeric {
    signature: Signature,
}

/// `histogram_numeric`.
pub fn function() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(HistogramNumeric { signature: Signature::user_defined(Volatility::Immutable) }))
}

fn bin_fields(x: &DataType) -> Fields {
    Fields::from(vec![Field::new("x", x.clone(), true), Field::new("y", DataType::Float64, true)])
}

impl AggregateUDFImpl for HistogramNumeric {
    fn name(&self) -> &str {
        "histogram_numeric"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [x, n] if (x.is_integer() || x.is_floating()) && n.is_integer() => Ok(vec![x.clone(), DataType::Int64]),
            _ => plan_err!("function histogram_numeric is not supported yet: arguments {arg_types:?}"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(bin_fields(&arg_types[0])), true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |suffix: &str| {
            Arc::new(Field::new_list(
                format_state_name(args.name, suffix),
                Field::new_list_field(DataType::Float64, true),
                true,
            ))
        };
        Ok(vec![list("x"), list("y")])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let nbins = match acc_args.exprs.get(1).and_then(|e| e.downcast_ref::<Literal>()).map(|l| l.value()) {
            Some(ScalarValue::Int64(Some(n))) => *n,
            Some(ScalarValue::Int32(Some(n))) => i64::from(*n),
            _ => return exec_err!("function histogram_numeric: the number of bins must be an integer constant"),
        };
        if !(2..=1 << 20).contains(&nbins) {
            return exec_err!("function histogram_numeric: the number of bins must be at least 2, not {nbins}");
        }
        Ok(Box::new(HistogramAccumulator {
            histogram: Histogram::new(nbins as usize),
            data_type: acc_args.expr_fields[0].data_type().clone(),
        }))
    }
}

/// `java.util.Random`, for Hive's tie-break draws.
#[derive(Debug)]
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5DEE_CE66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: u64) -> Self {
        Self { seed: (seed ^ Self::MULTIPLIER) & Self::MASK }
    }

    fn next(&mut self, bits: u32) -> u64 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        self.seed >> (48 - bits)
    }

    fn next_double(&mut self) -> f64 {
        (((self.next(26)) << 27) + self.next(27)) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Hive's `NumericHistogram`: bins `(x, y)` in ascending `x`.
#[derive(Debug)]
struct Histogram {
    nbins: usize,
    bins: Vec<(f64, f64)>,
    prng: JavaRandom,
}

impl Histogram {
    fn new(nbins: usize) -> Self {
        Self { nbins, bins: Vec::new(), prng: JavaRandom::new(31183) }
    }

    fn add(&mut self, v: f64) {
        let (mut bin, mut l, mut r) = (0usize, 0usize, self.bins.len());
        while l < r {
            bin = (l + r) / 2;
            if self.bins[bin].0 > v {
                r = bin;
            } else if self.bins[bin].0 < v {
                bin += 1;
                l = bin;
            } else {
                break;
            }
        }
        if bin < self.bins.len() && self.bins[bin].0 == v {
            self.bins[bin].1 += 1.0;
        } else {
            self.bins.insert(bin, (v, 1.0));
            if self.bins.len() > self.nbins {
                self.trim();
            }
        }
    }

    fn trim(&mut self) {
        while self.bins.len() > self.nbins {
            let mut smallest = self.bins[1].0 - self.bins[0].0;
            let (mut location, mut count) = (0usize, 1u32);
            for i in 1..self.bins.len() - 1 {
                let diff = self.bins[i + 1].0 - self.bins[i].0;
                if diff < smallest {
                    smallest = diff;
                    location = i;
                    count = 1;
                } else if diff == smallest && {
                    count += 1;
                    self.prng.next_double() <= 1.0 / f64::from(count)
                } {
                    location = i;
                }
            }
            let (x2, y2) = self.bins[location + 1];
            let (x1, y1) = self.bins[location];
            let d = y1 + y2;
            let mut x = x1 * (y1 / d);
            x += x2 / d * y2;
            self.bins[location] = (x, d);
            self.bins.remove(location + 1);
        }
    }

    fn merge(&mut self, other: impl Iterator<Item = (f64, f64)>) {
        if self.bins.is_empty() {
            self.bins = other.collect();
            return;
        }
        self.bins.extend(other);
        // Stable, as Java's `Collections.sort`.
        self.bins.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.trim();
    }
}

#[derive(Debug)]
struct HistogramAccumulator {
    histogram: Histogram,
    data_type: DataType,
}

impl Accumulator for HistogramAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = cast(&values[0], &DataType::Float64)?;
        for v in values.as_primitive::<Float64Type>().iter().flatten() {
            self.histogram.add(v);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (xs, ys) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for i in 0..xs.len() {
            if xs.is_null(i) || ys.is_null(i) {
                continue;
            }
            let (x, y) = (xs.value(i), ys.value(i));
            let (x, y) = (x.as_primitive::<Float64Type>(), y.as_primitive::<Float64Type>());
            self.histogram.merge(x.values().iter().copied().zip(y.values().iter().copied()));
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let xs: ArrayRef = Arc::new(Float64Array::from_iter_values(self.histogram.bins.iter().map(|b| b.0)));
        let ys: ArrayRef = Arc::new(Float64Array::from_iter_values(self.histogram.bins.iter().map(|b| b.1)));
        Ok(vec![
            SingleRowListArrayBuilder::new(xs).build_list_scalar(),
            SingleRowListArrayBuilder::new(ys).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let fields = bin_fields(&self.data_type);
        if self.histogram.bins.is_empty() {
            return ScalarValue::try_from(&DataType::new_list(DataType::Struct(fields), true));
        }
        let centres = Float64Array::from_iter_values(self.histogram.bins.iter().map(|b| b.0));
        // Integer centres truncate toward zero, as Spark's `toInt` / `toLong`.
        let xs = cast(&centres, &self.data_type)?;
        let ys: ArrayRef = Arc::new(Float64Array::from_iter_values(self.histogram.bins.iter().map(|b| b.1)));
        let bins = StructArray::try_new(fields, vec![xs, ys], None)?;
        Ok(SingleRowListArrayBuilder::new(Arc::new(bins)).build_list_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.histogram.bins.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_sequence() {
        // `new java.util.Random(42).nextDouble()`.
        let mut r = JavaRandom::new(42);
        assert!((r.next_double() - 0.7275636800328681).abs() < 1e-16);
    }

    #[test]
    fn few_values_are_exact_bins() {
        let mut h = Histogram::new(5);
        [0.0, 1.0, 2.0, 10.0, 1.0].into_iter().for_each(|v| h.add(v));
        assert_eq!(h.bins, vec![(0.0, 1.0), (1.0, 2.0), (2.0, 1.0), (10.0, 1.0)]);
    }

    #[test]
    fn closest_bins_merge() {
        let mut h = Histogram::new(2);
        [0.0, 1.0, 10.0].into_iter().for_each(|v| h.add(v));
        assert_eq!(h.bins, vec![(0.5, 2.0), (10.0, 1.0)]);
    }
}
