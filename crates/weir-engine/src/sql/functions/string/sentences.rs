//! `sentences(str[, lang[, country]])`: the text split into sentences (ending at `.`, `!` or
//! `?`), each an array of its words (runs of letters and digits, apostrophes inside a word
//! kept), as Java's `BreakIterator` does for plain prose; punctuation is dropped. Also
//! `collation(str)`: Weir compares strings by their UTF-8 bytes, Spark's `UTF8_BINARY`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, ret_utf8, strings, utf8};

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Simple::new("sentences", |n, t| strings(n, t, 1, 3), ret_sentences, eval).udf(),
        Simple::new(
            "collation",
            |n, t| strings(n, t, 1, 1),
            ret_utf8,
            |a, _| Ok(Arc::new(StringArray::from(vec!["SYSTEM.BUILTIN.UTF8_BINARY"; a[0].len()]))),
        )
        .udf(),
    ]
}

fn ret_sentences(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let inner = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    Ok(DataType::List(Arc::new(Field::new("item", inner, true))))
}

pub fn split_sentences(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut words = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let inner_apostrophe = c == '\'' && !word.is_empty() && chars.get(k + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if matches!(c, '.' | '!' | '?') && !words.is_empty() {
            out.push(std::mem::take(&mut words));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    if !words.is_empty() {
        out.push(words);
    }
    out
}

fn eval(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = utf8(&args[0])?;
    let mut out = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
    for i in 0..s.len() {
        if s.is_null(i) {
            out.append_null();
            continue;
        }
        for sentence in split_sentences(s.value(i)) {
            for w in sentence {
                out.values().values().append_value(w);
            }
            out.values().append(true);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(split_sentences("Hi there! Good morning."), vec![vec!["Hi", "there"], vec!["Good", "morning"]]);
        assert_eq!(split_sentences("Hi there! How are you?"), vec![vec!["Hi", "there"], vec!["How", "are", "you"]]);
        assert!(split_sentences("").is_empty());
    }
}
