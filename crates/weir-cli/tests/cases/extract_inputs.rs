//! Extract options Arc has beyond reading files: text held in a view (`inputView` +
//! `inputField`) for DelimitedExtract and JSONExtract, JSONExtract's read schema and its
//! one-line arrays, ParquetExtract's internal columns.

use super::Scratch;

/// A job of `stages` (JSON objects), each run in the `test` environment.
fn job(stages: &[&str]) -> String {
    let all: Vec<String> = stages.iter().map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

/// The JSON message a LogExecute stage named `name` logged.
fn logged(run: &super::Run, name: &str) -> serde_json::Value {
    run.exit_stage(name)["message"].clone()
}

/// A TextExtract stage reading `content` into view `text` (`value`, `_filename`, `_index`).
fn text_view(s: &Scratch, content: &str) -> String {
    let path = s.file("lines.txt", content);
    format!(r#"{{"type": "TextExtract", "name": "text", "inputURI": "{}", "outputView": "text"}}"#, path.display())
}

#[test]
fn delimited_extract_parses_csv_text_held_in_a_view() {
    let s = Scratch::new();
    let text = text_view(&s, "id,name\n1,\"a, b\"\n  \nid,name\n2,c\n");
    let dir = s.path().display().to_string();
    let run = s.run_job(
        "job.json",
        &job(&[
            &text,
            // `value` of a view with more columns; the header names the columns and every
            // line equal to it is dropped, as is the blank one.
            r#"{"type": "DelimitedExtract", "name": "csv", "inputView": "text", "outputView": "csv", "header": true, "persist": true}"#,
            r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', ARRAY_SORT(COLLECT_LIST(CONCAT(CAST(_index AS STRING), '|', id, '|', name, '|', _filename))))) FROM csv"}"#,
            // A named field of a view of two columns, no header, Pipe, the monotonic id.
            r#"{"type": "SQLTransform", "name": "bodies", "sql": "SELECT * FROM VALUES (1, 'a|b'), (2, NULL), (3, 'c|d|e'), (4, 'f') AS t(n, body)", "outputView": "bodies"}"#,
            r#"{"type": "DelimitedExtract", "name": "piped", "inputView": "bodies", "inputField": "body", "outputView": "piped", "delimiter": "Pipe", "contiguousIndex": false}"#,
            r#"{"type": "LogExecute", "name": "piped rows", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', ARRAY_SORT(COLLECT_LIST(CONCAT(CAST(_monotonically_increasing_id AS STRING), '|', _c0, '|', COALESCE(_c1, 'NULL')))))) FROM piped"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let csv = run.exit_stage("csv");
    assert_eq!(csv["records"], 2, "{csv}");
    assert_eq!(csv["outputColumns"], 4, "id, name, _filename, _index: {csv}");
    assert_eq!(csv["inputView"], "text", "{csv}");
    assert_eq!(logged(&run, "rows"), serde_json::json!({"rows": ["1|1|a, b|", "2|2|c|"]}));
    assert_eq!(
        logged(&run, "piped rows"),
        serde_json::json!({"rows": ["0|a|b", "1|c|d", "2|f|NULL"]}),
        "the first record's width; wider records trimmed, narrower padded"
    );
    assert_eq!(run.exit_stage("piped")["outputColumns"], 4, "_c0, _c1, _monotonically_increasing_id, _filename");

    // The column must exist, be named when the view has several and no `value`, and be text.
    for (stage, expected) in [
        (
            r#"{"type": "DelimitedExtract", "name": "bad", "inputView": "bodies", "inputField": "text", "outputView": "x"}"#,
            "DelimitedExtract 'inputField' names column 'text' but inputView 'bodies' has: [n, body].",
        ),
        (
            r#"{"type": "DelimitedExtract", "name": "bad", "inputView": "bodies", "outputView": "x"}"#,
            "DelimitedExtract needs 'inputField' to know which column of inputView 'bodies' holds the text: it has [n, body].",
        ),
        (
            r#"{"type": "DelimitedExtract", "name": "bad", "inputView": "bodies", "inputField": "n", "outputView": "x"}"#,
            "DelimitedExtract requires 'n' of inputView 'bodies' to be of type 'string' but it is 'int'.",
        ),
    ] {
        let bodies = r#"{"type": "SQLTransform", "name": "bodies", "sql": "SELECT * FROM VALUES (1, 'a|b') AS t(n, body)", "outputView": "bodies"}"#;
        let run = s.run_job("bad.json", &job(&[bodies, stage]));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }

    // An empty view: Arc's error, or the schemaURI's columns.
    s.file("schema.json", r#"[{"name": "a", "type": "string", "nullable": true}]"#);
    let empty =
        r#"{"type": "SQLTransform", "name": "none", "sql": "SELECT 'x' AS value WHERE 1 = 0", "outputView": "none"}"#;
    let run = s.run_job(
        "empty.json",
        &job(&[empty, r#"{"type": "DelimitedExtract", "name": "bad", "inputView": "none", "outputView": "x"}"#]),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "DelimitedExtract has produced 0 columns and no schema has been provided to create an empty dataframe."
        ),
        "{}",
        run.stderr
    );
    let with_schema = format!(
        r#"{{"type": "DelimitedExtract", "name": "empty", "inputView": "none", "outputView": "x", "schemaURI": "{dir}/schema.json", "persist": true}}"#
    );
    let run = s.run_job("empty.json", &job(&[empty, &with_schema]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("empty")["records"], 0);
    assert_eq!(run.exit_stage("empty")["outputColumns"], 3);
}

#[test]
fn json_extract_parses_json_text_held_in_a_view() {
    let s = Scratch::new();
    let text = text_view(&s, "{\"a\": 1, \"b\": \"x\"}\n\n[{\"a\": 2}, {\"a\": 3, \"c\": true}]\n");
    let rows = |view: &str| {
        format!(
            r#"{{"type": "LogExecute", "name": "{view} rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CONCAT_WS('|', CAST(_index AS STRING), CAST(a AS STRING), COALESCE(b, 'NULL'), COALESCE(CAST(c AS STRING), 'NULL'), _filename)))) FROM {view}"}}"#
        )
    };
    let run = s.run_job(
        "job.json",
        &job(&[
            &text,
            // The `value` of a view with more columns; a row holding an array gives its elements.
            r#"{"type": "JSONExtract", "name": "from text", "inputView": "text", "outputView": "j", "persist": true}"#,
            &rows("j"),
            // A named field; a document over several lines is one document.
            r#"{"type": "SQLTransform", "name": "docs", "sql": "SELECT * FROM VALUES (1, '{\"a\": 1,\n \"b\": \"x\"}'), (2, NULL), (3, '[{\"a\": 2}, {\"a\": 3, \"c\": true}]') AS t(n, doc)", "outputView": "docs"}"#,
            r#"{"type": "JSONExtract", "name": "from docs", "inputView": "docs", "inputField": "doc", "outputView": "d"}"#,
            &rows("d"),
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let expected = serde_json::json!(["1|1|x|NULL|", "2|2|NULL|NULL|", "3|3|NULL|true|"]);
    assert_eq!(logged(&run, "j rows"), expected);
    assert_eq!(logged(&run, "d rows"), expected);
    let from_text = run.exit_stage("from text");
    assert_eq!(from_text["records"], 3, "{from_text}");
    assert_eq!(from_text["outputColumns"], 5, "a, b, c, _filename, _index: {from_text}");

    // A row that is not JSON names the row and the view.
    let bad = r#"{"type": "SQLTransform", "name": "docs", "sql": "SELECT '{\"a\": 1}' AS value UNION ALL SELECT 'nope'", "outputView": "docs"}"#;
    let run = s.run_job(
        "bad.json",
        &job(&[bad, r#"{"type": "JSONExtract", "name": "bad", "inputView": "docs", "outputView": "x"}"#]),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("JSONExtract row 2 of inputView 'docs'"), "{}", run.stderr);
}

#[test]
fn json_lines_holding_an_array_give_a_row_per_element() {
    let s = Scratch::new();
    // The array's `b` is past the first line: the schema is inferred over the elements.
    s.file("lines.json", "{\"a\": 1}\n[{\"a\": 2}, {\"a\": 3, \"b\": \"[y]\"}]\n{\"a\": 4, \"n\": {\"k\": [1]}}\n");
    let dir = s.path().display().to_string();
    let extract = format!(
        r#"{{"type": "JSONExtract", "name": "lines", "inputURI": "{dir}/lines.json", "outputView": "l", "multiLine": false, "persist": true}}"#
    );
    let run = s.run_job(
        "job.json",
        &job(&[
            &extract,
            r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CONCAT_WS('|', CAST(_index AS STRING), CAST(a AS STRING), COALESCE(b, 'NULL'))))) FROM l"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("lines")["records"], 4);
    assert_eq!(logged(&run, "rows"), serde_json::json!(["1|1|NULL", "2|2|NULL", "3|3|[y]", "4|4|NULL"]));

    // An array never closed fails naming the file.
    s.file("lines.json", "{\"a\": 1}\n[{\"a\": 2}, {\"a\": 3}\n");
    let run = s.run_job("job.json", &job(&[&extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("lines.json") && run.stderr.contains("never closed"), "{}", run.stderr);
}

#[test]
fn json_extract_reads_with_the_schema_it_is_given() {
    let s = Scratch::new();
    s.file(
        "schema.json",
        r#"[
          {"name": "a", "type": "integer", "nullable": false, "description": "the a"},
          {"name": "d", "type": "date", "nullable": true, "formatters": ["yyyy-MM-dd"]},
          {"name": "n", "type": "string", "nullable": true, "metadata": {"private": true}},
          {"name": "missing", "type": "decimal", "precision": 10, "scale": 2, "nullable": true}
        ]"#,
    );
    s.file("doc.json", r#"[{"a": 1, "d": "2020-01-02", "extra": "ignored", "n": 5}, {"a": 2, "n": "six"}]"#);
    s.file("lines.json", "{\"a\": 3, \"d\": \"2021-03-04\", \"extra\": [1]}\n[{\"a\": 4, \"n\": true}]\n");
    let dir = s.path().display().to_string();
    let doc = format!(
        r#"{{"type": "JSONExtract", "name": "doc", "inputURI": "{dir}/doc.json", "outputView": "doc", "schemaURI": "{dir}/schema.json"}}"#
    );
    let schema_view = r#"{"type": "SQLTransform", "name": "schema", "sql": "SELECT * FROM VALUES ('a', 'long', true), ('n', 'string', true) AS t(name, type, nullable)", "outputView": "schema"}"#;
    let lines = format!(
        r#"{{"type": "JSONExtract", "name": "lines", "inputURI": "{dir}/lines.json", "outputView": "lines", "multiLine": false, "schemaView": "schema"}}"#
    );
    let none = format!(
        r#"{{"type": "JSONExtract", "name": "none", "inputURI": "{dir}/nothing/*.json", "outputView": "none", "schemaURI": "{dir}/schema.json", "persist": true}}"#
    );
    let run = s.run_job(
        "job.json",
        &job(&[
            &doc,
            r#"{"type": "LogExecute", "name": "doc rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CONCAT_WS('|', CAST(a AS STRING), COALESCE(CAST(d AS STRING), 'NULL'), n, COALESCE(CAST(missing AS STRING), 'NULL'))))) FROM doc"}"#,
            r#"{"type": "MetadataExtract", "name": "meta", "inputView": "doc", "outputView": "meta"}"#,
            r#"{"type": "LogExecute", "name": "types", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type, ':', COALESCE(metadata.description, ''), ':', COALESCE(CAST(metadata.private AS STRING), '')))) FROM meta"}"#,
            schema_view,
            &lines,
            r#"{"type": "LogExecute", "name": "lines rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CONCAT_WS('|', CAST(a AS STRING), COALESCE(n, 'NULL'), CAST(_index AS STRING))))) FROM lines"}"#,
            &none,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "doc rows"), serde_json::json!(["1|2020-01-02|5|NULL", "2|NULL|six|NULL"]));
    assert_eq!(
        logged(&run, "types"),
        serde_json::json!([
            "a:integer:the a:",
            "d:date::",
            "n:string::true",
            "missing:decimal(10,2)::",
            "_filename:string::",
            "_index:long::"
        ])
    );
    assert_eq!(run.exit_stage("lines")["outputColumns"], 4, "a, n, _filename, _index");
    assert_eq!(logged(&run, "lines rows"), serde_json::json!(["3|NULL|1", "4|true|2"]));
    let none = run.exit_stage("none");
    assert_eq!((none["records"].clone(), none["outputColumns"].clone()), (0.into(), 6.into()), "{none}");

    // A value that does not fit its column fails the stage, naming the file.
    s.file("doc.json", r#"[{"a": "one"}]"#);
    let run = s.run_job("job.json", &job(&[&doc]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("doc.json"), "{}", run.stderr);
}

#[test]
fn parquet_extract_adds_the_internal_columns_and_keeps_field_metadata() {
    let s = Scratch::new();
    let dir = s.path().display().to_string();
    let raw = r#"{"type": "SQLTransform", "name": "raw", "sql": "SELECT * FROM VALUES ('1', 'a'), ('2', 'b'), ('3', 'c') AS t(id, name)", "outputView": "raw"}"#;
    let typed = r#"{"type": "TypingTransform", "name": "typed", "inputView": "raw", "outputView": "typed", "schema": [
      {"name": "id", "type": "integer", "nullable": false, "description": "the id"},
      {"name": "name", "type": "string", "nullable": true, "metadata": {"private": true}}
    ]}"#;
    // Two writes to one directory: two files.
    let part = |n: usize, filter: &str| {
        format!(
            r#"{{"type": "SQLTransform", "name": "part{n}", "sql": "SELECT id, name FROM typed WHERE {filter}", "outputView": "part{n}"}}"#
        )
    };
    let load = |n: usize, mode: &str| {
        format!(
            r#"{{"type": "ParquetLoad", "name": "load{n}", "inputView": "part{n}", "outputURI": "{dir}/data", "saveMode": "{mode}"}}"#
        )
    };
    let (one, two) = (part(1, "id < 3"), part(2, "id = 3"));
    let (load_one, load_two) = (load(1, "Overwrite"), load(2, "Append"));
    let read = format!(
        r#"{{"type": "ParquetExtract", "name": "read", "inputURI": "{dir}/data", "outputView": "back", "persist": true}}"#
    );
    let run = s.run_job(
        "job.json",
        &job(&[
            raw,
            typed,
            &one,
            &load_one,
            &two,
            &load_two,
            &read,
            r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CONCAT_WS('|', CAST(id AS STRING), name, SUBSTRING_INDEX(_filename, '/', -1), CAST(_index AS STRING))))) FROM back"}"#,
            r#"{"type": "MetadataExtract", "name": "meta", "inputView": "back", "outputView": "meta"}"#,
            r#"{"type": "LogExecute", "name": "types", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type, ':', COALESCE(metadata.description, ''), ':', COALESCE(CAST(metadata.private AS STRING), '')))) FROM meta"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("read")["records"], 3);
    let rows = logged(&run, "rows");
    let rows: Vec<String> =
        rows.as_array().into_iter().flatten().filter_map(|r| r.as_str().map(String::from)).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Each file's rows are numbered from 1.
    assert!(rows[0].starts_with("1|a|") && rows[0].ends_with("|1"), "{rows:?}");
    assert!(rows[1].starts_with("2|b|") && rows[1].ends_with("|2"), "{rows:?}");
    assert!(rows[2].starts_with("3|c|") && rows[2].ends_with("|1"), "{rows:?}");
    assert_eq!(
        logged(&run, "types"),
        serde_json::json!(["id:integer:the id:", "name:string::true", "_filename:string::", "_index:long::"])
    );

    // `contiguousIndex: false` (the files written above); data that has an internal column gets
    // none added.
    let own = r#"{"type": "SQLTransform", "name": "own", "sql": "SELECT 7 AS id, 42 AS _index", "outputView": "own"}"#;
    let load_own = format!(
        r#"{{"type": "ParquetLoad", "name": "load own", "inputView": "own", "outputURI": "{dir}/own.parquet", "saveMode": "Overwrite"}}"#
    );
    let read_own = format!(
        r#"{{"type": "ParquetExtract", "name": "read own", "inputURI": "{dir}/own.parquet", "outputView": "own_back"}}"#
    );
    let read_mono = format!(
        r#"{{"type": "ParquetExtract", "name": "read mono", "inputURI": "{dir}/data", "outputView": "mono", "contiguousIndex": false}}"#
    );
    let run = s.run_job(
        "own.json",
        &job(&[
            own,
            &load_own,
            &read_own,
            &read_mono,
            r#"{"type": "LogExecute", "name": "own rows", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(id, ':', _index))) FROM own_back"}"#,
            r#"{"type": "LogExecute", "name": "mono rows", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(CAST(_monotonically_increasing_id AS STRING)))) FROM mono"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("read own")["outputColumns"], 2);
    assert_eq!(logged(&run, "own rows"), serde_json::json!(["7:42"]));
    assert_eq!(run.exit_stage("read mono")["outputColumns"], 4);
    let mono = logged(&run, "mono rows");
    assert_eq!(mono.as_array().map(Vec::len), Some(3), "{mono}");
}

/// Arc's empty-input fallback: an extract whose location matches no file gives an empty view
/// of its `schemaURI`/`schemaView` columns (typed for the binary formats, strings for CSV),
/// with the internal columns; without a schema, Arc's error.
#[test]
fn file_extracts_without_files_give_the_schemas_empty_view() {
    let s = Scratch::new();
    s.file(
        "schema.json",
        r#"[
          {"name": "id", "type": "integer", "nullable": false, "description": "the id"},
          {"name": "amount", "type": "decimal", "precision": 10, "scale": 2, "nullable": true},
          {"name": "at", "type": "date", "nullable": true, "formatters": ["yyyy-MM-dd"]}
        ]"#,
    );
    let dir = s.path().display().to_string();
    let schema_view = r#"{"type": "SQLTransform", "name": "schema", "sql": "SELECT * FROM VALUES ('id', 'long', true), ('name', 'string', true) AS t(name, type, nullable)", "outputView": "schema"}"#;
    let mut stages = vec![schema_view.to_string()];
    for (stage, ext) in
        [("ParquetExtract", "parquet"), ("AvroExtract", "avro"), ("ORCExtract", "orc"), ("DelimitedExtract", "csv")]
    {
        stages.push(format!(
            r#"{{"type": "{stage}", "name": "{ext} uri", "inputURI": "{dir}/nothing/*.{ext}", "outputView": "{ext}_uri", "schemaURI": "{dir}/schema.json", "persist": true}}"#
        ));
        stages.push(format!(
            r#"{{"type": "{stage}", "name": "{ext} view", "inputURI": "{dir}/missing.{ext}", "outputView": "{ext}_view", "schemaView": "schema", "persist": true}}"#
        ));
        stages.push(format!(
            r#"{{"type": "MetadataExtract", "name": "{ext} meta", "inputView": "{ext}_uri", "outputView": "{ext}_meta"}}"#
        ));
        stages.push(format!(
            r#"{{"type": "LogExecute", "name": "{ext} types", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type, ':', COALESCE(metadata.description, '')))) FROM {ext}_meta"}}"#
        ));
    }
    let refs: Vec<&str> = stages.iter().map(String::as_str).collect();
    let run = s.run_job("job.json", &job(&refs));
    assert_eq!(run.code, 0, "{}", run.all());
    let typed = serde_json::json!([
        "id:integer:the id",
        "amount:decimal(10,2):",
        "at:date:",
        "_filename:string:",
        "_index:long:"
    ]);
    for ext in ["parquet", "avro", "orc"] {
        assert_eq!(logged(&run, &format!("{ext} types")), typed, "{ext}");
    }
    assert_eq!(
        logged(&run, "csv types"),
        serde_json::json!(["id:string:", "amount:string:", "at:string:", "_filename:string:", "_index:long:"]),
        "CSV columns are strings"
    );
    for ext in ["parquet", "avro", "orc", "csv"] {
        for (name, columns) in [(format!("{ext} uri"), 5), (format!("{ext} view"), 4)] {
            let exit = run.exit_stage(&name);
            assert_eq!((exit["records"].clone(), exit["outputColumns"].clone()), (0.into(), columns.into()), "{name}");
        }
    }
    assert_eq!(run.exit_stage("parquet uri")["schemaURI"], format!("{dir}/schema.json"));

    // No schema: Arc's error names the location.
    let bare = format!(
        r#"{{"type": "ParquetExtract", "name": "bare", "inputURI": "{dir}/nothing/*.parquet", "outputView": "x"}}"#
    );
    let run = s.run_job("bare.json", &job(&[&bare]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("no schema has been provided to create an empty dataframe"), "{}", run.stderr);
}
