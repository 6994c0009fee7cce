//! `hmac(key, message[, algorithm])`: the HMAC of the message as binary; algorithm `SHA-256`
//! (default), `SHA-224`, `SHA-384` or `SHA-512` (case-insensitive, the dash optional).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;
use hmac::{Hmac, KeyInit, Mac};

use crate::sql::functions::simple::{Simple, binary, check_arity, ret_binary, to_string_or_binary, utf8};

pub fn udf() -> Arc<ScalarUDF> {
    Simple::new("hmac", coerce, ret_binary, eval).udf()
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 2, 3)?;
    let mut out = vec![];
    for x in &t[..2] {
        // Strings are hashed by their UTF-8 bytes.
        to_string_or_binary(name, x)?;
        out.push(DataType::Binary);
    }
    if t.len() == 3 {
        out.push(DataType::Utf8);
    }
    Ok(out)
}

fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Result<Vec<u8>> {
    let mut m = <M as KeyInit>::new_from_slice(key).or_else(|e| exec_err!("hmac: {e}"))?;
    m.update(msg);
    Ok(m.finalize().into_bytes().to_vec())
}

fn eval(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let key = binary(&args[0])?;
    let msg = binary(&args[1])?;
    let algo = args.get(2).map(utf8).transpose()?;
    let mut out = BinaryBuilder::with_capacity(key.len(), key.len() * 32);
    for i in 0..key.len() {
        if key.is_null(i) || msg.is_null(i) || algo.as_ref().is_some_and(|a| a.is_null(i)) {
            out.append_null();
            continue;
        }
        let a =
            algo.as_ref().map(|a| a.value(i).to_ascii_uppercase().replace('-', "")).unwrap_or_else(|| "SHA256".into());
        let (k, m) = (key.value(i), msg.value(i));
        let v = match a.as_str() {
            "SHA224" => mac::<Hmac<sha2::Sha224>>(k, m)?,
            "SHA256" => mac::<Hmac<sha2::Sha256>>(k, m)?,
            "SHA384" => mac::<Hmac<sha2::Sha384>>(k, m)?,
            "SHA512" => mac::<Hmac<sha2::Sha512>>(k, m)?,
            _ => return exec_err!("hmac: unsupported algorithm '{a}' (SHA-224, SHA-256, SHA-384 or SHA-512)"),
        };
        out.append_value(v);
    }
    Ok(Arc::new(out.finish()))
}
