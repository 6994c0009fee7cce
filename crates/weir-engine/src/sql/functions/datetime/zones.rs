//! `from_utc_timestamp(ts, tz)` (the wall-clock time in `tz` of a UTC instant) and
//! `to_utc_timestamp(ts, tz)` (the UTC instant of a wall-clock time in `tz`), as Spark
//! computes them with Java's rules: a time in a DST gap moves later by the gap, one in an
//! overlap takes the earlier offset. Strings and dates are cast to timestamps first.

use std::sync::Arc;

use datafusion::arrow::array::{Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{
    MICROS_PER_SECOND, arrays, coerce_string, coerce_temporal, expect_args, micros, strings, timestamp_type, value_at,
    zones,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ShiftZone {
    name: &'static str,
    to_utc: bool,
    signature: Signature,
}

impl ShiftZone {
    pub fn from_utc() -> Self {
        Self { name: "from_utc_timestamp", to_utc: false, signature: Signature::user_defined(Volatility::Immutable) }
    }
    pub fn to_utc() -> Self {
        Self { name: "to_utc_timestamp", to_utc: true, ..Self::from_utc() }
    }
}

impl ScalarUDFImpl for ShiftZone {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name, types, 2..=2)?;
        Ok(vec![coerce_temporal(self.name, &types[0])?, coerce_string(self.name, &types[1])?])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        let values = micros(&a[0])?;
        let zones = zones(self.name, &strings(&a[1])?)?;
        let out: TimestampMicrosecondArray = (0..values.len())
            .map(|row| {
                if values.is_null(row) {
                    return None;
                }
                let (t, zone) = (values.value(row), value_at(&zones, row)?);
                if self.to_utc { zone.local_to_utc(t) } else { t.checked_add(zone.offset_at(t)? * MICROS_PER_SECOND) }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out.with_timezone("+00:00"))))
    }
}
