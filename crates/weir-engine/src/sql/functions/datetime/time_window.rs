//! The functions behind Spark's time windows (see [`crate::sql::time_window`], which
//! rewrites `GROUP BY window(…)` / `session_window(…)` into calls of these):
//!
//! - `weir_time_windows(ts, duration, slide, start)` (microseconds): the windows
//!   `struct<start, end>` containing `ts`, as Spark computes them: the last window starts at
//!   `ts - ((ts - start) mod slide)`, earlier ones every `slide` before it while they still
//!   contain `ts`. Empty for a NULL `ts`.
//! - `weir_session_start(ts)`: `ts` as a timestamp (text is cast to TIMESTAMP, a
//!   TIMESTAMP_NTZ stays one); `weir_session_end(ts, gap)`: `ts + gap`, NULL when the gap
//!   is not a positive duration.
//! - `window_time(window)`: Spark's event time of a window, its end minus one microsecond.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListArray, StructArray, TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{arrays, coerce_string, coerce_temporal, expect_args, is_integer, micros, strings};
use crate::sql::timestamps::{ltz, ntz};

/// TIMESTAMP_NTZ stays one; anything else becomes TIMESTAMP.
fn timestamp_of(t: &DataType) -> DataType {
    if matches!(t, DataType::Timestamp(_, None)) { ntz() } else { ltz() }
}

fn with_zone(values: TimestampMicrosecondArray, t: &DataType) -> TimestampMicrosecondArray {
    match t {
        DataType::Timestamp(_, Some(zone)) => values.with_timezone(zone.clone()),
        _ => values,
    }
}

fn window_fields(t: &DataType) -> Fields {
    Fields::from(vec![Field::new("start", t.clone(), true), Field::new("end", t.clone(), true)])
}

/// The windows of one time (see the module doc).
fn windows_of(ts: i64, duration: i64, slide: i64, start: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    if duration <= 0 || slide <= 0 {
        return out;
    }
    let Some(shifted) = ts.checked_sub(start) else { return out };
    let last = ts - shifted.rem_euclid(slide);
    let count = (duration + slide - 1) / slide;
    for i in 0..count {
        let Some(s) = i.checked_mul(slide).and_then(|d| last.checked_sub(d)) else { break };
        let Some(e) = s.checked_add(duration) else { break };
        if s <= ts && ts < e {
            out.push((s, e));
        }
    }
    out.reverse();
    out
}

