//! Spark SQL as the workshop writes it, checked against Spark's results.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder, StructBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;

fn ctx() -> SessionContext {
    let state = super::with_spark(
        SessionStateBuilder::new().with_config(super::session_config()).with_default_features(),
        super::SqlOptions::default(),
    )
    .build();
    SessionContext::new_with_state(state)
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).collect().await.unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    text.lines()
        .skip(3)
        .filter(|l| !l.starts_with('+'))
        .map(|l| l.split('|').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(","))
        .collect()
}

async fn one(ctx: &SessionContext, sql: &str) -> String {
    rows(ctx, sql).await.into_iter().next().unwrap_or_default()
}

fn errors_type() -> DataType {
    let fields =
        Fields::from(vec![Field::new("field", DataType::Utf8, false), Field::new("message", DataType::Utf8, false)]);
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), true)))
}

fn typed_table(errors_per_row: &[usize]) -> MemTable {
    let fields =
        Fields::from(vec![Field::new("field", DataType::Utf8, false), Field::new("message", DataType::Utf8, false)]);
    let mut errors = ListBuilder::new(StructBuilder::from_fields(fields, 0));
    for &n in errors_per_row {
        for _ in 0..n {
            let s = errors.values();
            s.field_builder::<StringBuilder>(0).unwrap().append_value("id");
            s.field_builder::<StringBuilder>(1).unwrap().append_value("bad");
            s.append(true);
        }
        errors.append(true);
    }
    let n = errors_per_row.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("_errors", errors_type(), true),
    ]));
    let ids: ArrayRef = Arc::new(Int32Array::from_iter_values(1..=n as i32));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values((1..=n).map(|i| format!("n{i}"))));
    let batch = RecordBatch::try_new(schema.clone(), vec![ids, names, Arc::new(errors.finish())]).unwrap();
    MemTable::try_new(schema, vec![vec![batch]]).unwrap()
}

const VALIDATE: &str = "SELECT SUM(error) = 0 AS valid
      ,TO_JSON(
        NAMED_STRUCT('count', COUNT(error), 'errors', SUM(error))
      ) AS message
FROM
(
  SELECT CASE WHEN SIZE(_errors) > 0 THEN 1 ELSE 0 END AS error
  FROM initial_typed
) base";

#[tokio::test]
async fn workshop_validation_query() {
    let ctx = ctx();
    ctx.register_table("initial_typed", Arc::new(typed_table(&[0, 0, 0]))).unwrap();
    // Spark: true, {"count":3,"errors":0}
    assert_eq!(one(&ctx, VALIDATE).await, "true,{\"count\":3,\"errors\":0}");
    ctx.deregister_table("initial_typed").unwrap();
    ctx.register_table("initial_typed", Arc::new(typed_table(&[0, 2, 1]))).unwrap();
    assert_eq!(one(&ctx, VALIDATE).await, "false,{\"count\":3,\"errors\":2}");
}

#[tokio::test]
async fn workshop_scd_columns() {
    let ctx = ctx();
    ctx.register_table("t", Arc::new(typed_table(&[0]))).unwrap();
    let sql = "SELECT id,name
        ,\"2026-11-23 10:00:00.000\" AS valid_from
        ,CAST(null AS string) AS valid_to
        ,CAST(1 AS boolean) AS iscurrent
        ,md5(concat(name,name,name)) AS checksum
        FROM t";
    let df = ctx.sql(sql).await.unwrap();
    let fields: Vec<(String, DataType)> =
        df.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
    assert_eq!(fields[2], ("valid_from".to_string(), DataType::Utf8));
    assert_eq!(fields[3], ("valid_to".to_string(), DataType::Utf8));
    assert_eq!(fields[4], ("iscurrent".to_string(), DataType::Boolean));
    // Spark: md5('n1n1n1') = 'a0bc4e4b0c93be00e2de7f6fb2e4be51'
    let row = one(&ctx, sql).await;
    let expected: String = md5::Md5::digest(b"n1n1n1").iter().map(|b| format!("{b:02x}")).collect();
    assert!(row.ends_with(&format!("true,{expected}")), "{row}");
}

use md5::Digest;

#[tokio::test]
async fn workshop_staging_union_keeps_case_and_types() {
    let ctx = ctx();
    ctx.register_table("initial_load", Arc::new(typed_table(&[0, 0]))).unwrap();
    ctx.register_table("update_load", Arc::new(typed_table(&[0, 0, 0]))).unwrap();
    let sql = "SELECT NULL AS mergeKey, new.*
        FROM initial_load old
        INNER JOIN update_load new
        ON old.id = new.id
        WHERE old.name<>new.name
        UNION ALL
        SELECT id AS mergeKey, *
        FROM update_load";
    // Type coercion (NULL unioned with int is int) happens when the plan is analyzed.
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.clone().into_optimized_plan().unwrap();
    let df = datafusion::dataframe::DataFrame::new(ctx.state(), plan);
    assert_eq!(df.schema().field(0).name(), "mergeKey");
    assert_eq!(df.schema().field(0).data_type(), &DataType::Int32);
    assert_eq!(df.count().await.unwrap(), 3);
}

