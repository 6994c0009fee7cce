//! Spark aggregate functions (`agg_funcs`).

use std::sync::Arc;

use datafusion::functions_aggregate;
use datafusion::logical_expr::AggregateUDF;

pub mod avg;
pub mod bigint_result;
pub mod bitmap;
pub mod collect_set;
pub mod collect_union;
pub mod histogram_numeric;
pub mod interval_avg;
pub mod max_by;
pub mod mode;
pub mod moments;
pub mod percentile;
pub mod rewrite;
pub mod sliding;
pub mod spelling;
pub mod sum;
pub mod top_by;

/// The group's aggregate functions.
pub fn aggregate() -> Vec<Arc<AggregateUDF>> {
    let aliased = |udaf: Arc<AggregateUDF>, aliases: &'static [&'static str]| {
        Arc::new(udaf.as_ref().clone().with_aliases(aliases.iter().copied()))
    };
    let mut functions = vec![
        // Spark's `any`/`some`/`bool_or` and `every`/`bool_and` are DataFusion's.
        aliased(functions_aggregate::bool_and_or::bool_or_udaf(), &["any", "some"]),
        aliased(functions_aggregate::bool_and_or::bool_and_udaf(), &["every"]),
        // `std` is `stddev` (sample), `variance` is `var_samp`.
        aliased(functions_aggregate::stddev::stddev_udaf(), &["std"]),
        aliased(functions_aggregate::variance::var_samp_udaf(), &["variance"]),
        Arc::new(AggregateUDF::from(collect_set::CollectSet::new())),
        Arc::new(AggregateUDF::from(mode::Mode::new())),
        Arc::new(AggregateUDF::from(sum::Sum::new())),
    ];
    functions.extend(rewrite::functions());
    functions.extend(bigint_result::functions());
    functions.extend(moments::functions());
    functions.extend(max_by::functions());
    functions.extend(avg::functions());
    functions.extend(percentile::functions());
    functions.extend(bitmap::functions());
    functions.push(histogram_numeric::function());
    functions.push(collect_union::function());
    functions
}
