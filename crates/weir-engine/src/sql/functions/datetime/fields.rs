//! Fields of dates and timestamps: `year`, `quarter`, `month`, `day`/`dayofmonth`,
//! `dayofweek` (Sunday = 1), `weekday` (Monday = 0), `dayofyear`, `weekofyear` (ISO week),
//! `hour`, `minute`, `second` (int), `dayname`/`monthname` (`Wed`, `Feb`), and
//! `date_part(field, source)` / `datepart`, where `SECOND` is `decimal(8,6)` (seconds with
//! microseconds) and every other field an int. Strings are cast as Spark casts them (to a
//! date for the date fields, to a timestamp for the time fields), in UTC.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{MICROS_PER_SECOND, coerce_temporal, date_of, days, expect_args, is_string, micros};

/// A field Spark extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Year,
    YearOfWeek,
    Quarter,
    Month,
    Week,
    Day,
    DayOfWeek,
    DayOfWeekIso,
    Weekday,
    DayOfYear,
    Hour,
    Minute,
    /// Whole seconds (`second()`).
    Second,
    /// Seconds with microseconds (`date_part('SECOND', ..)`).
    SecondFraction,
    DayName,
    MonthName,
}

impl Part {
    /// A `date_part` / `extract` field name, as Spark spells them (any case).
    pub fn from_field(text: &str) -> Option<Part> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "YEAR" | "Y" | "YEARS" | "YR" | "YRS" => Part::Year,
            "YEAROFWEEK" => Part::YearOfWeek,
            "QUARTER" | "QTR" => Part::Quarter,
            "MONTH" | "MON" | "MONS" | "MONTHS" => Part::Month,
            "WEEK" | "W" | "WEEKS" => Part::Week,
            "DAY" | "D" | "DAYS" => Part::Day,
            "DAYOFWEEK" | "DOW" => Part::DayOfWeek,
            "DAYOFWEEK_ISO" | "DOW_ISO" => Part::DayOfWeekIso,
            "DOY" => Part::DayOfYear,
            "HOUR" | "H" | "HOURS" | "HR" | "HRS" => Part::Hour,
            "MINUTE" | "M" | "MIN" | "MINS" | "MINUTES" => Part::Minute,
            "SECOND" | "S" | "SEC" | "SECONDS" | "SECS" => Part::SecondFraction,
            _ => return None,
        })
    }

    fn of_time(self) -> bool {
        matches!(self, Part::Hour | Part::Minute | Part::Second | Part::SecondFraction)
    }

    fn return_type(self) -> DataType {
        match self {
            Part::DayName | Part::MonthName => DataType::Utf8,
            Part::SecondFraction => DataType::Decimal128(8, 6),
            _ => DataType::Int32,
        }
    }

    fn of_date(self, date: NaiveDate) -> i32 {
        match self {
            Part::Year => date.year(),
            Part::YearOfWeek => date.iso_week().year(),
            Part::Quarter => (date.month0() / 3 + 1) as i32,
            Part::Month => date.month() as i32,
            Part::Week => date.iso_week().week() as i32,
            Part::Day => date.day() as i32,
            Part::DayOfWeek => date.weekday().number_from_sunday() as i32,
            Part::DayOfWeekIso => date.weekday().number_from_monday() as i32,
            Part::Weekday => date.weekday().num_days_from_monday() as i32,
            Part::DayOfYear => date.ordinal() as i32,
            _ => 0,
        }
    }

    /// The field of every row of a date, timestamp or string column.
    pub fn extract(self, array: &ArrayRef) -> Result<ArrayRef> {
        if self.of_time() {
            let values = micros(array)?;
            if self == Part::SecondFraction {
                let out: Decimal128Array =
                    values.iter().map(|m| m.map(|m| i128::from(m.rem_euclid(60 * MICROS_PER_SECOND)))).collect();
                return Ok(Arc::new(out.with_precision_and_scale(8, 6)?));
            }
            let out: Int32Array = values
                .iter()
                .map(|m| {
                    m.map(|m| {
                        let second_of_day = m.div_euclid(MICROS_PER_SECOND).rem_euclid(86_400);
                        (match self {
                            Part::Hour => second_of_day / 3600,
                            Part::Minute => second_of_day / 60 % 60,
                            _ => second_of_day % 60,
                        }) as i32
                    })
                })
                .collect();
            return Ok(Arc::new(out));
        }
        let dates = days(array)?;
        let dates = dates.iter().map(|d| d.and_then(date_of));
        Ok(match self {
            Part::DayName => Arc::new(dates.map(|d| d.map(|d| d.format("%a").to_string())).collect::<StringArray>()),
            Part::MonthName => Arc::new(dates.map(|d| d.map(|d| d.format("%b").to_string())).collect::<StringArray>()),
            _ => Arc::new(dates.map(|d| d.map(|d| self.of_date(d))).collect::<Int32Array>()),
        })
    }
}

