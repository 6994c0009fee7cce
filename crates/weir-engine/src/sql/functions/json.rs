//! Spark JSON functions (`json_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod ddl;
pub mod from_json;
pub mod get_json_object;
pub mod json_info;
pub mod json_tuple;
pub mod to_json;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut functions = vec![
        Arc::new(ScalarUDF::from(to_json::ToJson::new())),
        Arc::new(ScalarUDF::from(get_json_object::GetJsonObject::new())),
        Arc::new(ScalarUDF::from(json_tuple::JsonTuple::new())),
        Arc::new(ScalarUDF::from(from_json::FromJson::new())),
        Arc::new(ScalarUDF::from(json_tuple::JsonTupleField::new())),
    ];
    functions.extend(json_info::functions());
    functions
}
