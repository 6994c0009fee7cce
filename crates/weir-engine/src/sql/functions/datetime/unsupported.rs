//! Spark datetime functions Weir cannot answer exactly yet: they fail at plan time with
//! "function NAME is not supported yet" rather than give a different answer.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Unsupported {
    name: &'static str,
    reason: &'static str,
    signature: Signature,
}

impl Unsupported {
    pub fn new(name: &'static str, reason: &'static str) -> Self {
        Self {
            name,
            reason,
            signature: Signature::one_of(
                vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Unsupported {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("function {} is not supported yet: {}", self.name, self.reason)
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("function {} is not supported yet: {}", self.name, self.reason)
    }
}

/// The functions and why.
pub const UNSUPPORTED: &[(&str, &str)] = &[];
