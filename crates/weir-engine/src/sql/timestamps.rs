//! Spark's two timestamp types as Weir stores them:
//!
//! - `TIMESTAMP` (Spark's default `spark.sql.timestampType=TIMESTAMP_LTZ`, also written
//!   `TIMESTAMP_LTZ`): an instant, Arrow `Timestamp(Microsecond, "+00:00")` (the session
//!   time zone is UTC);
//! - `TIMESTAMP_NTZ`: a wall-clock date and time with no zone, Arrow
//!   `Timestamp(Microsecond, None)`.
//!
//! With the session in UTC both hold the same microseconds for the same text, so casts
//! between them keep the value. sqlparser knows `TIMESTAMP_NTZ` (type and typed literal)
//! but not `TIMESTAMP_LTZ`, which [`ltz_keyword`] spells `TIMESTAMP` before parsing.

use std::borrow::Cow;

use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// Spark's `TIMESTAMP` / `TIMESTAMP_LTZ`.
pub fn ltz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
}

/// Spark's `TIMESTAMP_NTZ`.
pub fn ntz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The keyword `TIMESTAMP_LTZ` (any case, outside strings, quoted identifiers and
/// comments) as `TIMESTAMP`, its synonym, so that `TIMESTAMP_LTZ '…'` literals and
/// `CAST(… AS TIMESTAMP_LTZ)` parse.
pub fn ltz_keyword(sql: &str) -> Cow<'_, str> {
    const WORD: &str = "timestamp_ltz";
    if !sql.to_ascii_lowercase().contains(WORD) {
        return Cow::Borrowed(sql);
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                // Copy the quoted text as it is (backslash escapes in strings).
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' && c != '`' {
                        if let Some(next) = chars.get(i) {
                            out.push(*next);
                            i += 1;
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                out.push_str("/*");
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push_str("*/");
                    i += 2;
                }
            }
            c if is_word_char(c) => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.eq_ignore_ascii_case(WORD) {
                    out.push_str("TIMESTAMP");
                } else {
                    out.push_str(&word);
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ltz_keyword_outside_quotes_only() {
        assert_eq!(
            ltz_keyword("SELECT hour(TIMESTAMP_LTZ '2018-02-14 12:58:59'), CAST(x AS timestamp_ltz)"),
            "SELECT hour(TIMESTAMP '2018-02-14 12:58:59'), CAST(x AS TIMESTAMP)"
        );
        assert_eq!(
            ltz_keyword("SELECT make_timestamp_ltz(1), 'timestamp_ltz', `timestamp_ltz` -- timestamp_ltz"),
            "SELECT make_timestamp_ltz(1), 'timestamp_ltz', `timestamp_ltz` -- timestamp_ltz"
        );
        assert!(matches!(ltz_keyword("SELECT 1"), Cow::Borrowed(_)));
    }
}
