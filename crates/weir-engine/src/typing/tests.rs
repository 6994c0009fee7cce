use super::*;
use datafusion::arrow::array::{Int64Array, StringArray};
use serde_json::json;

fn field(v: serde_json::Value) -> FieldSpec {
    parse_schema(&json!([v])).unwrap_or_else(|e| panic!("{e:?}")).remove(0)
}

fn one(spec: &FieldSpec, value: &str) -> Result<String, String> {
    let schema = Arc::new(Schema::new(vec![Field::new("c", DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec![Some(value)]))]).unwrap();
    let out_schema = output_schema(&schema, std::slice::from_ref(spec)).unwrap();
    let typed =
        type_batch(&batch, std::slice::from_ref(spec), &out_schema, FailMode::Permissive).map_err(|e| e.to_string())?;
    let errors = typed.column(1).as_list::<i32>().value(0);
    if !errors.is_empty() {
        let messages = errors.as_struct().column(1).as_string::<i32>().value(0).to_string();
        return Err(messages);
    }
    Ok(datafusion::arrow::util::display::array_value_to_string(typed.column(0), 0).unwrap())
}

#[test]
fn integers_follow_java_rules() {
    let f = field(json!({"name": "c", "type": "integer", "nullable": true}));
    assert_eq!(one(&f, "42").unwrap(), "42");
    assert_eq!(one(&f, "-7").unwrap(), "-7");
    assert_eq!(one(&f, "7.000000000000000E+02").unwrap(), "700");
    assert_eq!(one(&f, "1,000").unwrap_err(), "Unable to convert '1,000' to integer using formatters ['#,##0;-#,##0']");
    assert!(one(&f, "3000000000").is_err(), "out of int range");
    let f = field(json!({"name": "c", "type": "long", "nullable": true, "formatters": ["#,##0;(#,##0)"]}));
    assert_eq!(one(&f, "1,234,567").unwrap(), "1234567");
    assert_eq!(one(&f, "(12)").unwrap(), "-12");
    assert_eq!(one(&f, "1.5").unwrap_err(), "Unable to convert '1.5' to long using formatters ['#,##0;(#,##0)']");
}

#[test]
fn doubles_and_decimals() {
    let f = field(json!({"name": "c", "type": "double", "nullable": true}));
    assert_eq!(one(&f, "1e5").unwrap(), "100000.0");
    assert_eq!(one(&f, " 2.5d ").unwrap(), "2.5");
    assert_eq!(one(&f, "NaN").unwrap(), "NaN");
    assert!(one(&f, "Infinity").unwrap_err().starts_with("Unable to convert 'Infinity' to double"));
    let f = field(json!({"name": "c", "type": "decimal", "nullable": true, "precision": 5, "scale": 2}));
    assert_eq!(one(&f, "123.455").unwrap(), "123.46");
    assert_eq!(one(&f, "-0.005").unwrap(), "-0.01");
    assert_eq!(
        one(&f, "1234.5").unwrap_err(),
        "Unable to convert '1234.5' to decimal(5, 2) using formatters ['#,##0.###;-#,##0.###']"
    );
}

#[test]
fn booleans_strings_and_nulls() {
    let f = field(
        json!({"name": "c", "type": "boolean", "nullable": true, "trueValues": ["true", "Y"], "falseValues": ["false", "N"]}),
    );
    assert_eq!(one(&f, "Y").unwrap(), "true");
    assert_eq!(
        one(&f, "yes").unwrap_err(),
        "Unable to convert 'yes' to boolean using provided true values: ['true', 'Y'] or false values: ['false', 'N']"
    );
    let f = field(
        json!({"name": "c", "type": "string", "nullable": true, "trim": true, "minLength": 2, "maxLength": 3, "regex": "[a-z]+",
        "nullableValues": ["", "null"]}),
    );
    assert_eq!(one(&f, "  abc ").unwrap(), "abc");
    assert_eq!(one(&f, "null").unwrap(), "");
    assert_eq!(
        one(&f, "ABCD").unwrap_err(),
        "String 'ABCD' (4 characters) is greater than maxLength (3). String 'ABCD' does not match regex '[a-z]+'."
    );
    let f = field(
        json!({"name": "c", "type": "integer", "nullable": true, "nullableValues": ["n/a"], "nullReplacementValue": "0"}),
    );
    assert_eq!(one(&f, "n/a").unwrap(), "0");
    let f = field(json!({"name": "c", "type": "integer", "nullable": false}));
    assert_eq!(
        one(&f, "x").unwrap_err(),
        "TypingTransform with non-nullable column 'c' cannot continue due to error: Unable to convert 'x' to integer using formatters ['#,##0;-#,##0']."
    );
}

