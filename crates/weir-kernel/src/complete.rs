//! Completion as Arc's kernel offers it: while the cursor is in the first word of a cell, items
//! whose label starts with that word, each replacing the whole cell with a snippet — stage
//! skeletons for every supported stage, magic snippets, and per-view `%sql`, `%schema`,
//! `%printschema`, `%metadata` and `%printmetadata` snippets once views exist.

use serde_json::{Value, json};

use crate::interp::ViewInfo;

/// One completion item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What the user types to find it (`DelimitedExtract`, `%sql`...).
    pub label: String,
    /// Arc's item type: extract, transform, load, validate, execute, magic, view.
    pub kind: &'static str,
    /// The text that replaces the cell.
    pub snippet: String,
}

const DOCS: &str = "https://arc.tripl.ai";

/// Stage skeletons (`{envs}` is replaced by the completion environments).
const STAGES: &[(&str, &str, &str)] = &[
    (
        "DelimitedExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.csv",
  "outputView": "raw",
  "delimiter": "Comma",
  "quote": "DoubleQuote",
  "header": true"#,
    ),
    (
        "JSONExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.json",
  "outputView": "raw",
  "multiLine": false"#,
    ),
    (
        "ParquetExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.parquet",
  "outputView": "raw""#,
    ),
    (
        "AvroExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.avro",
  "outputView": "raw""#,
    ),
    (
        "ORCExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.orc",
  "outputView": "raw""#,
    ),
    (
        "BytesExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.pdf",
  "outputView": "raw",
  "failMode": "failfast""#,
    ),
    (
        "TextExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/*.txt",
  "outputView": "raw",
  "multiLine": false"#,
    ),
    (
        "HTTPExtract",
        "extract",
        r#""inputURI": "https://api.example.com/v1/items",
  "outputView": "response",
  "method": "GET",
  "headers": {},
  "validStatusCodes": [200, 201, 202]"#,
    ),
    (
        "MetadataExtract",
        "extract",
        r#""inputView": "typed",
  "outputView": "metadata_of_typed""#,
    ),
    (
        "StatisticsExtract",
        "extract",
        r#""inputView": "typed",
  "outputView": "statistics_of_typed",
  "approximate": true,
  "persist": true"#,
    ),
    (
        "DeltaLakeExtract",
        "extract",
        r#""inputURI": "s3a://bucket/path/table/",
  "outputView": "raw",
  "options": {
    "relativeVersion": 0
  }"#,
    ),
    (
        "SQLTransform",
        "transform",
        r#""inputURI": "s3a://bucket/sql/transform.sql",
  "outputView": "transformed",
  "sqlParams": {}"#,
    ),
    (
        "JSONTransform",
        "transform",
        r#""inputView": "typed",
  "outputView": "json""#,
    ),
    (
        "DiffTransform",
        "transform",
        r#""inputLeftView": "before",
  "inputRightView": "after",
  "inputLeftKeys": [],
  "inputRightKeys": [],
  "outputIntersectionView": "unchanged",
  "outputLeftView": "removed",
  "outputRightView": "added""#,
    ),
    (
        "HTTPTransform",
        "transform",
        r#""inputView": "requests",
  "outputView": "responses",
  "uri": "https://service.example.com/score",
  "inputField": "value",
  "batchSize": 1,
  "headers": {},
  "failMode": "failfast""#,
    ),
    (
        "SimilarityJoinTransform",
        "transform",
        r#""leftView": "customers",
  "leftFields": ["name", "address"],
  "rightView": "orders",
  "rightFields": ["customer_name", "delivery_address"],
  "outputView": "matched",
  "shingleLength": 3,
  "threshold": 0.8,
  "caseSensitive": false"#,
    ),
    (
        "TypingTransform",
        "transform",
        r#""schemaURI": "s3a://bucket/meta/schema.json",
  "inputView": "raw",
  "outputView": "typed",
  "failMode": "permissive""#,
    ),
    (
        "MetadataTransform",
        "transform",
        r#""schemaURI": "s3a://bucket/meta/schema.json",
  "inputView": "typed",
  "outputView": "described",
  "failMode": "permissive""#,
    ),
    (
        "MetadataFilterTransform",
        "transform",
        r#""inputView": "typed",
  "outputView": "public",
  "sql": "SELECT name FROM metadata WHERE NOT metadata.private""#,
    ),
    (
        "MetadataValidate",
        "validate",
        r#""inputView": "typed",
  "sql": "SELECT COUNT(*) = 0, 'no unnamed columns' FROM metadata WHERE metadata.description IS NULL""#,
    ),
    (
        "SQLValidate",
        "validate",
        r#""inputURI": "s3a://bucket/sql/validate.sql",
  "sqlParams": {}"#,
    ),
    (
        "EqualityValidate",
        "validate",
        r#""leftView": "expected",
  "rightView": "actual""#,
    ),
    (
        "ControlFlowExecute",
        "execute",
        r#""inputURI": "s3a://bucket/sql/control_flow.sql",
  "key": "controlFlowPluginOutcome",
  "sqlParams": {}"#,
    ),
    (
        "JDBCExtract",
        "extract",
        r#""jdbcURL": "jdbc:postgresql://host:5432/database",
  "tableName": "(SELECT * FROM public.customer) customer",
  "outputView": "customer",
  "fetchsize": 10000,
  "params": {
    "user": "etl",
    "password": "${ETL_CONF_DB_PASSWORD}"
  }"#,
    ),
    (
        "JDBCExecute",
        "execute",
        r#""inputURI": "s3a://bucket/sql/update.sql",
  "jdbcURL": "jdbc:postgresql://host:5432/database",
  "sqlParams": {},
  "params": {
    "user": "etl",
    "password": "${ETL_CONF_DB_PASSWORD}"
  }"#,
    ),
    (
        "ConfigExecute",
        "execute",
        r#""sql": "SELECT TO_JSON(NAMED_STRUCT('ETL_CONF_RUN_DATE', CAST(CURRENT_DATE() AS STRING)))",
  "sqlParams": {}"#,
    ),
    ("PipelineExecute", "execute", r#""uri": "s3a://bucket/jobs/common.json""#),
    (
        "HTTPExecute",
        "execute",
        r#""uri": "https://hooks.example.com/job-finished",
  "headers": {},
  "payloads": {},
  "validStatusCodes": [200, 201, 202]"#,
    ),
    (
        "LogExecute",
        "execute",
        r#""inputURI": "s3a://bucket/sql/log.sql",
  "sqlParams": {}"#,
    ),
    (
        "JDBCExecute",
        "execute",
        r#""inputURI": "s3a://bucket/sql/create_table.sql",
  "jdbcURL": "jdbc:awsathena://AwsRegion=us-east-1;S3OutputLocation=s3://bucket/athena-results/",
  "sqlParams": {}"#,
    ),
    (
        "DelimitedLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/data.csv",
  "saveMode": "Overwrite",
  "header": true"#,
    ),
    (
        "TextLoad",
        "load",
        r#""inputView": "lines",
  "outputURI": "s3a://bucket/out/data.txt",
  "singleFile": true,
  "prefix": "",
  "separator": "\n",
  "suffix": """#,
    ),
    (
        "JSONLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/data.json",
  "saveMode": "Overwrite""#,
    ),
    (
        "ParquetLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/data.parquet",
  "saveMode": "Overwrite""#,
    ),
    (
        "JDBCLoad",
        "load",
        r#""inputView": "typed",
  "jdbcURL": "jdbc:postgresql://host:5432/database",
  "tableName": "public.customer",
  "saveMode": "Overwrite",
  "batchsize": 1000,
  "params": {
    "user": "etl",
    "password": "${ETL_CONF_DB_PASSWORD}"
  }"#,
    ),
    (
        "AvroLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/data.avro",
  "saveMode": "Overwrite""#,
    ),
    (
        "ORCLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/data.orc",
  "saveMode": "Overwrite""#,
    ),
    (
        "ConsoleLoad",
        "load",
        r#""inputView": "typed",
  "outputMode": "Append""#,
    ),
    (
        "HTTPLoad",
        "load",
        r#""inputView": "json",
  "outputURI": "https://api.example.com/v1/items",
  "headers": {},
  "validStatusCodes": [200, 201, 202]"#,
    ),
    (
        "DeltaLakeLoad",
        "load",
        r#""inputView": "typed",
  "outputURI": "s3a://bucket/out/table/",
  "saveMode": "Overwrite""#,
    ),
    (
        "DeltaLakeMergeLoad",
        "load",
        r#""inputView": "updates",
  "outputURI": "s3a://bucket/out/table/",
  "condition": "source.id = target.id",
  "whenMatchedUpdate": {},
  "whenNotMatchedByTargetInsert": {},
  "createTableIfNotExists": true"#,
    ),
];

fn magics() -> Vec<(&'static str, &'static str)> {
    vec![
        ("%sql", "%sql outputView=\"view\" name=\"transform\" environments=production,test\nSELECT *\nFROM input"),
        (
            "%sqlvalidate",
            "%sqlvalidate name=\"validate\" environments=production,test\nSELECT\n  COUNT(*) > 0 AS valid\n  ,TO_JSON(NAMED_STRUCT('count', COUNT(*))) AS message\nFROM input",
        ),
        (
            "%log",
            "%log name=\"log\" environments=production,test\nSELECT\n  TO_JSON(NAMED_STRUCT('count', COUNT(*))) AS message\nFROM input",
        ),
        ("%printschema", "%printschema\nview"),
        ("%schema", "%schema\nview"),
        ("%metadata", "%metadata\nview"),
        ("%printmetadata", "%printmetadata\nview"),
        ("%summary", "%summary\nview"),
        ("%list", "%list\ns3a://bucket/path/"),
        ("%conf", "%conf\nnumRows=20\ntruncate=50"),
        ("%env", "%env\nKEY=VALUE"),
        ("%secret", "%secret\nPASSWORD"),
        ("%version", "%version"),
        ("%help", "%help"),
    ]
}

/// Every item for the current state.
pub fn items(environments: &[String], views: &[ViewInfo]) -> Vec<Item> {
    let envs = environments.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ");
    let env_arg = environments.join(",");
    let mut out = Vec::new();
    for (name, kind, body) in STAGES {
        out.push(Item {
            label: name.to_string(),
            kind,
            snippet: format!(
                "{{\n  \"type\": \"{name}\",\n  \"name\": \"{}\",\n  \"environments\": [{envs}],\n  {body}\n}}",
                name.to_lowercase()
            ),
        });
    }
    for (label, snippet) in magics() {
        out.push(Item {
            label: label.to_string(),
            kind: "magic",
            snippet: snippet.replace("production,test", &env_arg),
        });
    }
    for v in views {
        let columns = if v.columns.is_empty() { "*".to_string() } else { v.columns.join("\n  ,") };
        out.push(Item {
            label: format!("%sql {}", v.name),
            kind: "view",
            snippet: format!(
                "%sql outputView=\"{0}_out\" name=\"{0}\" environments={env_arg}\nSELECT\n  {columns}\nFROM {0}",
                v.name
            ),
        });
        for magic in ["%schema", "%printschema", "%metadata", "%printmetadata"] {
            out.push(Item {
                label: format!("{magic} {}", v.name),
                kind: "view",
                snippet: format!("{magic}\n{}", v.name),
            });
        }
    }
    out
}

/// The reply to a completion request: (matches, cursor_start, cursor_end, metadata).
pub fn complete(code: &str, cursor: usize, all: &[Item]) -> (Vec<String>, usize, usize, Value) {
    // Jupyter counts the cursor in Unicode code points.
    let chars: Vec<char> = code.chars().collect();
    let cursor = cursor.min(chars.len());
    let before: String = chars[..cursor].iter().collect();
    let typed = before.trim_start();
    // The first word of a cell, or the start of a magic line (`%sql con` finds view items).
    let completing =
        if typed.starts_with('%') { !typed.contains('\n') } else { !typed.chars().any(char::is_whitespace) };
    if !completing {
        return (Vec::new(), cursor, cursor, json!({}));
    }
    let typed = typed.trim_start_matches('{').trim().to_lowercase();
    let end = chars.len();
    let mut matches = Vec::new();
    let mut typed_items = Vec::new();
    for item in all {
        let label = item.label.to_lowercase();
        if label.starts_with(&typed) || label.trim_start_matches('%').starts_with(&typed) {
            matches.push(item.snippet.clone());
            typed_items.push(json!({
                "start": 0,
                "end": end,
                "text": item.snippet,
                "type": item.kind,
                "signature": item.label,
                "documentation": DOCS,
            }));
        }
    }
    (matches, 0, end, json!({"_jupyter_types_experimental": typed_items}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_word_completes_to_whole_cell_snippets() {
        let envs = vec!["dev".to_string(), "test".to_string()];
        let views = vec![ViewInfo { name: "contacts".into(), columns: vec!["id".into(), "`first name`".into()] }];
        let all = items(&envs, &views);
        let (matches, start, end, meta) = complete("Delimited", 9, &all);
        assert_eq!((start, end), (0, 9));
        assert!(
            matches.iter().any(|m| m.contains("\"type\": \"DelimitedExtract\"") && m.contains("[\"dev\", \"test\"]"))
        );
        assert!(matches.iter().any(|m| m.contains("DelimitedLoad")));
        assert_eq!(meta["_jupyter_types_experimental"][0]["type"], "extract");
        let (matches, _, _, _) = complete("%sql c", 4, &all);
        assert!(matches.iter().any(|m| m.starts_with("%sql outputView=") && m.contains("environments=dev,test")));
        assert!(matches.iter().any(|m| m.contains("SELECT\n  id\n  ,`first name`\nFROM contacts")), "{matches:?}");
        let (matches, _, _, _) = complete("%sql x\nSELECT", 12, &all);
        assert!(matches.is_empty(), "only the first word completes");
        let (matches, _, _, _) = complete("JDBC", 4, &all);
        assert!(matches.iter().any(|m| m.contains("\"type\": \"JDBCExecute\"") && m.contains("jdbc:awsathena://")));
        let (matches, _, _, _) = complete("%printsch", 9, &all);
        assert_eq!(matches, ["%printschema\nview", "%printschema\ncontacts"]);
    }

    #[test]
    fn jdbc_skeletons() {
        let all = items(&["test".to_string()], &[]);
        let (matches, _, _, _) = complete("JDBC", 4, &all);
        for name in ["JDBCExtract", "JDBCExecute", "JDBCLoad"] {
            let m = matches.iter().find(|m| m.contains(&format!("\"type\": \"{name}\""))).expect(name);
            assert!(m.contains("\"jdbcURL\": \"jdbc:postgresql://"), "{m}");
            assert!(m.contains("${ETL_CONF_DB_PASSWORD}"), "no literal password in a skeleton: {m}");
        }
    }
}
