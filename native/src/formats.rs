//! The `format` checkers of `iglu_registry/formats.py`, character for character.
//!
//! The native validator must give the reference engine's verdict, so each function here is the
//! Python one ported exactly: its regular expression read by hand (`\s` is Python's `str.isspace`,
//! `\d` in the ASCII patterns is `0-9`, `\Z` is the very end) and `ipaddress`'s parsing rules.
//! `tests/unit/iglu_registry/test_native_validator.py` compares the two on tricky strings.

/// Python's `str.isspace` (what `\s` matches in a `str` pattern): Unicode White_Space plus U+001C-U+001F.
pub fn py_isspace(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{20}' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn two(b: &[u8]) -> u32 {
    u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0')
}

/// `((?!0000)\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])` at the start of `b`, with the calendar check
/// `is_date`/`is_date_time` make for days 29-31.
fn date_part(b: &[u8]) -> bool {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !digits(&b[..4]) || !digits(&b[5..7]) || !digits(&b[8..10]) {
        return false;
    }
    let year: u32 = b[..4].iter().fold(0, |v, d| v * 10 + u32::from(d - b'0'));
    let (month, day) = (two(&b[5..7]), two(&b[8..10]));
    if year == 0 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let last = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= last
}

pub fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 10 && date_part(b)
}

/// `^DATE[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)\Z`
pub fn is_date_time(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() < 20 || !date_part(b) || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let clock = |t: &[u8], seconds: bool| {
        t.len() >= 5
            && t[2] == b':'
            && digits(&t[..2])
            && digits(&t[3..5])
            && two(&t[..2]) <= 23
            && two(&t[3..5]) <= if seconds { 60 } else { 59 }
    };
    let t = &b[11..];
    // hh:mm, then :ss (60 allowed only as seconds)
    if !clock(t, false) || t.len() < 8 || t[5] != b':' || !digits(&t[6..8]) || two(&t[6..8]) > 60 {
        return false;
    }
    let mut rest = &t[8..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', zone @ ..] => zone.len() == 5 && clock(zone, false),
        _ => false,
    }
}

/// `^[^@\s]+@[^@\s]+\.[^@\s]+\Z`: one `@`, no whitespace, and a dot with something on both sides after it.
pub fn is_email(value: &str) -> bool {
    if value.chars().any(py_isspace) {
        return false;
    }
    let Some((local, domain)) = value.split_once('@') else { return false };
    if local.is_empty() || domain.contains('@') {
        return false;
    }
    // `[^@\s]+\.[^@\s]+` on the domain: some dot with at least one character before and after it
    domain.char_indices().any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Labels of `^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z` after stripping every trailing dot, at most 253 characters.
pub fn is_hostname(value: &str) -> bool {
    let length = value.chars().count();
    if length == 0 || length > 253 {
        return false;
    }
    value.trim_end_matches('.').split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `ipaddress.IPv4Address(value)` succeeds.
pub fn is_ipv4(value: &str) -> bool {
    !value.contains('/') && ipv4_octets(value)
}

fn ipv4_octets(value: &str) -> bool {
    let octets: Vec<&str> = value.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            let b = o.as_bytes();
            !b.is_empty()
                && digits(b)
                && b.len() <= 3
                && (b == b"0" || b[0] != b'0')
                && b.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0')) <= 255
        })
}

