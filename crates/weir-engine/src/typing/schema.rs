//! The Arc schema format: a list of field objects (or an object whose `schema` key holds
//! the list), validated with Arc's messages.

use serde_json::{Map, Value};

use super::javatime::{Formats, Zone};

/// A problem in a schema document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    /// `[2] 'amount'` or `[2] 'amount'.formatters`.
    pub path: String,
    pub message: String,
}

/// Values are typed from strings with these rules.
#[derive(Debug, Clone)]
pub enum FieldKind {
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
        regex: Option<regex::Regex>,
    },
    Integer {
        formatters: Option<Vec<String>>,
    },
    Long {
        formatters: Option<Vec<String>>,
    },
    Double {
        formatters: Option<Vec<String>>,
    },
    Decimal {
        precision: u8,
        scale: i8,
        formatters: Option<Vec<String>>,
    },
    Boolean {
        true_values: Vec<String>,
        false_values: Vec<String>,
    },
    Date {
        formatters: Vec<String>,
        formats: Formats,
    },
    Timestamp {
        formatters: Vec<String>,
        formats: Formats,
        timezone: Zone,
        timezone_id: String,
        time: Option<chrono::NaiveTime>,
    },
    Time {
        formatters: Vec<String>,
        formats: Formats,
    },
    Binary {
        base64: bool,
    },
    /// Schema-only types: TypingTransform cannot produce them.
    Struct,
    Array,
}

/// One field of an Arc schema.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub type_name: String,
    pub nullable: bool,
    pub trim: bool,
    pub nullable_values: Vec<String>,
    pub null_replacement: Option<String>,
    pub description: Option<String>,
    pub id: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub kind: FieldKind,
}

const COMMON: &[&str] = &[
    "name",
    "type",
    "nullable",
    "id",
    "description",
    "metadata",
    "trim",
    "nullableValues",
    "nullReplacementValue",
    "primaryKey",
];

fn type_keys(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "string" => &["minLength", "maxLength", "regex"],
        "integer" | "long" | "double" => &["formatters"],
        "decimal" => &["precision", "scale", "formatters"],
        "boolean" => &["trueValues", "falseValues"],
        "date" => &["formatters", "caseSensitive"],
        "timestamp" => &["formatters", "timezoneId", "time", "caseSensitive"],
        "time" => &["formatters"],
        "binary" => &["encoding"],
        "struct" => &["fields"],
        "array" => &["elementType"],
        _ => &[],
    }
}

const TYPES: &[&str] = &[
    "boolean",
    "date",
    "decimal",
    "double",
    "integer",
    "long",
    "string",
    "time",
    "timestamp",
    "binary",
    "struct",
    "array",
];

struct Reader<'a> {
    object: &'a Map<String, Value>,
    path: String,
    errors: &'a mut Vec<SchemaError>,
}

impl Reader<'_> {
    fn error(&mut self, attribute: &str, message: impl Into<String>) {
        let path = if attribute.is_empty() { self.path.clone() } else { format!("{}.{attribute}", self.path) };
        self.errors.push(SchemaError { path, message: message.into() });
    }

    fn missing(&mut self, key: &str) {
        self.error(key, format!("Missing required attribute '{key}'."));
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.object.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            _ => {
                self.error(key, "Wrong type, expected: 'string'.");
                None
            }
        }
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        match self.object.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if ["true", "yes", "on"].contains(&s.as_str()) => Some(true),
            Value::String(s) if ["false", "no", "off"].contains(&s.as_str()) => Some(false),
            _ => {
                self.error(key, "Wrong type, expected: 'boolean'.");
                None
            }
        }
    }

    fn int(&mut self, key: &str) -> Option<i64> {
        let parsed = match self.object.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(key, "Wrong type, expected: 'int'.");
        }
        parsed
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        match self.object.get(key)? {
            Value::Array(items) => {
                let out: Option<Vec<String>> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => None,
                    })
                    .collect();
                if out.is_none() {
                    self.error(key, "Wrong type, expected: 'string array'.");
                }
                out
            }
            _ => {
                self.error(key, "Wrong type, expected: 'string array'.");
                None
            }
        }
    }

    fn required_strings(&mut self, key: &str) -> Vec<String> {
        match self.strings(key) {
            Some(v) => v,
            None => {
                if !self.object.contains_key(key) {
                    self.missing(key);
                }
                Vec::new()
            }
        }
    }
}

