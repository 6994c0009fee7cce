//! `date(x)` and `timestamp(x)`: Spark's cast functions (`CAST(x AS DATE)`,
//! `CAST(x AS TIMESTAMP)`; text that is no date or timestamp gives null), and
//! `current_timezone()`, the session's time zone (UTC).

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{coerce_temporal, days, expect_args, micros, timestamp_type};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CastFunction {
    timestamp: bool,
    signature: Signature,
}

impl CastFunction {
    pub fn date() -> Self {
        Self { timestamp: false, signature: Signature::user_defined(Volatility::Immutable) }
    }
    pub fn timestamp() -> Self {
        Self { timestamp: true, ..Self::date() }
    }
}

impl ScalarUDFImpl for CastFunction {
    fn name(&self) -> &str {
        if self.timestamp { "timestamp" } else { "date" }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 1..=1)?;
        Ok(vec![coerce_temporal(self.name(), &types[0])?])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.timestamp { timestamp_type() } else { DataType::Date32 })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(if self.timestamp {
            let values = micros(&input)?;
            Arc::new(
                values
                    .reinterpret_cast::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                    .with_timezone("+00:00"),
            )
        } else {
            Arc::new(days(&input)?)
        }))
    }
}

/// `current_timezone()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CurrentTimezone {
    signature: Signature,
}

impl CurrentTimezone {
    pub fn new() -> Self {
        Self { signature: Signature::nullary(Volatility::Stable) }
    }
}

impl Default for CurrentTimezone {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for CurrentTimezone {
    fn name(&self) -> &str {
        "current_timezone"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some("UTC".into()))))
    }
}
