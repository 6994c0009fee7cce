//! Text/binary conversions as Spark does them: `encode(str, charset)` and
//! `decode(bin, charset)` (UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE, UTF-32;
//! unmappable or malformed input is an error, as with Spark 4's default coding error action),
//! `to_binary(str[, fmt])` / `try_to_binary` (fmt `hex` (default), `utf-8`, `base64`),
//! `to_base32` / `from_base32` (RFC 4648 with padding) and `validate_utf8` / `try_validate_utf8`.

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{
    Simple, binary, check_arity, ret_binary, ret_utf8, strings, to_string_or_binary, to_string_type, utf8,
};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("encode", |n, t| strings(n, t, 2, 2), ret_binary, eval_encode).udf(),
        Simple::new("to_binary", |n, t| strings(n, t, 1, 2), ret_binary, |a, _| eval_to_binary(a, false)).udf(),
        Simple::new("try_to_binary", |n, t| strings(n, t, 1, 2), ret_binary, |a, _| eval_to_binary(a, true)).udf(),
        Simple::new("to_base32", coerce_bin1, ret_utf8, eval_to_base32).udf(),
        Simple::new("from_base32", |n, t| strings(n, t, 1, 1), ret_binary, eval_from_base32).udf(),
        Simple::new("validate_utf8", coerce_bin1, ret_utf8, |a, _| eval_validate(a, false)).udf(),
        Simple::new("try_validate_utf8", coerce_bin1, ret_utf8, |a, _| eval_validate(a, true)).udf(),
    ]
}

fn coerce_bin1(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    Ok(vec![if t[0] == DataType::Null { DataType::Binary } else { to_string_or_binary(name, &t[0])? }])
}

/// `decode(bin, charset)`'s argument casts.
pub fn coerce_decode(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 2)?;
    Ok(vec![DataType::Binary, to_string_type(name, &t[1])?])
}

fn charset_key(c: &str) -> String {
    c.trim().to_ascii_uppercase().replace('_', "-")
}

