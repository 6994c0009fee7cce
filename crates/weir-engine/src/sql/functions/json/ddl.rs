//! Spark's DDL type strings, as `from_json` takes its schema: a field list
//! (`a INT, b ARRAY<STRING>`) or one type (`ARRAY<INT>`, `MAP<STRING, INT>`,
//! `STRUCT<a: INT, b: DOUBLE>`). Type names are case-insensitive, field names keep their case
//! and may be back-quoted; `NOT NULL` and `COMMENT '…'` are accepted after a field's type.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields};

use crate::sql::functions::datetime::common::timestamp_type;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Text(String),
    Number(u32),
    Punct(char),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '`' || c == '\'' || c == '"' {
            let mut word = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unclosed {c} in {text:?}")),
                    Some(&d) if d == c && chars.get(i + 1) == Some(&c) => {
                        word.push(c);
                        i += 2;
                    }
                    Some(&d) if d == c => {
                        i += 1;
                        break;
                    }
                    Some(&d) => {
                        word.push(d);
                        i += 1;
                    }
                }
            }
            out.push(if c == '`' { Token::Quoted(word) } else { Token::Text(word) });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            } else {
                out.push(Token::Number(digits.parse().map_err(|_| format!("bad number {digits}"))?));
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else if "<>(),:".contains(c) {
            out.push(Token::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected {c:?} in {text:?}"));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(format!("expected {c:?}, found {:?}", self.peek())) }
    }
    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn number(&mut self) -> Result<u32, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(n),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }

    fn data_type(&mut self) -> Result<DataType, String> {
        let Some(Token::Word(word)) = self.next() else {
            return Err(format!("expected a type, found {:?}", self.tokens.get(self.at - 1)));
        };
        let t = match word.to_ascii_lowercase().as_str() {
            "boolean" => DataType::Boolean,
            "tinyint" | "byte" => DataType::Int8,
            "smallint" | "short" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" | "long" => DataType::Int64,
            "float" | "real" => DataType::Float32,
            "double" => DataType::Float64,
            "date" => DataType::Date32,
            "timestamp" | "timestamp_ltz" => timestamp_type(),
            "string" => DataType::Utf8,
            "char" | "varchar" => {
                if self.eat('(') {
                    self.number()?;
                    self.expect(')')?;
                }
                DataType::Utf8
            }
            "binary" => DataType::Binary,
            "decimal" | "dec" | "numeric" => {
                let (mut p, mut s) = (10, 0);
                if self.eat('(') {
                    p = self.number()?;
                    if self.eat(',') {
                        s = self.number()?;
                    }
                    self.expect(')')?;
                }
                if !(1..=38).contains(&p) || s > p {
                    return Err(format!("decimal({p}, {s}) is not a valid type"));
                }
                DataType::Decimal128(p as u8, s as i8)
            }
            "array" => {
                self.expect('<')?;
                let item = self.data_type()?;
                self.expect('>')?;
                DataType::List(Arc::new(Field::new_list_field(item, true)))
            }
            "map" => {
                self.expect('<')?;
                let key = self.data_type()?;
                self.expect(',')?;
                let value = self.data_type()?;
                self.expect('>')?;
                map_type(key, value)
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                if !self.eat('>') {
                    loop {
                        fields.push(self.field(true)?);
                        if self.eat('>') {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                DataType::Struct(Fields::from(fields))
            }
            other => return Err(format!("type {other} is not supported yet")),
        };
        Ok(t)
    }

    fn field(&mut self, colon: bool) -> Result<Field, String> {
        let name = match self.next() {
            Some(Token::Word(w) | Token::Quoted(w)) => w,
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        if colon {
            self.eat(':');
        }
        let t = self.data_type()?;
        let mut nullable = true;
        if self.keyword("not") {
            if !self.keyword("null") {
                return Err("expected NULL after NOT".to_string());
            }
            nullable = false;
        }
        if self.keyword("comment") && !matches!(self.next(), Some(Token::Text(_))) {
            return Err("expected a string after COMMENT".to_string());
        }
        // from_json reads every field as nullable, whatever the schema says.
        let _ = nullable;
        Ok(Field::new(name, t, true))
    }
}

/// Spark's `map<key, value>` as Arrow's map type.
pub fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// Parses a DDL schema string: a field list becomes a struct; a lone type is that type.
pub fn parse_schema(text: &str) -> Result<DataType, String> {
    let tokens = tokens(text)?;
    // A field list first (as Spark tries a table schema first), then a single type.
    let mut fields = Parser { tokens: tokens.clone(), at: 0 };
    let mut list = Vec::new();
    let as_fields: Result<(), String> = (|| {
        loop {
            list.push(fields.field(true)?);
            if fields.peek().is_none() {
                return Ok(());
            }
            fields.expect(',')?;
        }
    })();
    if as_fields.is_ok() && !list.is_empty() {
        return Ok(DataType::Struct(Fields::from(list)));
    }
    let mut single = Parser { tokens, at: 0 };
    let t = single.data_type()?;
    if single.peek().is_some() {
        return Err(format!("cannot parse the schema {text:?}: {}", as_fields.err().unwrap_or_default()));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas() {
        let s = parse_schema("a INT, b DOUBLE").expect("fields");
        assert_eq!(
            s,
            DataType::Struct(Fields::from(vec![
                Field::new("a", DataType::Int32, true),
                Field::new("b", DataType::Float64, true)
            ]))
        );
        let s = parse_schema("STRUCT<teacher: STRING, student: ARRAY<STRUCT<name: STRING, rank: INT>>>").expect("st");
        let DataType::Struct(f) = s else { panic!("struct") };
        assert_eq!(f.len(), 2);
        assert!(matches!(parse_schema("ARRAY<INT>"), Ok(DataType::List(_))));
        assert!(matches!(parse_schema("MAP<STRING,INT>"), Ok(DataType::Map(_, _))));
        assert_eq!(
            parse_schema("x DECIMAL(5,2)"),
            Ok(DataType::Struct(Fields::from(vec![Field::new("x", DataType::Decimal128(5, 2), true)])))
        );
        assert!(parse_schema("a INT,").is_err());
        assert!(parse_schema("a INTERVAL").is_err());
    }
}
