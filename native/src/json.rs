//! Strict JSON that is already in orjson's spelling.
//!
//! Canonical JSON rebuilds a self-describing field from its parts only when
//! `orjson.dumps(orjson.loads(text)) == text` (`SelfDescribingField.compact`); otherwise it keeps the
//! text in `_tsv`. So this reader accepts exactly the texts orjson writes: no whitespace, keys unique,
//! strings escaped only where orjson escapes (`\"`, `\\`, `\b \t \n \f \r`, `\u00XX` for the other
//! control characters), numbers as orjson spells them. Anything else is a decline (`Err`): the text
//! may well be valid JSON, and the Python path then decides. Because the reader is never more lenient
//! than orjson, every value it accepts is one orjson reads, and its text is its canonical JSON.

use crate::values::is_canonical_json_number;

/// Not something this reader vouches for; the Python path decides.
#[derive(Debug)]
pub struct Decline;

pub type Result<T> = std::result::Result<T, Decline>;

/// Deeper than this, decline: orjson refuses to write more than 254 levels, and no event nests so deep.
const MAX_DEPTH: usize = 128;
/// Objects with more keys than this check for duplicates with a hash set instead of pairwise.
const PAIRWISE_KEYS: usize = 24;

pub struct Reader<'a> {
    pub text: &'a [u8],
    pub at: usize,
    /// key spans of the objects being read, innermost last (reused, so reading allocates rarely)
    keys: Vec<(usize, usize)>,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        Reader { text, at: 0, keys: Vec::new() }
    }

    pub fn expect(&mut self, literal: &[u8]) -> Result<()> {
        if self.text[self.at..].starts_with(literal) {
            self.at += literal.len();
            Ok(())
        } else {
            Err(Decline)
        }
    }

    pub fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    pub fn at_end(&self) -> bool {
        self.at == self.text.len()
    }

    /// A string in orjson's spelling; returns the span of its content (between the quotes).
    pub fn string(&mut self) -> Result<(usize, usize)> {
        self.expect(b"\"")?;
        let start = self.at;
        let text = self.text;
        loop {
            let rest = &text[self.at..];
            let Some(stop) = memchr::memchr2(b'"', b'\\', rest) else { return Err(Decline) };
            if rest[..stop].iter().any(|&b| b < 0x20) {
                return Err(Decline); // a raw control character is not JSON
            }
            self.at += stop;
            if text[self.at] == b'"' {
                self.at += 1;
                return Ok((start, self.at - 1));
            }
            match text.get(self.at + 1) {
                Some(b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r') => self.at += 2,
                Some(b'u') => {
                    // orjson writes \u00XX (lower-case hex) only for control characters without a short escape
                    let hex = text.get(self.at + 2..self.at + 6).ok_or(Decline)?;
                    if &hex[..2] != b"00" {
                        return Err(Decline);
                    }
                    let digit = |b: u8| match b {
                        b'0'..=b'9' => Ok(b - b'0'),
                        b'a'..=b'f' => Ok(b - b'a' + 10),
                        _ => Err(Decline),
                    };
                    let value = digit(hex[2])? * 16 + digit(hex[3])?;
                    if value >= 0x20 || matches!(value, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                        return Err(Decline);
                    }
                    self.at += 6;
                }
                _ => return Err(Decline), // `\/` and every other escape orjson never writes
            }
        }
    }

    /// Any value in orjson's spelling; returns its span.
    pub fn value(&mut self, depth: usize) -> Result<(usize, usize)> {
        let start = self.at;
        match self.peek().ok_or(Decline)? {
            b'{' => self.object(depth + 1)?,
            b'[' => self.array(depth + 1)?,
            b'"' => {
                self.string()?;
            }
            b't' => self.expect(b"true")?,
            b'f' => self.expect(b"false")?,
            b'n' => self.expect(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(Decline),
        }
        Ok((start, self.at))
    }

    fn number(&mut self) -> Result<()> {
        let start = self.at;
        let text = self.text;
        let mut at = self.at;
        if text.get(at) == Some(&b'-') {
            at += 1;
        }
        let digits = |mut at: usize| {
            while text.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        let end = digits(at);
        if end == at {
            return Err(Decline);
        }
        at = end;
        if text.get(at) == Some(&b'.') {
            let end = digits(at + 1);
            if end == at + 1 {
                return Err(Decline);
            }
            at = end;
        }
        if matches!(text.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(text.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let end = digits(at);
            if end == at {
                return Err(Decline);
            }
            at = end;
        }
        if !is_canonical_json_number(&text[start..at]) {
            return Err(Decline);
        }
        self.at = at;
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Decline);
        }
        self.expect(b"[")?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Decline),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Decline);
        }
        self.expect(b"{")?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        let first_key = self.keys.len();
        let result = self.members(depth, first_key);
        self.keys.truncate(first_key);
        result
    }

    fn members(&mut self, depth: usize, first_key: usize) -> Result<()> {
        loop {
            let key = self.string()?;
            self.expect(b":")?;
            self.keys.push(key);
            self.value(depth)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return self.unique_keys(first_key);
                }
                _ => return Err(Decline),
            }
        }
    }

    /// orjson keeps the last of duplicate keys and writes each key once: a duplicate is not canonical.
    /// In orjson's spelling equal keys have equal bytes, so comparing spans is comparing keys.
    fn unique_keys(&self, first_key: usize) -> Result<()> {
        let spans = &self.keys[first_key..];
        let text = self.text;
        let key = |&(s, e): &(usize, usize)| &text[s..e];
        if spans.len() <= PAIRWISE_KEYS {
            for (i, a) in spans.iter().enumerate() {
                if spans[i + 1..].iter().any(|b| key(a) == key(b)) {
                    return Err(Decline);
                }
            }
        } else {
            let mut seen = std::collections::HashSet::with_capacity(spans.len());
            if !spans.iter().all(|span| seen.insert(key(span))) {
                return Err(Decline);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> bool {
        let mut r = Reader::new(text.as_bytes());
        r.value(0).is_ok() && r.at_end()
    }

    #[test]
    fn accepts_orjson_spelling_only() {
        for ok in [r#"{"a":[1,2.5,"x",true,false,null,{}]}"#, r#""\u001f\n\"\\""#, "\"é😀\u{2028}\x7f\"", "[]", "{}"]
        {
            assert!(canonical(ok), "{ok}");
        }
        for no in [
            r#"{"a": 1}"#,
            r#"{"a":1,"a":2}"#,
            r#""\/""#,
            r#""\u00e9""#,
            r#""\u001F""#,
            r#""\u0009""#,
            "\"\x01\"",
            "[1,]",
            "01",
            "1.50",
            "tru",
            r#"{"a":1}x"#,
        ] {
            assert!(!canonical(no), "{no}");
        }
    }

    #[test]
    fn declines_deep_nesting() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(!canonical(&deep));
        let shallow = "[".repeat(100) + &"]".repeat(100);
        assert!(canonical(&shallow));
    }
}