pub fn encode_text(text: &str, charset: &str) -> Result<Vec<u8>> {
    let key = charset_key(charset);
    let utf16 = |big: bool, bom: bool| {
        let mut out = Vec::with_capacity(text.len() * 2 + 2);
        if bom {
            out.extend_from_slice(&[0xFE, 0xFF]);
        }
        for u in text.encode_utf16() {
            out.extend_from_slice(&if big { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    };
    Ok(match key.as_str() {
        "UTF-8" | "UTF8" => text.as_bytes().to_vec(),
        "US-ASCII" | "ASCII" => {
            if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
                return exec_err!("encode: character '{c}' cannot be encoded in {charset}");
            }
            text.as_bytes().to_vec()
        }
        "ISO-8859-1" | "LATIN1" => {
            let mut out = Vec::with_capacity(text.len());
            for c in text.chars() {
                if (c as u32) > 0xFF {
                    return exec_err!("encode: character '{c}' cannot be encoded in {charset}");
                }
                out.push(c as u32 as u8);
            }
            out
        }
        "UTF-16" => utf16(true, true),
        "UTF-16BE" => utf16(true, false),
        "UTF-16LE" => utf16(false, false),
        "UTF-32" => text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
        _ => return exec_err!("[INVALID_PARAMETER_VALUE.CHARSET] unsupported charset '{charset}'"),
    })
}

pub fn decode_bytes(bytes: &[u8], charset: &str) -> Result<String> {
    let key = charset_key(charset);
    let malformed = || exec_err!("decode: malformed input for charset {charset}");
    let utf16 = |b: &[u8], big: bool| -> Result<String> {
        if b.len() % 2 != 0 {
            return malformed();
        }
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| if big { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16(&units).or_else(|_| malformed())
    };
    match key.as_str() {
        "UTF-8" | "UTF8" => std::str::from_utf8(bytes).map(str::to_string).or_else(|_| malformed()),
        "US-ASCII" | "ASCII" => {
            if bytes.iter().any(|b| !b.is_ascii()) {
                return malformed();
            }
            Ok(bytes.iter().map(|b| *b as char).collect())
        }
        "ISO-8859-1" | "LATIN1" => Ok(bytes.iter().map(|b| *b as char).collect()),
        "UTF-16" => match bytes {
            [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
            [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
            _ => utf16(bytes, true),
        },
        "UTF-16BE" => utf16(bytes, true),
        "UTF-16LE" => utf16(bytes, false),
        "UTF-32" => {
            if bytes.len() % 4 != 0 {
                return malformed();
            }
            bytes
                .chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect::<Option<String>>()
                .map_or_else(malformed, Ok)
        }
        _ => exec_err!("[INVALID_PARAMETER_VALUE.CHARSET] unsupported charset '{charset}'"),
    }
}

fn eval_encode(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let cs = utf8(&args[1])?;
    let mut out = BinaryBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        if s.is_null(i) || cs.is_null(i) {
            out.append_null();
        } else {
            out.append_value(encode_text(s.value(i), cs.value(i))?);
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `decode(bin, charset)`.
pub fn eval_decode(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let b = binary(&args[0])?;
    let cs = utf8(&args[1])?;
    let mut out = StringBuilder::with_capacity(b.len(), b.len() * 8);
    for i in 0..b.len() {
        if b.is_null(i) || cs.is_null(i) {
            out.append_null();
        } else {
            out.append_value(decode_bytes(b.value(i), cs.value(i))?);
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Hex text to bytes; an odd number of digits gets a leading zero (as Spark's `unhex`).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().collect();
    let val = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    let mut i = 0;
    if digits.len() % 2 == 1 {
        out.push(val(digits[0])?);
        i = 1;
    }
    while i < digits.len() {
        out.push(val(digits[i])? * 16 + val(digits[i + 1])?);
        i += 2;
    }
    Some(out)
}

fn base64_engine() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

fn eval_to_binary(args: &[ArrayRef], lenient: bool) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let fmt = args.get(1).map(utf8).transpose()?;
    let mut out = BinaryBuilder::with_capacity(s.len(), s.len() * 8);
    for i in 0..s.len() {
        if s.is_null(i) || fmt.as_ref().is_some_and(|f| f.is_null(i)) {
            out.append_null();
            continue;
        }
        let f = fmt.as_ref().map(|f| f.value(i).to_ascii_lowercase()).unwrap_or_else(|| "hex".into());
        let text = s.value(i);
        let bytes = match f.as_str() {
            "hex" => unhex(text).ok_or("invalid hex"),
            "utf-8" | "utf8" => Ok(text.as_bytes().to_vec()),
            "base64" => {
                let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                base64_engine().decode(cleaned).map_err(|_| "invalid base64")
            }
            _ => Err("format"),
        };
        match bytes {
            Ok(b) => out.append_value(b),
            Err(_) if lenient => out.append_null(),
            Err("format") => {
                return exec_err!(
                    "[INVALID_PARAMETER_VALUE.BINARY_FORMAT] to_binary: expects one of the binary formats 'base64', 'hex', 'utf-8', but got '{f}'"
                );
            }
            Err(why) => return exec_err!("[CONVERSION_INVALID_INPUT] to_binary: '{text}' is {why} for format '{f}'"),
        }
    }
    Ok(Arc::new(out.finish()))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for k in 0..8 {
            if k < chars {
                out.push(BASE32[((bits >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 5 / 8);
    let (mut acc, mut n) = (0u64, 0u32);
    for c in trimmed.bytes() {
        let v = BASE32.iter().position(|b| *b == c.to_ascii_uppercase())? as u64;
        acc = (acc << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push(((acc >> n) & 0xFF) as u8);
        }
    }
    Some(out)
}

fn eval_to_base32(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let b = binary(&args[0])?;
    let mut out = StringBuilder::with_capacity(b.len(), b.len() * 8);
    for i in 0..b.len() {
        if b.is_null(i) { out.append_null() } else { out.append_value(base32_encode(b.value(i))) }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_from_base32(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let mut out = BinaryBuilder::with_capacity(s.len(), s.len());
    for i in 0..s.len() {
        if s.is_null(i) {
            out.append_null();
            continue;
        }
        match base32_decode(s.value(i)) {
            Some(b) => out.append_value(b),
            None => return exec_err!("from_base32: '{}' is not valid base32", s.value(i)),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_validate(args: &[ArrayRef], lenient: bool) -> Result<ArrayRef> {
    let b = binary(&args[0])?;
    let mut out = StringBuilder::with_capacity(b.len(), b.len() * 8);
    for i in 0..b.len() {
        if b.is_null(i) {
            out.append_null();
            continue;
        }
        match std::str::from_utf8(b.value(i)) {
            Ok(s) => out.append_value(s),
            Err(_) if lenient => out.append_null(),
            Err(_) => {
                let hex: String = b.value(i).iter().map(|x| format!("{x:02X}")).collect();
                return exec_err!("[INVALID_UTF8_STRING] Invalid UTF8 byte sequence found in string: \\x{hex}");
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY======");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert!(base32_decode("M1").is_none());
    }

    #[test]
    fn charsets() {
        assert_eq!(encode_text("abc", "utf-8").unwrap(), b"abc");
        assert_eq!(encode_text("é", "UTF-16BE").unwrap(), vec![0, 0xE9]);
        assert_eq!(decode_bytes(&[0xE9], "ISO-8859-1").unwrap(), "é");
        assert!(encode_text("é", "US-ASCII").is_err());
        assert!(decode_bytes(&[0x80], "UTF-8").is_err());
        assert_eq!(unhex("abc").unwrap(), vec![0x0A, 0xBC]);
    }
}
