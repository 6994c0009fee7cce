//! Spark's table-valued functions: `range(end)`, `range(start, end[, step[, partitions]])`
//! names its column `id` (DataFusion's `range` says `value`). Their names are case-insensitive
//! as in Spark (`RANGE(5)`): see [`lowercase_calls`].

use std::sync::Arc;

use datafusion::catalog::{TableFunction, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::logical_expr::{LogicalPlanBuilder, col};

/// The table functions, replacing DataFusion's same-named ones.
pub fn table_functions() -> Vec<Arc<TableFunction>> {
    vec![Arc::new(TableFunction::new("range".into(), Arc::new(SparkRange)))]
}

#[derive(Debug)]
struct SparkRange;

impl TableFunctionImpl for SparkRange {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        // Spark's fourth argument is a partition count: it does not change the rows.
        let exprs = &args.exprs()[..args.exprs().len().min(3)];
        let inner = datafusion::functions_table::range()
            .function()
            .call_with_args(TableFunctionArgs::new(exprs, args.session()))?;
        let plan = LogicalPlanBuilder::scan("range", provider_as_source(inner), None)?
            .project(vec![col("value").alias("id")])?
            .build()?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }
}

/// Lowercases the names of table-function calls (`FROM RANGE(5)`), which Spark resolves
/// case-insensitively and the planner looks up as written.
pub fn lowercase_calls(statement: &mut datafusion::sql::sqlparser::ast::Statement) {
    use datafusion::sql::sqlparser::ast::{ObjectNamePart, TableFactor, VisitMut, VisitorMut};
    struct Calls;
    impl VisitorMut for Calls {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> std::ops::ControlFlow<()> {
            if let TableFactor::Table { name, args: Some(_), .. } = factor
                && let [ObjectNamePart::Identifier(ident)] = name.0.as_mut_slice()
                && ident.quote_style.is_none()
            {
                ident.value = ident.value.to_lowercase();
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Calls);
}