/// `year(x)`, `month(x)`, ... : one field of a date or timestamp.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Extract {
    name: &'static str,
    part: Part,
    signature: Signature,
}

impl Extract {
    pub fn new(name: &'static str, part: Part) -> Self {
        Self { name, part, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for Extract {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name, arg_types, 1..=1)?;
        Ok(vec![coerce_temporal(self.name, &arg_types[0])?])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.part.return_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(self.part.extract(&input)?))
    }
}

/// Spark's `date_part`, for planning `EXTRACT(field FROM source)` with it (DataFusion and
/// datafusion-spark plan `EXTRACT` with their own `date_part`, whose `SECOND` is an int).
pub fn date_part_udf() -> Arc<datafusion::logical_expr::ScalarUDF> {
    Arc::new(datafusion::logical_expr::ScalarUDF::from(DatePart::new()).with_aliases(["datepart"]))
}

/// `date_part(field, source)` and `datepart`: the field must be a literal.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DatePart {
    signature: Signature,
}

impl DatePart {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for DatePart {
    fn default() -> Self {
        Self::new()
    }
}

fn field_text(value: Option<&ScalarValue>) -> Option<String> {
    match value? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn part_of(value: Option<&ScalarValue>) -> Result<Part> {
    let Some(text) = field_text(value) else {
        return plan_err!("function date_part is not supported yet: a field that is not a string literal");
    };
    match Part::from_field(&text) {
        Some(p) => Ok(p),
        None => plan_err!("date_part: '{text}' is not a valid field to extract"),
    }
}

impl ScalarUDFImpl for DatePart {
    fn name(&self) -> &str {
        "date_part"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args("date_part", arg_types, 2..=2)?;
        if !is_string(&arg_types[0]) {
            return plan_err!("date_part: the field must be a string, not {}", arg_types[0]);
        }
        if super::interval_fields::is_interval(&arg_types[1]) {
            return Ok(arg_types.to_vec());
        }
        Ok(vec![arg_types[0].clone(), coerce_temporal("date_part", &arg_types[1])?])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        internal_err!("date_part's type depends on its field: return_field_from_args is used")
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let part = part_of(args.scalar_arguments.first().copied().flatten())?;
        if let Some(source) = args.arg_fields.get(1)
            && super::interval_fields::is_interval(source.data_type())
        {
            let t = super::interval_fields::field_type(part, source.data_type())?;
            return Ok(Arc::new(Field::new(self.name(), t, true)));
        }
        Ok(Arc::new(Field::new(self.name(), part.return_type(), true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let part = match &args.args[0] {
            ColumnarValue::Scalar(s) => part_of(Some(s))?,
            ColumnarValue::Array(_) => return exec_err!("date_part: the field must be a literal"),
        };
        let input = args.args[1].to_array(args.number_rows)?;
        if super::interval_fields::is_interval(input.data_type()) {
            return Ok(ColumnarValue::Array(super::interval_fields::extract(part, &input)?));
        }
        Ok(ColumnarValue::Array(part.extract(&input)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;

    #[test]
    fn extracts_fields_of_text() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![Some("2009-07-30 12:58:59.5"), None, Some("x")]));
        let get = |p: Part| {
            let out = p.extract(&input).expect("extract");
            let out = out.as_any().downcast_ref::<Int32Array>().expect("ints").clone();
            out.iter().collect::<Vec<_>>()
        };
        assert_eq!(get(Part::DayOfWeek), vec![Some(5), None, None]);
        assert_eq!(get(Part::Weekday), vec![Some(3), None, None]);
        assert_eq!(get(Part::Second), vec![Some(59), None, None]);
        assert_eq!(get(Part::Week), vec![Some(31), None, None]);
        let seconds = Part::SecondFraction.extract(&input).expect("seconds");
        let seconds = seconds.as_any().downcast_ref::<Decimal128Array>().expect("decimal");
        assert_eq!(seconds.value_as_string(0), "59.500000");
    }
}