/// `ipaddress.IPv6Address(value)` succeeds (scope id, embedded IPv4, `::` rules as Python has them).
pub fn is_ipv6(value: &str) -> bool {
    if value.contains('/') {
        return false;
    }
    let address = match value.split_once('%') {
        None => value,
        Some((address, scope)) => {
            if scope.is_empty() || scope.contains('%') {
                return false;
            }
            address
        }
    };
    if address.is_empty() {
        return false;
    }
    let mut parts: Vec<&str> = address.split(':').collect();
    if parts.len() < 3 {
        return false;
    }
    let last = parts[parts.len() - 1];
    if last.contains('.') {
        if !ipv4_octets(last) {
            return false;
        }
        parts.pop();
        parts.push("0");
        parts.push("0"); // two valid hextets stand for the IPv4 address
    }
    if parts.len() > 9 {
        return false;
    }
    let mut skip: Option<usize> = None;
    for (i, part) in parts.iter().enumerate().take(parts.len() - 1).skip(1) {
        if part.is_empty() {
            if skip.is_some() {
                return false;
            }
            skip = Some(i);
        }
    }
    let n = parts.len();
    let (hi, lo) = match skip {
        Some(i) => {
            let (mut hi, mut lo) = (i, n - i - 1);
            if parts[0].is_empty() {
                hi -= 1;
                if hi > 0 {
                    return false;
                }
            }
            if parts[n - 1].is_empty() {
                lo -= 1;
                if lo > 0 {
                    return false;
                }
            }
            if hi + lo >= 8 {
                return false;
            }
            (hi, lo)
        }
        None => {
            if n != 8 || parts[0].is_empty() || parts[n - 1].is_empty() {
                return false;
            }
            (n, 0)
        }
    };
    let hextet = |h: &str| !h.is_empty() && h.len() <= 4 && h.bytes().all(|c| c.is_ascii_hexdigit());
    parts[..hi].iter().all(|h| hextet(h)) && parts[n - lo..].iter().all(|h| hextet(h))
}

/// `^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*\Z`
pub fn is_uri(value: &str) -> bool {
    let b = value.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphabetic() {
        return false;
    }
    let Some(colon) = b.iter().position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))) else {
        return false;
    };
    b[colon] == b':' && !value[colon + 1..].chars().any(py_isspace)
}

/// `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z`
pub fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// A format checker.
pub type Check = fn(&str) -> bool;

/// Our checkers by format name (`iglu_registry.formats.CHECKS`).
pub const CHECKS: [(&str, Check); 8] = [
    ("date-time", is_date_time),
    ("date", is_date),
    ("email", is_email),
    ("hostname", is_hostname),
    ("ipv4", is_ipv4),
    ("ipv6", is_ipv6),
    ("uri", is_uri),
    ("uuid", is_uuid),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert!(is_date_time("2024-02-29T23:59:60.5+23:59"));
        assert!(!is_date_time("2023-02-29T00:00:00Z"));
        assert!(!is_date_time("2024-05-01T12:00:00Z\n"));
        assert!(!is_date_time("2024-05-01T24:00:00Z"));
        assert!(
            is_email("a@b.c")
                && !is_email("wjr@w")
                && !is_email("a@.c")
                && !is_email("a@b.")
                && !is_email("a\u{1c}@b.c")
        );
        assert!(is_email("a@b..") && is_email("a@.b.c"));
        assert!(is_hostname("example.com..") && !is_hostname("-bad") && !is_hostname("."));
        assert!(is_ipv4("1.2.3.4") && !is_ipv4("01.2.3.4") && !is_ipv4("300.1.1.1"));
        assert!(
            is_ipv6("::1") && is_ipv6("::") && is_ipv6("1::") && is_ipv6("::ffff:1.2.3.4") && is_ipv6("fe80::1%eth0")
        );
        assert!(
            !is_ipv6(":1") && !is_ipv6("1:2:3:4:5:6:7:8:9") && !is_ipv6("1::2::3") && !is_ipv6("1:2:3:4:5:6:7::8:9")
        );
        assert!(is_ipv6("1:2:3:4:5:6:7::") && is_ipv6("::2:3:4:5:6:7:8") && !is_ipv6("1:2:3:4:5:6:7:8::"));
        assert!(is_uri("http://x") && !is_uri("x y:") && !is_uri("1x:"));
        assert!(is_uuid("0b9f1a2e-1234-4abc-8def-0123456789ab"));
    }
}
