use super::*;

fn vars(env: &[(&str, &str)]) -> Vars {
    Vars {
        dynamic: None,
        overrides: HashMap::new(),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
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

#[test]
fn nesting_is_bounded_with_a_location() {
    let ok = format!("a = {}1{}", "[".repeat(parser::MAX_DEPTH), "]".repeat(parser::MAX_DEPTH));
    // The deepest document accepted parses, resolves and converts on a test thread's stack.
    let doc = parse(&ok).unwrap();
    assert!(doc.resolve_all(&Vars::default()).unwrap().to_json().is_object());
    let ok = format!("{}1{}", "{\"a\":".repeat(parser::MAX_DEPTH), "}".repeat(parser::MAX_DEPTH));
    assert!(parse(&ok).unwrap().resolve_all(&Vars::default()).is_ok());
    for text in [
        format!("a = {}", "[".repeat(100_000)),
        format!("{}1", "{\"a\":".repeat(100_000)),
        format!("{}b = 1", "a.".repeat(100_000)),
        format!("x {{ {} }}", "a.".repeat(parser::MAX_DEPTH) + "b = 1"),
    ] {
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("nested more than 128 levels"), "{e}");
        assert_eq!(e.line, 1, "{e}");
    }
}

#[test]
fn keys_are_bounded() {
    assert!(parse(&format!("{} = 1", "k".repeat(parser::MAX_KEY_CHARS))).is_ok());
    for text in [format!("{} = 1", "k".repeat(1 << 20)), format!("\"{}\" = 1", "k".repeat(parser::MAX_KEY_CHARS + 1))] {
        let e = parse(&text).unwrap_err();
        assert_eq!((e.line, e.col, e.message.as_str()), (1, 1, "key longer than 1024 characters"));
    }
}

#[test]
fn exponential_substitution_is_refused() {
    let mut text = String::from("v0 = x\n");
    for i in 1..=40 {
        text.push_str(&format!("v{i} = ${{v{}}}${{v{}}}\n", i - 1, i - 1));
    }
    text.push_str("out = ${v40}\n");
    let doc = parse(&text).unwrap();
    let e = doc.resolve(doc.root().get("out").unwrap(), &Vars::default()).unwrap_err();
    assert!(e.message.contains("substitutions"), "{e}");
    assert!(e.line > 1, "{e}");
    // A long but linear chain is fine, and so is a big value used a few times.
    let big = "y".repeat(1 << 20);
    let doc = parse(&format!("a = \"{big}\"\nb = ${{a}}${{a}}${{a}}\n")).unwrap();
    let b = doc.resolve(doc.root().get("b").unwrap(), &Vars::default()).unwrap();
    assert_eq!(b.to_json().as_str().map(str::len), Some(3 << 20));
}

#[test]
fn expansion_size_is_bounded() {
    // 1 MiB used 2^7 = 128 times: within the substitution count, over the text bound.
    let mut text = format!("v0 = \"{}\"\n", "y".repeat(1 << 20));
    for i in 1..=7 {
        text.push_str(&format!("v{i} = ${{v{}}}${{v{}}}\n", i - 1, i - 1));
    }
    let doc = parse(&text).unwrap();
    let e = doc.resolve(doc.root().get("v7").unwrap(), &Vars::default()).unwrap_err();
    assert!(e.message.contains("more than 64 MiB"), "{e}");
}

#[test]
fn dynamic_values_come_first_and_keep_their_types() {
    let doc = parse("a = doc\nx = ${a}\nl = ${list}\nn = ${nested.k}\ns = \"p-\"${nested.k}").unwrap();
    let mut v = vars(&[("a", "env")]);
    v.overrides.insert("a".into(), "arg".into());
    v.dynamic = Some(Node::from_json(&serde_json::json!({"a": 7, "list": ["p", "q"], "nested": {"k": true}}), 0));
    let out = doc.resolve_all(&v).unwrap().to_json();
    assert_eq!(out["x"], serde_json::json!(7));
    assert_eq!(out["l"], serde_json::json!(["p", "q"]));
    assert_eq!(out["n"], serde_json::json!(true));
    assert_eq!(out["s"], serde_json::json!("p-true"));
    v.dynamic = None;
    let doc = parse("a = doc\nx = ${a}").unwrap();
    assert_eq!(doc.resolve_all(&v).unwrap().to_json()["x"], serde_json::json!("arg"));
}

#[test]
fn leaf_paths_are_typesafes_entry_keys() {
    let doc = parse("a { stages = [1], b { c = 1 } }\nz = x\nempty {}\na.d = 2").unwrap();
    assert_eq!(doc.root().leaf_paths(), ["a.b.c", "a.d", "a.stages", "z"]);
}
