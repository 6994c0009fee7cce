//! Functions of Spark's TIMESTAMP_NTZ (a wall-clock time with no zone, see
//! [`crate::sql::timestamps`]):
//!
//! - `convert_timezone([sourceTz, ]targetTz, ts)`: the wall-clock time `ts` in `sourceTz`
//!   (the session's, UTC, when omitted) read in `targetTz`, a TIMESTAMP_NTZ. Text and dates
//!   are cast to TIMESTAMP_NTZ first; a local time in a DST gap moves later by the gap, one
//!   in an overlap takes the earlier offset (Java's rules).
//! - `localtimestamp()`: the current wall-clock time in the session time zone (UTC), a
//!   TIMESTAMP_NTZ.
//!
//! `to_timestamp_ntz` and `make_timestamp_ntz` share the code of their TIMESTAMP versions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{MICROS_PER_SECOND, arrays, coerce_string, coerce_temporal, expect_args, micros, strings, zones};
use crate::sql::timestamps::ntz;

/// `convert_timezone`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ConvertTimezone {
    signature: Signature,
}

impl ConvertTimezone {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for ConvertTimezone {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ConvertTimezone {
    fn name(&self) -> &str {
        "convert_timezone"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 2..=3)?;
        let (zones, ts) = types.split_at(types.len() - 1);
        let mut out: Vec<DataType> = zones.iter().map(|t| coerce_string(self.name(), t)).collect::<Result<_>>()?;
        out.push(coerce_temporal(self.name(), &ts[0])?);
        Ok(out)
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(ntz())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        let (zone_args, ts) = a.split_at(a.len() - 1);
        let values = micros(&ts[0])?;
        let target = zones(self.name(), &strings(&zone_args[zone_args.len() - 1])?)?;
        let source = match zone_args.len() {
            2 => Some(zones(self.name(), &strings(&zone_args[0])?)?),
            _ => None,
        };
        let out: TimestampMicrosecondArray = (0..values.len())
            .map(|row| {
                if values.is_null(row) {
                    return None;
                }
                let local = values.value(row);
                let utc = match &source {
                    Some(s) => s.get(row).copied().flatten()?.local_to_utc(local)?,
                    None => local,
                };
                let to = target.get(row).copied().flatten()?;
                utc.checked_add(to.offset_at(utc)?.checked_mul(MICROS_PER_SECOND)?)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `localtimestamp()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalTimestamp {
    signature: Signature,
}

impl LocalTimestamp {
    pub fn new() -> Self {
        Self { signature: Signature::nullary(Volatility::Stable) }
    }
}

impl Default for LocalTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LocalTimestamp {
    fn name(&self) -> &str {
        "localtimestamp"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(ntz())
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = chrono::Utc::now().timestamp_micros();
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(Some(now), None)))
    }
}
