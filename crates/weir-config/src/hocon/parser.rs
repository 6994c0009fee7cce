//! Recursive-descent HOCON parser producing the unresolved tree.

use super::{Document, ParseError, Piece, Pos, UKind, UNode};

/// Deepest nesting of objects and arrays accepted. Arc jobs nest a handful of levels; the
/// bound keeps the recursive parser (and everything that walks the tree) off the end of the
/// stack on hostile input.
pub const MAX_DEPTH: usize = 128;

/// Longest key (attribute name or path segment) accepted, in characters.
pub const MAX_KEY_CHARS: usize = 1024;

/// Characters that end an unquoted string (HOCON's forbidden characters plus whitespace).
fn ends_unquoted(c: char) -> bool {
    c.is_whitespace() || "$\"{}[]:=,+#`^?!@*&\\".contains(c)
}

/// Parses HOCON (or JSON) text.
pub fn parse(text: &str) -> Result<Document, ParseError> {
    let mut p = Parser { chars: text.chars().collect(), at: 0, line: 1, col: 1, depth: 0 };
    p.skip_blank();
    let root = match p.peek() {
        Some('[') => p.array()?,
        Some('{') => {
            let node = p.object()?;
            p.skip_blank();
            node
        }
        _ => p.fields(None)?,
    };
    p.skip_blank();
    if let Some(c) = p.peek() {
        return Err(p.error(format!("unexpected '{c}' after the end of the document")));
    }
    Ok(Document { root })
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    line: u32,
    col: u32,
    /// Objects and arrays open at the current position.
    depth: usize,
}