#[tokio::test]
async fn spark_literals_types_and_functions() {
    let ctx = ctx();
    assert_eq!(one(&ctx, "SELECT \"abc\" AS x").await, "abc");
    assert_eq!(one(&ctx, "SELECT `a b` FROM (SELECT 1 AS `a b`)").await, "1");
    assert_eq!(
        one(&ctx, "SELECT CAST('5' AS long), CAST('7' AS integer), CAST(1 AS string), CAST('true' AS boolean)").await,
        "5,7,1,true"
    );
    // Spark: concat with a null argument is null.
    assert_eq!(one(&ctx, "SELECT concat('a', NULL) IS NULL").await, "true");
    assert_eq!(one(&ctx, "SELECT size(array(1, 2, 3))").await, "3");
    // Spark: from_unixtime(0) = '1970-01-01 00:00:00' (UTC session)
    assert_eq!(one(&ctx, "SELECT from_unixtime(0)").await, "1970-01-01 00:00:00");
    assert_eq!(one(&ctx, "SELECT from_unixtime(86400, 'yyyy/MM/dd')").await, "1970/01/02");
    // Spark: unix_timestamp('2020-06-12 13:00:18') = 1591966818
    assert_eq!(one(&ctx, "SELECT unix_timestamp('2020-06-12 13:00:18')").await, "1591966818");
    assert_eq!(one(&ctx, "SELECT unix_timestamp('12/06/2020', 'dd/MM/yyyy')").await, "1591920000");
    assert_eq!(one(&ctx, "SELECT unix_timestamp('garbage') IS NULL").await, "true");
    // Spark: date_format('2020-06-12 13:00:18', 'dd MMM yyyy HH:mm') = '12 Jun 2020 13:00'
    assert_eq!(one(&ctx, "SELECT date_format('2020-06-12 13:00:18', 'dd MMM yyyy HH:mm')").await, "12 Jun 2020 13:00");
    assert_eq!(one(&ctx, "SELECT date_format(CAST('2020-06-12' AS date), 'yyyy-MM-dd')").await, "2020-06-12");
    assert_eq!(one(&ctx, "SELECT to_date('12/06/2020', 'dd/MM/yyyy')").await, "2020-06-12");
    // FROM_UNIXTIME(UNIX_TIMESTAMP()) is "now" as text
    assert_eq!(one(&ctx, "SELECT length(FROM_UNIXTIME(UNIX_TIMESTAMP()))").await, "19");
    assert_eq!(
        one(&ctx, "SELECT to_json(named_struct('a', 1, 'b', CAST(NULL AS string), 'c', array(1,2)))").await,
        "{\"a\":1,\"c\":[1,2]}"
    );
    assert_eq!(one(&ctx, "SELECT coalesce(NULL, 'x'), nvl(NULL, 2)").await, "x,2");
    assert_eq!(
        one(&ctx, "SELECT size(collect_list(x)) FROM (SELECT 1 AS x UNION ALL SELECT NULL UNION ALL SELECT 3)").await,
        "2"
    );
    let b = ctx.sql("SELECT TRUE").await.unwrap().collect().await.unwrap();
    assert!(b[0].column(0).as_any().downcast_ref::<BooleanArray>().unwrap().value(0));
}

#[test]
fn syntax_check() {
    assert!(super::check_syntax("SELECT * FROM t;").is_ok());
    assert!(super::check_syntax("SELEC 1").is_err());
    assert!(super::check_syntax("SELECT 1; SELECT 2").unwrap_err().contains("one SQL statement"));
}

/// Seeded random functions give Spark's numbers (printed by Spark 4.3 over one partition) and
/// start afresh in every query, so a view holding them reads the same twice.
#[tokio::test]
async fn seeded_random_is_sparks_and_repeatable() {
    let ctx = ctx();
    let sql = "SELECT rand(0), randn(NULL), uniform(10, 20, 0), uniform(1.5, 2.5, 3), randstr(5, 0), random(42) \
               FROM (VALUES (1), (2)) AS t(x)";
    let want = [
        "0.7604953758285915,1.6034991609278433,17,1.8,ceV0P,0.619189370225301",
        "0.5234194256885571,0.14416006165776865,15,2.2,XaR2I,0.5096018842446481",
    ];
    assert_eq!(rows(&ctx, sql).await, want);
    assert_eq!(rows(&ctx, sql).await, want);
    ctx.sql("CREATE VIEW r AS SELECT rand(7) AS a, rand(7) AS b FROM (VALUES (1), (2), (3)) AS t(x)").await.unwrap();
    let first = rows(&ctx, "SELECT * FROM r").await;
    assert_eq!(first, rows(&ctx, "SELECT * FROM r").await);
    let pairs: Vec<Vec<&str>> = first.iter().map(|r| r.split(',').collect()).collect();
    assert!(pairs.iter().all(|p| p[0] == p[1]), "each call has its own generator: {first:?}");
    let column_seed = ctx.sql("SELECT rand(x) FROM (VALUES (1)) AS t(x)").await.unwrap().collect().await;
    assert!(column_seed.unwrap_err().to_string().contains("must be constants"));
}

#[test]
fn syntax_errors_are_worded_as_sparks() {
    let err = super::check_syntax("SELEC 1").unwrap_err();
    assert!(err.starts_with("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. (line 1, pos 0)"), "{err}");
    let err = super::check_syntax("SELECT a,\n  b FROM t WHERE (a = 1").unwrap_err();
    assert!(err.contains("Syntax error at or near end of input."), "{err}");
}