/// Parses an Arc schema document, reporting every problem.
pub fn parse_schema(doc: &Value) -> Result<Vec<FieldSpec>, Vec<SchemaError>> {
    let list = match doc {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("schema") {
            Some(Value::Array(items)) => items,
            _ => return Err(not_a_schema()),
        },
        _ => return Err(not_a_schema()),
    };
    let mut errors = Vec::new();
    let mut fields = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Value::Object(object) = item else {
            errors.push(SchemaError { path: format!("[{i}]"), message: "Expected a field object.".into() });
            continue;
        };
        let label =
            object.get("name").and_then(Value::as_str).map(|n| format!("[{i}] '{n}'")).unwrap_or(format!("[{i}]"));
        let mut r = Reader { object, path: label, errors: &mut errors };
        if let Some(field) = parse_field(&mut r) {
            fields.push(field);
        }
    }
    if errors.is_empty() { Ok(fields) } else { Err(errors) }
}

fn not_a_schema() -> Vec<SchemaError> {
    vec![SchemaError {
        path: "schema".into(),
        message: "does not appear to be an Arc schema. Must be either of type LIST or contain schema within 'schema' attribute.".into(),
    }]
}

fn parse_field(r: &mut Reader<'_>) -> Option<FieldSpec> {
    let name = r.string("name");
    if name.is_none() {
        r.missing("name");
    }
    let type_name = r.string("type");
    if type_name.is_none() && !r.object.contains_key("type") {
        r.missing("type");
    }
    let nullable = r.bool("nullable");
    if nullable.is_none() && !r.object.contains_key("nullable") {
        r.missing("nullable");
    }
    let trim = r.bool("trim").unwrap_or(false);
    let nullable_values = r.strings("nullableValues").unwrap_or_default();
    let null_replacement = r.string("nullReplacementValue");
    let description = r.string("description");
    let id = r.string("id");
    let _ = r.bool("primaryKey");
    let metadata = match r.object.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => {
                r.error("metadata", "Metadata must be an object or a string holding a JSON object.");
                None
            }
        },
        Some(_) => {
            r.error("metadata", "Wrong type, expected: 'object'.");
            None
        }
    };
    if let Some(m) = &metadata {
        for message in metadata_errors(m) {
            r.error("metadata", message);
        }
    }
    let type_name = type_name?;
    if !TYPES.contains(&type_name.as_str()) {
        r.error("type", format!("Invalid type '{type_name}'. Expected one of: [{}].", TYPES.join(", ")));
        return None;
    }
    // Unknown attributes, with suggestions.
    let allowed: Vec<&str> = COMMON.iter().chain(type_keys(&type_name)).copied().collect();
    let unknown: Vec<String> = r.object.keys().filter(|k| !allowed.contains(&k.as_str())).cloned().collect();
    for key in unknown {
        let suggestions = crate::config::did_you_mean(&key, allowed.iter().copied());
        let message = if suggestions.is_empty() {
            format!("Invalid attribute '{key}'.")
        } else {
            let quoted: Vec<String> = suggestions.iter().map(|s| format!("'{s}'")).collect();
            format!("Invalid attribute '{key}'. Perhaps you meant one of: [{}].", quoted.join(", "))
        };
        r.error(&key, message);
    }
    let formatters = |r: &mut Reader<'_>| r.strings("formatters");
    let kind = match type_name.as_str() {
        "string" => {
            let min_length = r.int("minLength").map(|v| v.max(0) as usize);
            let max_length = r.int("maxLength").map(|v| v.max(0) as usize);
            let regex = match r.string("regex") {
                Some(re) => match regex::Regex::new(&format!(
                    "^(?:{})$",
                    crate::sql::functions::string::regexp::java_classes(&re)
                )) {
                    Ok(compiled) => Some(compiled),
                    Err(e) => {
                        r.error("regex", format!("Invalid regex '{re}': {e}"));
                        None
                    }
                },
                None => None,
            };
            FieldKind::String { min_length, max_length, regex }
        }
        "integer" => FieldKind::Integer { formatters: formatters(r) },
        "long" => FieldKind::Long { formatters: formatters(r) },
        "double" => FieldKind::Double { formatters: formatters(r) },
        "decimal" => {
            let precision = r.int("precision");
            let scale = r.int("scale");
            if precision.is_none() && !r.object.contains_key("precision") {
                r.missing("precision");
            }
            if scale.is_none() && !r.object.contains_key("scale") {
                r.missing("scale");
            }
            let (precision, scale) = (precision?, scale?);
            if !(1..=38).contains(&precision) || scale < 0 || scale > precision {
                r.error(
                    "precision",
                    format!("Invalid decimal({precision}, {scale}): precision must be 1..38 and scale 0..precision."),
                );
                return None;
            }
            FieldKind::Decimal { precision: precision as u8, scale: scale as i8, formatters: formatters(r) }
        }
        "boolean" => {
            let true_values = r.required_strings("trueValues");
            let false_values = r.required_strings("falseValues");
            FieldKind::Boolean { true_values, false_values }
        }
        "date" => {
            let formatters = r.required_strings("formatters");
            let formats = compile_formats(r, &formatters, false)?;
            FieldKind::Date { formatters, formats }
        }
        "timestamp" => {
            let formatters = r.required_strings("formatters");
            let formats = compile_formats(r, &formatters, true);
            let timezone_id = r.string("timezoneId");
            if timezone_id.is_none() {
                r.missing("timezoneId");
            }
            let timezone_id = timezone_id.unwrap_or_else(|| "UTC".into());
            let timezone = match parse_timezone(&timezone_id) {
                Some(tz) => tz,
                None => {
                    r.error("timezoneId", format!("Invalid timezoneId '{timezone_id}'."));
                    Zone::Region(chrono_tz::UTC)
                }
            };
            let time = match r.object.get("time") {
                Some(Value::Object(t)) => {
                    let get = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
                    match chrono::NaiveTime::from_hms_nano_opt(get("hour"), get("minute"), get("second"), get("nano")) {
                        Some(time) => Some(time),
                        None => {
                            r.error("time", "Invalid time: hour 0-23, minute 0-59, second 0-59, nano 0-999999999.");
                            None
                        }
                    }
                }
                Some(_) => {
                    r.error("time", "Wrong type, expected: 'object'.");
                    None
                }
                None => None,
            };
            FieldKind::Timestamp { formatters, formats: formats?, timezone, timezone_id, time }
        }
        "time" => {
            let formatters = r.required_strings("formatters");
            let formats = compile_formats(r, &formatters, false)?;
            FieldKind::Time { formatters, formats }
        }
        "binary" => match r.string("encoding").as_deref() {
            Some("base64") => FieldKind::Binary { base64: true },
            Some("hexadecimal") => FieldKind::Binary { base64: false },
            Some(other) => {
                r.error("encoding", format!("Invalid encoding '{other}'. Expected one of: ['base64', 'hexadecimal']."));
                return None;
            }
            None => {
                r.missing("encoding");
                return None;
            }
        },
        "struct" => FieldKind::Struct,
        _ => FieldKind::Array,
    };
    Some(FieldSpec {
        name: name?,
        type_name,
        nullable: nullable?,
        trim,
        nullable_values,
        null_replacement,
        description,
        id,
        metadata,
        kind,
    })
}

