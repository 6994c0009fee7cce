//! Masking of credentials in text that leaves the process (events, errors, logs): every form
//! a JDBC or storage URL carries a password in, so that a job's connection string never
//! shows its password — in the job's JSON events, its error messages, the service's stored
//! log or the notebook.
//!
//! Forms masked (the value becomes `*****`):
//! - key/value settings: `password=`, `pwd=`, `passwd=`, `secret=`, `sessionToken=`... (any case;
//!   `;`/`&`-separated as in JDBC and ODBC strings, `{...}` values as SQL Server writes them);
//! - URL user info: `scheme://user:PASSWORD@host`;
//! - Oracle's `jdbc:oracle:thin:user/PASSWORD@host` (and `oci`, `kprb` drivers);
//! - JSON attributes named like a credential: `"password": "..."`, `"token"`, `"secret"`,
//!   API keys, and HTTP `"Authorization"` headers (as HTTP stages' `headers` carry them).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What replaces a masked value.
pub const MASK: &str = "*****";

/// `key=value` settings whose value is a credential.
static SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b((?:password|passwd|pwd|secret|secretkey|secret_key|sessiontoken|session_token|awssecretkey|accountkey|sharedaccesskey)\s*=\s*)(\{[^}]*\}|[^;&\s'\x22]*)",
    )
    .expect("static regex")
});

/// `scheme://user:password@`.
static USER_INFO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(//[^/:@;\s'\x22]+:)([^@/\s'\x22]+)(@)").expect("static regex"));

/// `jdbc:oracle:thin:user/password@`.
static ORACLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(jdbc:oracle:(?:thin|oci|oci8|kprb):[^/@:;\s'\x22]*/)([^@\s'\x22]+)(@)").expect("static regex")
});

/// `"password": "value"` in JSON text.
static JSON_ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("(?:password|passwd|pwd|secret|secret_access_key|secretaccesskey|session_token|sessiontoken|token|access_token|api_key|apikey|x-api-key|authorization|proxy-authorization)"\s*:\s*")((?:[^"\\]|\\.)*)(")"#)
        .expect("static regex")
});

/// `text` with every credential masked; borrowed when there is nothing to mask.
pub fn mask_credentials(text: &str) -> Cow<'_, str> {
    // Cheap pre-check: every form needs one of these characters.
    if !text.contains(['=', '@', ':']) {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for (re, replacement) in [
        (&*ORACLE, "${1}*****${3}"),
        (&*USER_INFO, "${1}*****${3}"),
        (&*SETTING, "${1}*****"),
        (&*JSON_ATTRIBUTE, "${1}*****${3}"),
    ] {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, replacement).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_credential_form_is_masked() {
        let cases = [
            (
                "jdbc:awsathena://AwsRegion=ap-southeast-2;S3OutputLocation=s3://x;User=AKIA;Password=s3cr3t",
                "jdbc:awsathena://AwsRegion=ap-southeast-2;S3OutputLocation=s3://x;User=AKIA;Password=*****",
            ),
            ("jdbc:postgresql://u:pw@host/db?password=x&a=1", "jdbc:postgresql://u:*****@host/db?password=*****&a=1"),
            (
                "jdbc:oracle:thin:scott/tiger@//db.example:1521/orcl",
                "jdbc:oracle:thin:scott/*****@//db.example:1521/orcl",
            ),
            ("jdbc:oracle:thin:u/p@h", "jdbc:oracle:thin:u/*****@h"),
            (
                "jdbc:sqlserver://h:1433;user=sa;password={a;b};db=x",
                "jdbc:sqlserver://h:1433;user=sa;password=*****;db=x",
            ),
            ("Driver={x};Server=h;Uid=u;Pwd=hunter2;", "Driver={x};Server=h;Uid=u;Pwd=*****;"),
            ("mysql://root:secret@127.0.0.1:3306/db", "mysql://root:*****@127.0.0.1:3306/db"),
            (r#"{"jdbcURL":"x","password":"p\"w"}"#, r#"{"jdbcURL":"x","password":"*****"}"#),
            ("error at 'jdbc:oracle:thin:u/p@h' (line 3)", "error at 'jdbc:oracle:thin:u/*****@h' (line 3)"),
        ];
        for (text, want) in cases {
            assert_eq!(mask_credentials(text), want, "{text}");
        }
    }

    #[test]
    fn text_without_credentials_is_unchanged() {
        for text in [
            "s3a://bucket/path/file.csv",
            "SELECT a = b FROM t WHERE x >= 1",
            "user@example.com wrote 10:30",
            "https://host:8443/path",
            "jdbc:oracle:thin:@//host:1521/svc",
        ] {
            assert!(matches!(mask_credentials(text), Cow::Borrowed(_)) || mask_credentials(text) == text, "{text}");
            assert_eq!(mask_credentials(text), text);
        }
    }

    #[test]
    fn json_credentials_and_authorization_headers_are_masked() {
        let text = r#"{"headers": {"Authorization": "Bearer abc.def", "X-API-Key": "k1", "Accept": "text/csv"}, "token": "t\"q", "name": "x"}"#;
        assert_eq!(
            mask_credentials(text),
            r#"{"headers": {"Authorization": "*****", "X-API-Key": "*****", "Accept": "text/csv"}, "token": "*****", "name": "x"}"#
        );
    }
}