#[test]
fn dates_timestamps_times_binary() {
    let f = field(
        json!({"name": "c", "type": "date", "nullable": true, "formatters": ["yyyy-MM-dd", "dd/MM/yyyy", "dd MMM yyyy"]}),
    );
    assert_eq!(one(&f, "2020-02-30").unwrap(), "2020-02-29", "yyyy resolves leniently");
    assert_eq!(one(&f, "03/04/2021").unwrap(), "2021-04-03");
    assert_eq!(one(&f, "03 jan 2021").unwrap(), "2021-01-03");
    assert!(one(&f, "2020-13-01").is_err());
    let strict = field(json!({"name": "c", "type": "date", "nullable": true, "formatters": ["uuuu-MM-dd"]}));
    assert_eq!(
        one(&strict, "2020-02-30").unwrap_err(),
        "Unable to convert '2020-02-30' to date using formatters ['uuuu-MM-dd']"
    );
    let f = field(
        json!({"name": "c", "type": "timestamp", "nullable": true, "formatters": ["dd-MM-yyyy HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssXXX", "ssssssssss"], "timezoneId": "Australia/Sydney"}),
    );
    assert_eq!(one(&f, "01-07-2020 10:00:00").unwrap(), "2020-07-01T00:00:00Z");
    assert_eq!(one(&f, "2020-07-01T10:00:00+02:00").unwrap(), "2020-07-01T08:00:00Z");
    assert_eq!(one(&f, "1591966818").unwrap(), "2020-06-12T13:00:18Z");
    assert_eq!(
        one(&f, "x").unwrap_err(),
        "Unable to convert 'x' to timestamp using formatters ['dd-MM-yyyy HH:mm:ss', 'yyyy-MM-dd'T'HH:mm:ssXXX', 'ssssssssss'] and timezone 'Australia/Sydney'"
    );
    let f = field(
        json!({"name": "c", "type": "timestamp", "nullable": true, "formatters": ["yyyy-MM-dd"], "timezoneId": "UTC", "time": {"hour": 23, "minute": 59, "second": 59}}),
    );
    assert_eq!(one(&f, "2020-01-01").unwrap(), "2020-01-01T23:59:59Z");
    let f = field(json!({"name": "c", "type": "time", "nullable": true, "formatters": ["HH:mm:ss", "HH:mm"]}));
    assert_eq!(one(&f, "12:34").unwrap(), "12:34:00");
    let f = field(json!({"name": "c", "type": "binary", "nullable": true, "encoding": "base64"}));
    assert_eq!(one(&f, "aGVsbG8=").unwrap(), "68656c6c6f");
    assert_eq!(one(&f, "???").unwrap_err(), "Unable to convert '???' to binary using 'base64' decoding.");
    let f = field(json!({"name": "c", "type": "binary", "nullable": true, "encoding": "hexadecimal"}));
    assert_eq!(one(&f, "abc").unwrap(), "0abc");
    assert!(one(&f, "FFFFFFFFFFFFFFFFFF").is_err(), "Arc's 64-bit limit");
}

#[test]
fn schema_errors() {
    let errors = parse_schema(
        &json!([{"name": "a", "type": "integer", "nullable": true, "formater": []}, {"name": "b", "type": "date"}]),
    )
    .unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.contains(
            &"[0] 'a'.formater: Invalid attribute 'formater'. Perhaps you meant one of: ['formatters'].".to_string()
        ),
        "{text:?}"
    );
    assert!(text.contains(&"[1] 'b'.nullable: Missing required attribute 'nullable'.".to_string()), "{text:?}");
    assert!(text.contains(&"[1] 'b'.formatters: Missing required attribute 'formatters'.".to_string()), "{text:?}");
    assert!(parse_schema(&json!({"x": 1})).unwrap_err()[0].message.contains("does not appear to be an Arc schema"));
    assert_eq!(parse_schema(&json!({"schema": [{"name": "a", "type": "string", "nullable": true}]})).unwrap().len(), 1);
}

#[test]
fn batch_by_position_with_internal_columns_and_failfast() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("_c0", DataType::Utf8, true),
        Field::new("_c1", DataType::Utf8, true),
        Field::new("_filename", DataType::Utf8, false),
        Field::new("_index", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["1", "x", "3"])),
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
            Arc::new(StringArray::from(vec!["f.csv"; 3])),
            Arc::new(Int64Array::from(vec![1, 2, 3])),
        ],
    )
    .unwrap();
    let fields = parse_schema(&json!([
        {"name": "id", "type": "integer", "nullable": true},
        {"name": "name", "type": "string", "nullable": true}
    ]))
    .unwrap();
    let out = output_schema(&schema, &fields).unwrap();
    let names: Vec<&str> = out.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "name", "_filename", "_index", "_errors"]);
    let typed = type_batch(&batch, &fields, &out, FailMode::Permissive).unwrap();
    let errors = typed.column(4).as_list::<i32>();
    assert_eq!((errors.value(0).len(), errors.value(1).len(), errors.value(2).len()), (0, 1, 0));
    assert!(!errors.is_null(0), "clean rows have an empty array, not null");
    let err = type_batch(&batch, &fields, &out, FailMode::FailFast).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TypingTransform with failMode equal to 'failfast' cannot continue due to row with error(s): [[id,Unable to convert 'x' to integer using formatters ['#,##0;-#,##0']]]."
    );
    let wrong = parse_schema(&json!([{"name": "id", "type": "integer", "nullable": true}])).unwrap();
    assert_eq!(
        output_schema(&schema, &wrong).unwrap_err().to_string(),
        "TypingTransform can only be performed on tables with the same number of columns, but the schema has 1 columns and the data table has 2 columns."
    );
}

