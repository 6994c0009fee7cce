use super::*;

fn vars(env: &[(&str, &str)]) -> Vars {
    Vars { overrides: HashMap::new(), env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn json(text: &str, env: &[(&str, &str)]) -> serde_json::Value {
    parse(text).unwrap().resolve_all(&vars(env)).unwrap().to_json()
}

#[test]
fn plain_json() {
    let v = json(r#"{"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}"#, &[]);
    assert_eq!(v, serde_json::json!({"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}));
}

#[test]
fn comments_newlines_trailing_commas_unquoted() {
    let text = "// header\n# another\nstages = [\n  { type = SQLTransform # trailing comment\n    name: \"x\"\n    n = 10,\n  },\n]\n";
    let v = json(text, &[]);
    assert_eq!(v, serde_json::json!({"stages": [{"type": "SQLTransform", "name": "x", "n": 10}]}));
}

#[test]
fn missing_comma_between_fields_on_separate_lines() {
    let v = json("{\n \"numPartitions\": 2\n \"saveMode\": \"Overwrite\"\n}", &[]);
    assert_eq!(v, serde_json::json!({"numPartitions": 2, "saveMode": "Overwrite"}));
}

#[test]
fn substitution_and_concatenation() {
    let text = r#"{ "uri": "s3a://"${LOC}"/data.csv", "whole": ${LOC}, "sql": "SELECT ${x}", "opt": ${?NOPE}, "spaced": a ${LOC} b }"#;
    let v = json(text, &[("LOC", "bucket")]);
    assert_eq!(
        v,
        serde_json::json!({"uri": "s3a://bucket/data.csv", "whole": "bucket", "sql": "SELECT ${x}", "spaced": "a bucket b"})
    );
}

#[test]
fn substitution_keeps_type_and_reads_the_document_first() {
    let text = "common { environments = [dev, test] }\nLOC = fromdoc\nstages = [{ environments = ${common.environments}, loc = ${LOC} }]";
    let v = json(text, &[("LOC", "fromenv")]);
    assert_eq!(v["stages"][0]["environments"], serde_json::json!(["dev", "test"]));
    assert_eq!(v["stages"][0]["loc"], "fromdoc");
    let mut with_override = vars(&[]);
    with_override.overrides.insert("LOC".into(), "fromargs".into());
    let v = parse(text).unwrap().resolve_all(&with_override).unwrap().to_json();
    assert_eq!(v["stages"][0]["loc"], "fromargs");
}

#[test]
fn quoted_env_value_survives() {
    let v = json(r#"{"ts": ${T}}"#, &[("T", "\"2026-11-23 10:00:00.000\"")]);
    assert_eq!(v["ts"], "\"2026-11-23 10:00:00.000\"");
}

#[test]
fn triple_quoted_strings() {
    let v = json("{ sql = \"\"\"SELECT \"a\"\n  FROM t\"\"\"\" }", &[]);
    assert_eq!(v["sql"], "SELECT \"a\"\n  FROM t\"");
}

#[test]
fn dotted_keys_and_merging() {
    let v = json("a.b = 1\na { c = 2 }\nx = 1\nx = 2", &[]);
    assert_eq!(v, serde_json::json!({"a": {"b": 1, "c": 2}, "x": 2}));
}

#[test]
fn lines_are_kept() {
    let doc = parse("{\n  \"stages\": [\n    {\n      \"type\": \"X\"\n    }\n  ]\n}").unwrap();
    let stage = &doc.root().get("stages").unwrap().as_array().unwrap()[0];
    assert_eq!(stage.line(), 3);
    let resolved = doc.resolve(stage, &Vars::default()).unwrap();
    assert_eq!(resolved.get("type").unwrap().line, 4);
}

#[test]
fn unresolved_substitution_is_named() {
    let doc = parse("{\n a = \"x\"${MISSING}\n}").unwrap();
    let err = doc.resolve_all(&Vars::default()).unwrap_err();
    assert_eq!(err.name, "${MISSING}");
    assert_eq!(err.line, 2);
    assert!(err.message.contains("Could not resolve substitution to a value: ${MISSING}"));
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse("{\n  stages = [\n    { type = X, name = \"x\" \n  ]\n}").unwrap_err();
    assert_eq!((err.line, err.col), (4, 3), "{err}");
    let err = parse("{ a = \"unterminated }").unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("unterminated string"));
    let err = parse("{ a = 1 ").unwrap_err();
    assert!(err.message.contains("end of input"), "{err}");
}

#[test]
fn cycles_are_errors() {
    let err = parse("a = ${b}\nb = ${a}").unwrap().resolve_all(&Vars::default()).unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
}

#[test]
fn root_arrays() {
    let v = json("[ {name = id, type = integer} ]", &[]);
    assert_eq!(v, serde_json::json!([{"name": "id", "type": "integer"}]));
}
