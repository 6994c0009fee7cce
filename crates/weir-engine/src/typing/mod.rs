use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
#[derive(Debug, Clone)] pub struct FieldSpec;
#[derive(Debug, Clone, Copy)] pub enum FailMode { Permissive, FailFast }
#[derive(Debug)] pub struct E;
impl std::fmt::Display for E { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "x") } }
pub fn parse_schema(_d: &serde_json::Value) -> Result<Vec<FieldSpec>, Vec<E>> { Ok(vec![]) }
pub fn output_schema(_i: &Schema, _f: &[FieldSpec]) -> Result<SchemaRef, E> { Err(E) }
pub fn type_batch(_b: &RecordBatch, _f: &[FieldSpec], _s: &SchemaRef, _m: FailMode) -> Result<RecordBatch, E> { Err(E) }