#[test]
fn trailing_minus_formatters() {
    for (kind, expected) in [("integer", "-1234"), ("long", "-1234"), ("double", "-1234.0")] {
        let f = field(json!({"name": "c", "type": kind, "nullable": true, "formatters": ["#,##0;#,##0-"]}));
        assert_eq!(one(&f, "1,234-").unwrap(), expected, "{kind}");
        assert_eq!(one(&f, "1,234").unwrap().trim_start_matches('-'), expected.trim_start_matches('-'), "{kind}");
        assert!(one(&f, "-1,234").is_err(), "{kind}: the negative form is the suffix one");
    }
    let f = field(
        json!({"name": "c", "type": "decimal", "nullable": true, "precision": 10, "scale": 2, "formatters": ["#,##0.00;#,##0.00-"]}),
    );
    assert_eq!(one(&f, "1,234.50-").unwrap(), "-1234.50");
}

#[test]
fn dates_are_not_trimmed_and_follow_case_sensitivity() {
    let f = field(json!({"name": "c", "type": "date", "nullable": true, "formatters": ["dd-MMM-yyyy"]}));
    assert_eq!(
        one(&f, " 05-Jan-2024").unwrap_err(),
        "Unable to convert ' 05-Jan-2024' to date using formatters ['dd-MMM-yyyy']"
    );
    assert_eq!(one(&f, "05-JAN-2024").unwrap(), "2024-01-05", "case-insensitive by default");
    let f = field(json!({"name": "c", "type": "date", "nullable": true, "trim": true, "formatters": ["dd-MMM-yyyy"]}));
    assert_eq!(one(&f, " 05-Jan-2024 ").unwrap(), "2024-01-05", "trim: true trims");
    let f = field(
        json!({"name": "c", "type": "date", "nullable": true, "caseSensitive": true, "formatters": ["dd-MMM-yyyy"]}),
    );
    assert!(one(&f, "05-JAN-2024").is_err());
    assert_eq!(one(&f, "05-Jan-2024").unwrap(), "2024-01-05");
}

#[test]
fn timestamps_with_offset_zones_and_java_pattern_letters() {
    let f = field(
        json!({"name": "c", "type": "timestamp", "nullable": true, "formatters": ["uuuu-MM-dd HH:mm:ss"], "timezoneId": "+1000"}),
    );
    assert_eq!(one(&f, "2024-01-05 10:00:00").unwrap(), "2024-01-05T00:00:00Z");
    let f = field(json!({"name": "c", "type": "timestamp", "nullable": true, "timezoneId": "UTC",
        "formatters": ["uuuu-MM-dd'T'HH:mm:ss.nnnnnnnnn VV", "uuuu-MM-dd HH:mm:ss O", "uuuu-MM-dd[ HH:mm]"]}));
    assert_eq!(one(&f, "2024-07-05T10:00:00.123456789 Europe/London").unwrap(), "2024-07-05T09:00:00.123456Z");
    assert_eq!(one(&f, "2024-01-05 10:00:00 GMT+8").unwrap(), "2024-01-05T02:00:00Z");
    assert!(one(&f, "2024-01-05").is_err(), "no time: a ZonedDateTime needs one");
    let errors = parse_schema(&json!([{"name": "c", "type": "date", "nullable": true, "formatters": ["yyyy-MM-ddd"]}]))
        .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "[0] 'c'.formatters: Invalid formatter 'yyyy-MM-ddd': Too many pattern letters: d."
    );
}

#[test]
fn metadata_arrays_are_validated_as_arc_does() {
    let errors = |metadata: serde_json::Value| -> Vec<String> {
        match parse_schema(&json!([{"name": "c", "type": "string", "nullable": true, "metadata": metadata}])) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    };
    assert!(errors(json!({"tags": ["a", "b"], "nested": {"n": [1, 2]}, "none": null})).is_empty());
    assert_eq!(
        errors(json!({"mixed": ["a", 1]})),
        ["[0] 'c'.metadata: Metadata attribute 'mixed' cannot contain arrays of different types."]
    );
    assert_eq!(
        errors(json!({"numbers": [1, 1.5]})),
        [
            "[0] 'c'.metadata: Metadata attribute 'numbers' cannot contain `number` arrays of different types (all values must be `integers` or all values must be `doubles`)."
        ]
    );
    assert_eq!(
        errors(json!({"empty": []})),
        ["[0] 'c'.metadata: Metadata attribute 'empty' cannot contain empty `arrays`."]
    );
    assert_eq!(
        errors(json!({"n": {"holes": ["a", null]}})),
        ["[0] 'c'.metadata: Metadata attribute 'holes' cannot contain `null` values inside `array`."]
    );
}
