//! `date_part` / `datepart` / `EXTRACT` of intervals, as Spark's: of an `interval year to
//! month`, `YEAR` (int, whole years) and `MONTH` (tinyint, the months past them); of an
//! `interval day to second`, `DAY` (int), `HOUR` and `MINUTE` (tinyint, within the day and
//! the hour) and `SECOND` (decimal(8,6), seconds with microseconds within the minute). Fields
//! keep the interval's sign (they truncate toward zero). Other fields are Spark errors.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int8Array, Int32Array};
use datafusion::arrow::datatypes::{DataType, DurationMicrosecondType, IntervalUnit, IntervalYearMonthType, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};

use super::fields::Part;

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Whether `t` is one of Spark's interval types.
pub fn is_interval(t: &DataType) -> bool {
    matches!(t, DataType::Interval(IntervalUnit::YearMonth) | DataType::Duration(_))
}

/// Months or microseconds of an interval array (other arrays cast to bigint).
pub fn as_i64(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => Arc::new(
            array
                .as_primitive::<IntervalYearMonthType>()
                .unary::<_, datafusion::arrow::datatypes::Int64Type>(i64::from),
        ),
        _ => datafusion::arrow::compute::cast(array, &DataType::Int64)?,
    })
}

/// The type of `part` of an interval of type `t`.
pub fn field_type(part: Part, t: &DataType) -> Result<DataType> {
    let year_month = matches!(t, DataType::Interval(_));
    Ok(match (part, year_month) {
        (Part::Year, true) | (Part::Day, false) => DataType::Int32,
        (Part::Month, true) | (Part::Hour | Part::Minute, false) => DataType::Int8,
        (Part::SecondFraction, false) => DataType::Decimal128(8, 6),
        _ => {
            let kind = if year_month { "INTERVAL YEAR TO MONTH" } else { "INTERVAL DAY TO SECOND" };
            return plan_err!("[INVALID_EXTRACT_FIELD] Cannot extract {part:?} from {kind}");
        }
    })
}

/// `part` of every row of an interval array.
pub fn extract(part: Part, array: &ArrayRef) -> Result<ArrayRef> {
    field_type(part, array.data_type())?;
    match array.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => {
            let months = array.as_primitive::<IntervalYearMonthType>();
            Ok(match part {
                Part::Year => {
                    Arc::new(months.unary::<_, datafusion::arrow::datatypes::Int32Type>(|m| m / 12)) as ArrayRef
                }
                _ => Arc::new(months.iter().map(|m| m.map(|m| (m % 12) as i8)).collect::<Int8Array>()),
            })
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            let us = array.as_primitive::<DurationMicrosecondType>();
            Ok(match part {
                Part::Day => {
                    Arc::new(us.iter().map(|v| v.map(|v| (v / MICROS_PER_DAY) as i32)).collect::<Int32Array>())
                        as ArrayRef
                }
                Part::Hour => {
                    Arc::new(us.iter().map(|v| v.map(|v| (v / MICROS_PER_HOUR % 24) as i8)).collect::<Int8Array>())
                }
                Part::Minute => {
                    Arc::new(us.iter().map(|v| v.map(|v| (v / MICROS_PER_MINUTE % 60) as i8)).collect::<Int8Array>())
                }
                _ => Arc::new(
                    us.iter()
                        .map(|v| v.map(|v| i128::from(v % MICROS_PER_MINUTE)))
                        .collect::<Decimal128Array>()
                        .with_precision_and_scale(8, 6)?,
                ),
            })
        }
        other => exec_err!("expected an interval, not {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::DurationMicrosecondArray;

    #[test]
    fn fields_of_day_time() {
        let us = ((123 * 24 + 23) * 60 + 55) * 60_000_000i64 + 59_002_001;
        let input: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![Some(us), Some(-us), None]));
        let minutes = extract(Part::Minute, &input).expect("minutes");
        let minutes = minutes.as_any().downcast_ref::<Int8Array>().expect("tinyint");
        assert_eq!(minutes.iter().collect::<Vec<_>>(), vec![Some(55), Some(-55), None]);
        let seconds = extract(Part::SecondFraction, &input).expect("seconds");
        let seconds = seconds.as_any().downcast_ref::<Decimal128Array>().expect("decimal");
        assert_eq!(seconds.value_as_string(0), "59.002001");
        assert!(extract(Part::Year, &input).is_err());
    }
}