macro_rules! simple_udf {
    ($ty:ident, $name:expr) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $ty {
            signature: Signature,
        }
        impl $ty {
            pub fn new() -> Self {
                Self { signature: Signature::user_defined(Volatility::Immutable) }
            }
        }
        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

simple_udf!(TimeWindows, "weir_time_windows");

impl ScalarUDFImpl for TimeWindows {
    fn name(&self) -> &str {
        "weir_time_windows"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 4..=4)?;
        let mut out = vec![coerce_temporal("window", &types[0])?];
        for t in &types[1..] {
            if !is_integer(t) {
                return plan_err!("function weir_time_windows expects microseconds, not {t}");
            }
            out.push(DataType::Int64);
        }
        Ok(out)
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let t = timestamp_of(&arg_types[0]);
        Ok(DataType::List(Arc::new(Field::new_list_field(DataType::Struct(window_fields(&t)), true))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let t = timestamp_of(&args.args[0].data_type());
        let a = arrays(&args)?;
        let values = micros(&a[0])?;
        let params: Vec<Int64Array> = a[1..]
            .iter()
            .map(|p| cast(p, &DataType::Int64).map(|p| p.as_primitive::<Int64Type>().clone()))
            .collect::<std::result::Result<_, _>>()?;
        let mut offsets = Vec::with_capacity(values.len() + 1);
        offsets.push(0i32);
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        for row in 0..values.len() {
            if !values.is_null(row) && params.iter().all(|p| p.is_valid(row)) {
                let p = |i: usize| params[i].value(row);
                for (s, e) in windows_of(values.value(row), p(0), p(1), p(2)) {
                    starts.push(s);
                    ends.push(e);
                }
            }
            let Ok(end) = i32::try_from(starts.len()) else { return exec_err!("window: too many windows") };
            offsets.push(end);
        }
        let starts: ArrayRef = Arc::new(with_zone(TimestampMicrosecondArray::from(starts), &t));
        let ends: ArrayRef = Arc::new(with_zone(TimestampMicrosecondArray::from(ends), &t));
        let fields = window_fields(&t);
        let structs = StructArray::try_new(fields.clone(), vec![starts, ends], None)?;
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
            OffsetBuffer::new(offsets.into()),
            Arc::new(structs),
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

simple_udf!(SessionStart, "weir_session_start");

impl ScalarUDFImpl for SessionStart {
    fn name(&self) -> &str {
        "weir_session_start"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 1..=1)?;
        Ok(vec![coerce_temporal("session_window", &types[0])?])
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_of(&arg_types[0]))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let t = timestamp_of(&args.args[0].data_type());
        let a = arrays(&args)?;
        let values = micros(&a[0])?;
        let out = values.reinterpret_cast::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        Ok(ColumnarValue::Array(Arc::new(with_zone(out, &t))))
    }
}

simple_udf!(SessionEnd, "weir_session_end");

impl ScalarUDFImpl for SessionEnd {
    fn name(&self) -> &str {
        "weir_session_end"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 2..=2)?;
        Ok(vec![coerce_temporal("session_window", &types[0])?, coerce_string("session_window", &types[1])?])
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_of(&arg_types[0]))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let t = timestamp_of(&args.args[0].data_type());
        let a = arrays(&args)?;
        let values = micros(&a[0])?;
        let gaps = strings(&a[1])?;
        let mut cached: Option<(String, Option<i64>)> = None;
        let mut out = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            if values.is_null(row) || gaps.is_null(row) {
                out.push(None);
                continue;
            }
            let text = gaps.value(row);
            let gap = match &cached {
                Some((t, g)) if t == text => *g,
                _ => {
                    let g = crate::sql::time_window::duration_micros(text);
                    cached = Some((text.to_string(), g));
                    g
                }
            };
            out.push(gap.filter(|g| *g > 0).and_then(|g| values.value(row).checked_add(g)));
        }
        Ok(ColumnarValue::Array(Arc::new(with_zone(TimestampMicrosecondArray::from(out), &t))))
    }
}

simple_udf!(WindowTime, "window_time");

impl ScalarUDFImpl for WindowTime {
    fn name(&self) -> &str {
        "window_time"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 1..=1)?;
        match &types[0] {
            DataType::Struct(fields) if end_field(fields).is_some() => Ok(vec![types[0].clone()]),
            other => plan_err!("function window_time expects a time window column, not {other}"),
        }
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            DataType::Struct(fields) => match end_field(fields) {
                Some(i) => Ok(fields[i].data_type().clone()),
                None => plan_err!("function window_time expects a time window column"),
            },
            _ => plan_err!("function window_time expects a time window column"),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        let windows = a[0].as_struct();
        let Some(i) = end_field(windows.fields()) else { return exec_err!("window_time expects a time window column") };
        let end_type = windows.fields()[i].data_type().clone();
        let ends = micros(windows.column(i))?;
        let out: TimestampMicrosecondArray = (0..windows.len())
            .map(|row| if windows.is_null(row) || ends.is_null(row) { None } else { ends.value(row).checked_sub(1) })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(with_zone(out, &end_type))))
    }
}

fn end_field(fields: &Fields) -> Option<usize> {
    let i = fields.iter().position(|f| f.name() == "end")?;
    matches!(fields[i].data_type(), DataType::Timestamp(..)).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    #[test]
    fn tumbling_and_sliding_windows() {
        assert_eq!(windows_of(4 * MINUTE + 30, 5 * MINUTE, 5 * MINUTE, 0), vec![(0, 5 * MINUTE)]);
        assert_eq!(
            windows_of(6 * MINUTE, 10 * MINUTE, 5 * MINUTE, 0),
            vec![(0, 10 * MINUTE), (5 * MINUTE, 15 * MINUTE)]
        );
        assert_eq!(windows_of(-MINUTE, 5 * MINUTE, 5 * MINUTE, 0), vec![(-5 * MINUTE, 0)]);
        assert_eq!(windows_of(MINUTE, 5 * MINUTE, 5 * MINUTE, 2 * MINUTE), vec![(-3 * MINUTE, 2 * MINUTE)]);
    }
}
