//! S3 "object created" notifications, in every shape they arrive in: S3 event notifications
//! (`Records[].s3`), the same wrapped in an SNS envelope (`Message` holding JSON), and
//! EventBridge events (`detail.bucket` / `detail.object`). `s3:TestEvent` messages are
//! recognised and skipped. Keys are URL-decoded as S3 encodes them (`+` is a space).

use serde_json::Value;

/// One object a notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub event_name: String,
}

impl ObjectEvent {
    /// The job URI runs get (`s3a://`, as the seed's trigger passed it).
    pub fn uri(&self) -> String {
        format!("s3a://{}/{}", self.bucket, self.key)
    }

    /// One object version: repeats of it are duplicates.
    pub fn dedupe_key(&self) -> String {
        format!(
            "s3|{}|{}|{}|{}",
            self.bucket,
            self.key,
            self.etag.as_deref().unwrap_or(""),
            self.version_id.as_deref().unwrap_or("")
        )
    }
}

/// What a notification held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub objects: Vec<ObjectEvent>,
    /// Records that are not object-created events, with the reason.
    pub skipped: Vec<String>,
}

/// Decodes S3's URL encoding of keys (`+` for space, `%XX` bytes).
pub fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(|s| s.trim_matches('"').to_string()).filter(|s| !s.is_empty())
}

fn get<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| v.get(*k))
}

/// Parses a notification body; `Err` when it is not JSON or holds no recognisable event.
pub fn parse(body: &str) -> Result<Parsed, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let mut parsed = Parsed::default();
    collect(&v, &mut parsed, 0)?;
    Ok(parsed)
}

fn collect(v: &Value, out: &mut Parsed, depth: usize) -> Result<(), String> {
    if depth > 3 {
        return Err("notification nested too deeply".into());
    }
    if get(v, &["Event", "event"]).and_then(Value::as_str) == Some("s3:TestEvent") {
        out.skipped.push("s3:TestEvent".into());
        return Ok(());
    }
    // SNS envelope (also SQS messages from an SNS subscription).
    if let Some(message) = get(v, &["Message", "message"]).and_then(Value::as_str) {
        let inner: Value = serde_json::from_str(message).map_err(|e| format!("SNS Message is not JSON: {e}"))?;
        return collect(&inner, out, depth + 1);
    }
    if let Some(records) = get(v, &["Records", "records"]).and_then(Value::as_array) {
        for r in records {
            let name = text(get(r, &["eventName", "EventName"])).unwrap_or_default();
            let Some(s3) = r.get("s3") else {
                out.skipped.push(format!("record without 's3' ({name})"));
                continue;
            };
            if !name.is_empty() && !name.starts_with("ObjectCreated") {
                out.skipped.push(format!("{name} is not an object-created event"));
                continue;
            }
            let bucket = s3.get("bucket").and_then(|b| text(b.get("name")));
            let object = s3.get("object");
            let key = object.and_then(|o| text(o.get("key")));
            match (bucket, key) {
                (Some(bucket), Some(key)) => out.objects.push(ObjectEvent {
                    bucket,
                    key: decode_key(&key),
                    etag: object.and_then(|o| text(get(o, &["eTag", "etag", "ETag"]))),
                    version_id: object.and_then(|o| text(get(o, &["versionId", "version-id"]))),
                    event_name: name,
                }),
                _ => out.skipped.push("record without bucket name or object key".into()),
            }
        }
        return Ok(());
    }
    // EventBridge.
    if let Some(detail) = v.get("detail") {
        let kind = text(v.get("detail-type")).unwrap_or_default();
        if !kind.is_empty() && kind != "Object Created" {
            out.skipped.push(format!("{kind} is not an object-created event"));
            return Ok(());
        }
        let bucket = detail.get("bucket").and_then(|b| text(b.get("name")));
        let object = detail.get("object");
        let key = object.and_then(|o| text(o.get("key")));
        if let (Some(bucket), Some(key)) = (bucket, key) {
            out.objects.push(ObjectEvent {
                bucket,
                key: decode_key(&key),
                etag: object.and_then(|o| text(get(o, &["etag", "eTag"]))),
                version_id: object.and_then(|o| text(get(o, &["version-id", "versionId"]))),
                event_name: kind,
            });
            return Ok(());
        }
    }
    Err("no S3 event records found (expected 'Records', an SNS 'Message' or an EventBridge 'detail')".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_of_every_shape() {
        let body = r#"{"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "jobs/my+job%281%29.ipynb", "eTag": "abc", "versionId": "v1"}}},
            {"eventName": "ObjectCreated:CompleteMultipartUpload", "s3": {"bucket": {"name": "b"}, "object": {"key": "jobs/two.json"}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "jobs/gone.json"}}}
        ]}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.objects.len(), 2);
        assert_eq!(p.objects[0].key, "jobs/my job(1).ipynb");
        assert_eq!(p.objects[0].uri(), "s3a://b/jobs/my job(1).ipynb");
        assert_eq!(p.objects[0].dedupe_key(), "s3|b|jobs/my job(1).ipynb|abc|v1");
        assert_eq!(p.skipped.len(), 1);
        let sns = serde_json::json!({"Type": "Notification", "Message": body}).to_string();
        assert_eq!(parse(&sns).unwrap().objects.len(), 2);
        let eb = r#"{"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {"key": "a.conf", "etag": "e"}}}"#;
        assert_eq!(parse(eb).unwrap().objects[0].etag.as_deref(), Some("e"));
        let test = r#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}"#;
        assert_eq!(parse(test).unwrap(), Parsed { objects: vec![], skipped: vec!["s3:TestEvent".into()] });
        assert!(parse("{").is_err());
        assert!(parse(r#"{"hello": 1}"#).is_err());
        assert_eq!(decode_key("a%2"), "a%2");
        assert_eq!(decode_key("%é%41"), "%éA");
    }
}