/// Arc's rules for user metadata: nested objects are allowed; arrays must be non-empty, of
/// one JSON type, without nulls or nested arrays, and numbers all integers or all doubles.
fn metadata_errors(metadata: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    for (key, value) in metadata {
        match value {
            Value::Object(nested) => errors.extend(metadata_errors(nested)),
            Value::Array(items) => {
                let kind = |v: &Value| match v {
                    Value::Null => "null",
                    Value::Bool(_) => "boolean",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                let kinds: std::collections::BTreeSet<&str> = items.iter().map(kind).collect();
                if items.is_empty() {
                    errors.push(format!("Metadata attribute '{key}' cannot contain empty `arrays`."));
                } else if kinds.contains("null") {
                    errors.push(format!("Metadata attribute '{key}' cannot contain `null` values inside `array`."));
                } else if kinds.contains("array") {
                    errors.push(format!("Metadata attribute '{key}' cannot contain nested `arrays`."));
                } else if kinds.len() > 1 {
                    errors.push(format!("Metadata attribute '{key}' cannot contain arrays of different types."));
                } else if kinds.contains("number") {
                    let integers = items.iter().filter(|v| v.is_i64() || v.is_u64()).count();
                    if integers != 0 && integers != items.len() {
                        errors.push(format!(
                            "Metadata attribute '{key}' cannot contain `number` arrays of different types (all values must be `integers` or all values must be `doubles`)."
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    errors
}

/// Compiles a column's date/time formatters (`epoch`: Arc's epoch formatters allowed), with
/// `caseSensitive`; a bad pattern is a config error with Java's message.
fn compile_formats(r: &mut Reader<'_>, formatters: &[String], epoch: bool) -> Option<Formats> {
    let case_sensitive = r.bool("caseSensitive").unwrap_or(false);
    match Formats::compile(formatters, case_sensitive, epoch) {
        Ok(formats) => Some(formats),
        Err(e) => {
            r.error("formatters", format!("Invalid formatter {e}."));
            None
        }
    }
}

/// A `timezoneId` as Java's `ZoneId.of` reads it: `UTC`, `GMT`, region ids
/// (`Australia/Sydney`) and offsets (`+10:00`, `+1000`, `UTC+10`).
pub fn parse_timezone(id: &str) -> Option<Zone> {
    Zone::parse(id)
}
