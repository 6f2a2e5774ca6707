//! JSON in any spelling orjson reads, rewritten in the spelling orjson writes.
//!
//! The self-describing fields Snowplow's loaders write are compact and go through `json::Reader`
//! without being rebuilt. Other spellings (spaces, `\/`, `\u00e9`, keys in another order, duplicate
//! keys) are valid too; canonical JSON then keeps the field's text in `_tsv` and writes each entity's
//! data as `orjson.dumps(orjson.loads(...))` would. This module builds that value, with orjson's
//! reading rules: RFC 8259 with whitespace around tokens, surrogate pairs joined and lone surrogates
//! refused, integers from -2^63 to 2^64-1 kept exact and others read as doubles, infinity refused,
//! and for duplicate keys the last value at the first key's place (a Python dict). Anything else
//! declines.

use crate::json::{Decline, Result};
use crate::values::write_json_double;

const MAX_DEPTH: usize = 128;

pub enum Value {
    Null,
    Bool(bool),
    /// already in orjson's spelling
    Number(Vec<u8>),
    /// UTF-8
    Str(Vec<u8>),
    Array(Vec<Value>),
    Object(Vec<(Vec<u8>, Value)>),
}

impl Value {
    /// The value of `key` in an object.
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Exactly the keys `schema` then `data`: what canonical JSON rebuilds without `_tsv`.
    pub fn is_plain(&self) -> bool {
        matches!(self, Value::Object(m) if m.len() == 2 && m[0].0 == b"schema")
    }

    /// orjson's compact spelling.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(text) => out.extend_from_slice(text),
            Value::Str(text) => write_string(out, text),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Value::Object(members) => {
                out.push(b'{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, key);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

pub fn write_string(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    crate::codec::write_escaped(out, text);
    out.push(b'"');
}

/// A whole document: one value with optional whitespace around it.
pub fn document(text: &[u8]) -> Result<Value> {
    let mut p = Parser { text, at: 0 };
    p.whitespace();
    let value = p.value(0)?;
    p.whitespace();
    if p.at == text.len() {
        Ok(value)
    } else {
        Err(Decline)
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(Decline)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        match self.peek().ok_or(Decline)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => Ok(Value::Str(self.string()?)),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Decline),
        }
    }

    fn hex4(&self, at: usize) -> Result<u32> {
        let digits = self.text.get(at..at + 4).ok_or(Decline)?;
        digits.iter().try_fold(0u32, |v, &b| Ok(v * 16 + (b as char).to_digit(16).ok_or(Decline)?))
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let rest = &self.text[self.at..];
            let stop = memchr::memchr2(b'"', b'\\', rest).ok_or(Decline)?;
            if rest[..stop].iter().any(|&b| b < 0x20) {
                return Err(Decline); // raw control characters are not JSON
            }
            out.extend_from_slice(&rest[..stop]);
            self.at += stop;
            if self.text[self.at] == b'"' {
                self.at += 1;
                return Ok(out);
            }
            let escaped = *self.text.get(self.at + 1).ok_or(Decline)?;
            self.at += 2;
            let byte = match escaped {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let mut code = self.hex4(self.at)?;
                    self.at += 4;
                    if (0xdc00..0xe000).contains(&code) {
                        return Err(Decline); // a low surrogate first
                    }
                    if (0xd800..0xdc00).contains(&code) {
                        if self.text.get(self.at..self.at + 2) != Some(b"\\u") {
                            return Err(Decline); // no low surrogate follows
                        }
                        let low = self.hex4(self.at + 2)?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(Decline);
                        }
                        self.at += 6;
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    }
                    let c = char::from_u32(code).ok_or(Decline)?;
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                    continue;
                }
                _ => return Err(Decline),
            };
            out.push(byte);
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let whole = self.digits();
        if whole == 0 || (whole > 1 && self.text[self.at - whole] == b'0') {
            return Err(Decline); // no digit, or a leading zero
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(Decline);
            }
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(Decline);
            }
            integer = false;
        }
        let token = &self.text[start..self.at];
        if integer && whole <= 20 {
            let magnitude = token[usize::from(negative)..].iter().fold(0i128, |v, d| v * 10 + i128::from(d - b'0'));
            if (negative && magnitude <= 1i128 << 63) || (!negative && magnitude <= i128::from(u64::MAX)) {
                let value = if negative { -magnitude } else { magnitude };
                return Ok(Value::Number(value.to_string().into_bytes()));
            }
        }
        // a fraction, an exponent, or an integer beyond 64 bits: a double, as orjson reads it
        let value: f64 = std::str::from_utf8(token).map_err(|_| Decline)?.parse().map_err(|_| Decline)?;
        if !value.is_finite() {
            return Err(Decline); // orjson refuses it: "number is infinity when parsed as double"
        }
        let mut spelled = Vec::with_capacity(24);
        write_json_double(&mut spelled, value);
        Ok(Value::Number(spelled))
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Decline);
        }
        self.at += 1;
        let mut items = Vec::new();
        self.whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.whitespace();
            items.push(self.value(depth)?);
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(Decline),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Decline);
        }
        self.at += 1;
        let mut members: Vec<(Vec<u8>, Value)> = Vec::new();
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.whitespace();
            if self.peek() != Some(b'"') {
                return Err(Decline);
            }
            let key = self.string()?;
            self.whitespace();
            if self.peek() != Some(b':') {
                return Err(Decline);
            }
            self.at += 1;
            self.whitespace();
            let value = self.value(depth)?;
            // a Python dict: a repeated key keeps its first place and takes the last value
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(Decline),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> Option<String> {
        let value = document(text.as_bytes()).ok()?;
        let mut out = Vec::new();
        value.write(&mut out);
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn rewrites_as_orjson_does() {
        for (text, want) in [
            (r#" { "a" : [ 1 , 2.50 , "\/\u00e9\ud83d\ude00" ] } "#, r#"{"a":[1,2.5,"/é😀"]}"#),
            (r#"{"a":1,"b":2,"a":3}"#, r#"{"a":3,"b":2}"#),
            (
                r#"{"a":-0,"b":1E5,"c":18446744073709551616,"d":-0e0}"#,
                r#"{"a":0,"b":100000.0,"c":1.8446744073709552e+19,"d":-0.0}"#,
            ),
            (r#""\u0000\u001F""#, r#""\u0000\u001f""#),
        ] {
            assert_eq!(canonical(text).as_deref(), Some(want), "{text}");
        }
        for bad in [
            r#""\ud800""#,
            r#""\udc00\ud800""#,
            "1e309",
            "[1,]",
            "01",
            "NaN",
            "\u{feff}{}",
            "{'a':1}",
            "1.",
            r#"{"a" 1}"#,
            r#""\x""#,
            "\"\x01\"",
        ] {
            assert!(canonical(bad).is_none(), "{bad}");
        }
    }
}