impl Parser {
    /// Enters an object or array, refusing nesting deeper than [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("objects and lists are nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        Ok(())
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.line, col: self.col, message: message.into() }
    }

    fn error_at(pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError { line: pos.line, col: pos.col, message: message.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.at + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_comment(&mut self) -> bool {
        if self.peek() == Some('#') || self.starts_with("//") {
            while let Some(c) = self.peek() {
                if c == '\n' {
                    break;
                }
                self.bump();
            }
            true
        } else {
            false
        }
    }

    /// Skips spaces (not newlines) and comments up to the end of the line.
    fn skip_inline(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() && c != '\n' => {
                    self.bump();
                }
                Some('\u{feff}') => {
                    self.bump();
                }
                _ => {
                    if !self.skip_comment() {
                        return;
                    }
                }
            }
        }
    }

    /// Skips whitespace including newlines, and comments. Returns whether a newline was seen.
    fn skip_blank(&mut self) -> bool {
        let mut newline = false;
        loop {
            self.skip_inline();
            if self.peek() == Some('\n') {
                newline = true;
                self.bump();
            } else {
                return newline;
            }
        }
    }

    /// Object body: fields until `close` (or the end of input for a braceless root).
    fn fields(&mut self, close: Option<char>) -> Result<UNode, ParseError> {
        let pos = self.pos();
        let mut fields: Vec<(String, UNode)> = Vec::new();
        loop {
            self.skip_blank();
            match (self.peek(), close) {
                (None, None) => break,
                (None, Some(c)) => return Err(self.error(format!("unexpected end of input: expected '{c}'"))),
                (Some(c), Some(close_char)) if c == close_char => {
                    self.bump();
                    break;
                }
                _ => {}
            }
            let key_pos = self.pos();
            let path = self.key()?;
            // A dotted key nests one object per segment after the first.
            if self.depth + path.len() - 1 > MAX_DEPTH {
                return Err(Self::error_at(
                    key_pos,
                    format!("objects and lists are nested more than {MAX_DEPTH} levels deep"),
                ));
            }
            self.skip_inline();
            let value = match self.peek() {
                Some(':') | Some('=') => {
                    self.bump();
                    self.skip_blank();
                    self.value()?
                }
                Some('{') => self.object()?,
                Some('+') if self.peek_at(1) == Some('=') => {
                    return Err(self.error("'+=' is not supported"));
                }
                Some(c) => {
                    return Err(
                        self.error(format!("expected ':' or '=' after key '{}' but found '{c}'", path.join(".")))
                    );
                }
                None => return Err(self.error(format!("unexpected end of input after key '{}'", path.join(".")))),
            };
            let mut node = value;
            for segment in path[1..].iter().rev() {
                node = UNode { pos: key_pos, kind: UKind::Object(vec![(segment.clone(), node)]) };
            }
            merge_field(&mut fields, path[0].clone(), node);
            // Separator: a comma (possibly on a later line), a newline, or the closing brace.
            let newline = self.skip_blank();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                _ if newline => {}
                None => {}
                Some(c) if Some(c) == close => {}
                Some(c) => {
                    let expected = match close {
                        Some(close) => format!("',' or '{close}'"),
                        None => "',' or a new line".to_string(),
                    };
                    return Err(self.error(format!("expected {expected} but found '{c}'")));
                }
            }
        }
        Ok(UNode { pos, kind: UKind::Object(fields) })
    }

    fn object(&mut self) -> Result<UNode, ParseError> {
        let pos = self.pos();
        self.enter()?;
        self.bump(); // {
        let mut node = self.fields(Some('}'))?;
        node.pos = pos;
        self.depth -= 1;
        Ok(node)
    }

    fn array(&mut self) -> Result<UNode, ParseError> {
        let node = self.array_items()?;
        self.depth -= 1;
        Ok(node)
    }

    fn array_items(&mut self) -> Result<UNode, ParseError> {
        let pos = self.pos();
        self.enter()?;
        self.bump(); // [
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => return Err(self.error("unexpected end of input: expected ']'")),
                Some(']') => {
                    self.bump();
                    break;
                }
                _ => {}
            }
            items.push(self.value()?);
            let newline = self.skip_blank();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                Some(_) if newline => {}
                None => return Err(self.error("unexpected end of input: expected ']'")),
                Some(c) => return Err(self.error(format!("expected ',' or ']' but found '{c}'"))),
            }
        }
        Ok(UNode { pos, kind: UKind::Array(items) })
    }

    /// A key path: quoted or unquoted segments separated by dots.
    fn key(&mut self) -> Result<Vec<String>, ParseError> {
        let mut path = Vec::new();
        loop {
            let segment_pos = self.pos();
            let segment = match self.peek() {
                Some('"') => {
                    let pos = self.pos();
                    if self.starts_with("\"\"\"") {
                        return Err(Self::error_at(pos, "triple-quoted strings cannot be keys"));
                    }
                    self.quoted()?
                }
                Some(c) if !ends_unquoted(c) && c != '.' => {
                    let mut s = String::new();
                    let mut chars = 0;
                    while let Some(c) = self.peek() {
                        if ends_unquoted(c) || c == '.' || self.starts_with("//") {
                            break;
                        }
                        chars += 1;
                        if chars > MAX_KEY_CHARS {
                            return Err(Self::error_at(segment_pos, key_too_long()));
                        }
                        s.push(c);
                        self.bump();
                    }
                    s
                }
                Some(c) => return Err(self.error(format!("expected a key but found '{c}'"))),
                None => return Err(self.error("unexpected end of input: expected a key")),
            };
            if segment.chars().count() > MAX_KEY_CHARS {
                return Err(Self::error_at(segment_pos, key_too_long()));
            }
            path.push(segment);
            if self.peek() == Some('.') {
                self.bump();
            } else {
                return Ok(path);
            }
        }
    }

    /// A JSON-style quoted string with escapes.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.pos();
        self.bump(); // "
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(Self::error_at(start, "unterminated string")),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let esc_pos = self.pos();
                    match self.bump() {
                        Some('"') => s.push('"'),
                        Some('\\') => s.push('\\'),
                        Some('/') => s.push('/'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some('n') => s.push('\n'),
                        Some('r') => s.push('\r'),
                        Some('t') => s.push('\t'),
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .map_err(|_| Self::error_at(esc_pos, format!("invalid unicode escape '\\u{hex}'")))?;
                            s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        Some(c) => return Err(Self::error_at(esc_pos, format!("invalid escape '\\{c}' in string"))),
                        None => return Err(Self::error_at(start, "unterminated string")),
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// `"""..."""`: raw text; extra quotes before the closing three belong to the string.
    fn triple_quoted(&mut self) -> Result<String, ParseError> {
        let start = self.pos();
        for _ in 0..3 {
            self.bump();
        }
        let mut s = String::new();
        loop {
            if self.starts_with("\"\"\"") {
                while self.peek_at(3) == Some('"') {
                    s.push('"');
                    self.bump();
                }
                for _ in 0..3 {
                    self.bump();
                }
                return Ok(s);
            }
            match self.bump() {
                Some(c) => s.push(c),
                None => return Err(Self::error_at(start, "unterminated triple-quoted string")),
            }
        }
    }

    /// A value: object, array, or a concatenation of simple pieces on one line.
    fn value(&mut self) -> Result<UNode, ParseError> {
        let pos = self.pos();
        match self.peek() {
            Some('{') => return self.object(),
            Some('[') => return self.array(),
            None => return Err(self.error("unexpected end of input: expected a value")),
            _ => {}
        }
        let mut pieces: Vec<Piece> = Vec::new();
        loop {
            match self.peek() {
                Some('"') if self.starts_with("\"\"\"") => {
                    let text = self.triple_quoted()?;
                    pieces.push(Piece::Text { text, quoted: true });
                }
                Some('"') => {
                    let text = self.quoted()?;
                    pieces.push(Piece::Text { text, quoted: true });
                }
                Some('$') if self.peek_at(1) == Some('{') => {
                    let subst_pos = self.pos();
                    self.bump();
                    self.bump();
                    let optional = self.peek() == Some('?');
                    if optional {
                        self.bump();
                    }
                    let mut path = String::new();
                    loop {
                        match self.bump() {
                            Some('}') => break,
                            Some('\n') | None => {
                                return Err(Self::error_at(subst_pos, "unterminated substitution '${'"));
                            }
                            Some(c) => path.push(c),
                        }
                    }
                    let path = path.trim().to_string();
                    if path.is_empty() {
                        return Err(Self::error_at(subst_pos, "empty substitution '${}'"));
                    }
                    pieces.push(Piece::Subst { path: path.trim_matches('"').to_string(), optional, pos: subst_pos });
                }
                Some(c) if c.is_whitespace() && c != '\n' => {
                    let mut ws = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_whitespace() && c != '\n' {
                            ws.push(c);
                            self.bump();
                        } else {
                            break;
                        }
                    }
                    pieces.push(Piece::Space(ws));
                }
                Some(c) if !ends_unquoted(c) || (c == '.') => {
                    if self.starts_with("//") {
                        break;
                    }
                    let mut text = String::new();
                    while let Some(c) = self.peek() {
                        if ends_unquoted(c) || self.starts_with("//") {
                            break;
                        }
                        text.push(c);
                        self.bump();
                    }
                    pieces.push(Piece::Text { text, quoted: false });
                }
                _ => break,
            }
        }
        while matches!(pieces.last(), Some(Piece::Space(_))) {
            pieces.pop();
        }
        if pieces.is_empty() {
            let found = self.peek().map(|c| format!("'{c}'")).unwrap_or_else(|| "end of input".into());
            return Err(self.error(format!("expected a value but found {found}")));
        }
        Ok(UNode { pos, kind: UKind::Value(pieces) })
    }
}

fn key_too_long() -> String {
    format!("key longer than {MAX_KEY_CHARS} characters")
}

/// Adds a field, merging objects with an earlier field of the same key (later wins otherwise).
fn merge_field(fields: &mut Vec<(String, UNode)>, key: String, node: UNode) {
    if let Some(existing) = fields.iter_mut().find(|(k, _)| *k == key) {
        match (&mut existing.1.kind, node.kind) {
            (UKind::Object(old), UKind::Object(new)) => {
                for (k, v) in new {
                    merge_field(old, k, v);
                }
            }
            (_, kind) => existing.1 = UNode { pos: node.pos, kind },
        }
    } else {
        fields.push((key, node));
    }
}
