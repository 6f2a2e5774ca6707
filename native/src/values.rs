//! Atomic field values: the exact contract of `toolkit/field_values.py`, and how canonical JSON
//! spells each value (Python's `repr`/`str` decide whether `_tsv` keeps the text; orjson's spelling
//! is what the JSON holds).
//!
//! A check that fails is a decline, never a verdict: the Python parser then decides and explains.

/// `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
pub fn is_uuid(t: &[u8]) -> bool {
    t.len() == 36
        && t.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An int32 as `toolkit.field_values.to_int` reads it (`[+-]?[0-9]+`, within 32 bits), and whether the
/// text is how Python's `str` spells the value (else canonical JSON keeps it in `_tsv`: `+3`, `007`, `-0`).
pub fn int32_value(t: &[u8]) -> Option<(i64, bool)> {
    let (negative, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant = &digits[digits.iter().take_while(|&&d| d == b'0').count()..];
    if significant.len() > 10 {
        return None;
    }
    let magnitude = significant.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
    let value = if negative { -magnitude } else { magnitude };
    if !(-(1i64 << 31)..(1i64 << 31)).contains(&value) {
        return None;
    }
    let canonical = t[0] != b'+' && significant.len() == digits.len() && !(negative && magnitude == 0) || t == b"0";
    Some((value, canonical))
}

/// `1` or `0`.
pub fn bool_value(t: &[u8]) -> Option<bool> {
    match t {
        b"1" => Some(true),
        b"0" => Some(false),
        _ => None,
    }
}

fn two_digits(t: &[u8], at: usize) -> Option<u32> {
    let (a, b) = (*t.get(at)?, *t.get(at + 1)?);
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

/// Proleptic Gregorian, like java.time: year 0 is a leap year, and so is -4.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 => {
            if year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0) {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `-?YYYY-MM-DD HH:MM:SS(.f{1,9})?` naming a day that exists: `Timestamp.from_tsv`.
pub fn is_tstamp(t: &[u8]) -> bool {
    let (negative, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if t.len() < 19 || t.len() == 20 || t.len() > 29 {
        return false;
    }
    if !t[..4].iter().all(u8::is_ascii_digit)
        || t[4] != b'-'
        || t[7] != b'-'
        || t[10] != b' '
        || t[13] != b':'
        || t[16] != b':'
    {
        return false;
    }
    let (Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (two_digits(t, 5), two_digits(t, 8), two_digits(t, 11), two_digits(t, 14), two_digits(t, 17))
    else {
        return false;
    };
    if t.len() > 19 && (t[19] != b'.' || !t[20..].iter().all(u8::is_ascii_digit)) {
        return false;
    }
    let mut year = t[..4].iter().fold(0i64, |y, d| y * 10 + i64::from(d - b'0'));
    if negative {
        year = -year;
    }
    (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 59
}

/// A finite double as its shortest round-trip digits: `0.d1d2... x 10^point`, digits without
/// leading or trailing zeros (`"0"` for zero).
struct Shortest {
    negative: bool,
    digits: Vec<u8>,
    point: i32,
}

fn shortest(value: f64) -> Shortest {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    let negative = text[0] == b'-';
    let text = if negative { &text[1..] } else { text };
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(e) => {
            let exp = std::str::from_utf8(&text[e + 1..]).ok().and_then(|s| s.parse::<i32>().ok()).unwrap_or(0);
            (&text[..e], exp)
        }
        None => (text, 0),
    };
    let mut digits = Vec::with_capacity(mantissa.len());
    let mut integer_digits = 0i32;
    let mut seen_point = false;
    for &b in mantissa {
        if b == b'.' {
            seen_point = true;
        } else {
            digits.push(b);
            if !seen_point {
                integer_digits += 1;
            }
        }
    }
    let leading = digits.iter().take_while(|&&d| d == b'0').count();
    if leading == digits.len() {
        return Shortest { negative, digits: vec![b'0'], point: 1 };
    }
    digits.drain(..leading);
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    Shortest { negative, digits, point: integer_digits - leading as i32 + exponent }
}

fn fixed(out: &mut Vec<u8>, s: &Shortest) {
    let digits = &s.digits;
    let point = s.point;
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend_from_slice(digits);
    } else if point as usize >= digits.len() {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(&digits[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[point as usize..]);
    }
}

fn mantissa(out: &mut Vec<u8>, s: &Shortest) {
    out.push(s.digits[0]);
    if s.digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&s.digits[1..]);
    }
}

/// Python's `repr(float)`: fixed notation for `1e-4 <= |x| < 1e16`, else `d.ddde+XX` / `d.ddde-XX`.
fn python_repr(out: &mut Vec<u8>, s: &Shortest) {
    spell_double(out, s, -4, true);
}

/// orjson's spelling of a double: fixed notation for `1e-5 <= |x| < 1e16`, else `d.ddde+X` / `d.ddde-X`.
fn orjson_repr(out: &mut Vec<u8>, s: &Shortest) {
    spell_double(out, s, -5, false);
}

/// The shortest digits in fixed notation when `lowest_point < point <= 16`, else in exponent
/// notation; Python pads a one-digit exponent to two, orjson does not.
fn spell_double(out: &mut Vec<u8>, s: &Shortest, lowest_point: i32, pad_exponent: bool) {
    if s.negative {
        out.push(b'-');
    }
    if s.digits == b"0" {
        out.extend_from_slice(b"0.0");
    } else if lowest_point < s.point && s.point <= 16 {
        fixed(out, s);
    } else {
        mantissa(out, s);
        let exponent = s.point - 1;
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        if pad_exponent && exponent.abs() < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(exponent.abs().to_string().as_bytes());
    }
}

/// `[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?`: the double grammar of the contract.
fn is_double_text(t: &[u8]) -> bool {
    let digits = |from: usize| t[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut at = usize::from(matches!(t.first(), Some(b'+' | b'-')));
    let whole = digits(at);
    at += whole;
    let mut fraction = 0;
    if t.get(at) == Some(&b'.') {
        fraction = digits(at + 1);
        at += 1 + fraction;
    }
    if whole == 0 && fraction == 0 {
        return false;
    }
    if matches!(t.get(at), Some(b'e' | b'E')) {
        at += 1;
        at += usize::from(matches!(t.get(at), Some(b'+' | b'-')));
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == t.len()
}

/// A finite double's shortest round-trip decimal (Python's `repr` digits) as `(mantissa, exponent)`,
/// the value being `mantissa * 10^exponent`, sign dropped (for `multipleOf`).
pub fn shortest_decimal(value: f64) -> (u128, i32) {
    let s = shortest(value);
    let mantissa = s.digits.iter().fold(0u128, |v, d| v * 10 + u128::from(d - b'0'));
    (mantissa, s.point - s.digits.len() as i32)
}

/// The value of a text, read as Python's `float` and Rust's parser both read it (correctly rounded).
fn parse_finite(t: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(t).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Whether `t` is already the fixed-notation spelling of its double, with at most `max_zeros` zeros
/// between the point and the first digit of a number below 1 (3 for Python's `repr`, 4 for orjson).
///
/// A decimal of at most 15 significant digits is the one such decimal naming its double (doubles are
/// denser than 15-digit decimals), so it is the shortest round-trip spelling; checking the text is
/// then enough, and the common `52.52` needs no digit generation at all.
fn plain_fixed(t: &[u8], max_zeros: usize) -> bool {
    let digits = t.strip_prefix(b"-").unwrap_or(t);
    let Some(point) = digits.iter().position(|&b| b == b'.') else { return false };
    let (whole, fraction) = (&digits[..point], &digits[point + 1..]);
    if whole.is_empty()
        || whole.len() > 16
        || fraction.is_empty()
        || !whole.iter().all(u8::is_ascii_digit)
        || !fraction.iter().all(u8::is_ascii_digit)
        || (whole.len() > 1 && whole[0] == b'0')
    {
        return false;
    }
    if fraction == b"0" {
        let significant = whole.len() - whole.iter().rev().take_while(|&&d| d == b'0').count();
        return significant <= 15; // "5.0", "100.0", "0.0"
    }
    if fraction.last() == Some(&b'0') {
        return false; // "2.50"
    }
    if whole == b"0" {
        let zeros = fraction.iter().take_while(|&&d| d == b'0').count();
        zeros <= max_zeros && fraction.len() - zeros <= 15
    } else {
        whole.len() + fraction.len() <= 15
    }
}

/// A double field as `toolkit.field_values.to_double` reads it (the contract's grammar, finite): write
/// its canonical JSON value and say whether the text is Python's `repr` of it (else `_tsv` keeps the
/// text); `None` (nothing written) when the text is not a valid double.
pub fn write_double_field(out: &mut Vec<u8>, t: &[u8]) -> Option<bool> {
    if plain_fixed(t, 3) {
        out.extend_from_slice(t); // Python's repr, and orjson spells it the same
        return Some(true);
    }
    if !is_double_text(t) {
        return None;
    }
    let value = parse_finite(t)?;
    let s = shortest(value);
    let mut repr = Vec::with_capacity(t.len() + 8);
    python_repr(&mut repr, &s);
    orjson_repr(out, &s);
    Some(repr == t)
}

/// A finite double as orjson writes it.
pub fn write_json_double(out: &mut Vec<u8>, value: f64) {
    orjson_repr(out, &shortest(value));
}

/// Whether a JSON number token is exactly what orjson writes for the value orjson reads from it.
pub fn is_canonical_json_number(t: &[u8]) -> bool {
    let is_integer = !t.iter().any(|&b| matches!(b, b'.' | b'e' | b'E'));
    if is_integer {
        let digits = t.strip_prefix(b"-").unwrap_or(t);
        if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if digits[0] == b'0' && (digits.len() > 1 || t.len() > 1) {
            return false; // leading zero (not JSON) or "-0" (orjson writes 0)
        }
        let value: i128 = digits.iter().fold(0i128, |v, d| v * 10 + i128::from(d - b'0'));
        // orjson reads integers from -2^63 to 2^64-1 as int; beyond, as a double
        return if t[0] == b'-' { value <= 1i128 << 63 } else { value <= u64::MAX as i128 };
    }
    if plain_fixed(t, 4) {
        return true;
    }
    let Some(value) = parse_finite(t) else { return false }; // the token follows JSON's grammar already
    let mut spelled = Vec::with_capacity(t.len());
    orjson_repr(&mut spelled, &shortest(value));
    spelled == t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(x: f64) -> String {
        let mut out = Vec::new();
        python_repr(&mut out, &shortest(x));
        String::from_utf8(out).unwrap()
    }

    fn orjson(x: f64) -> String {
        let mut out = Vec::new();
        orjson_repr(&mut out, &shortest(x));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_are_spelled_like_python_and_orjson() {
        for (x, p, o) in [
            (1e16, "1e+16", "1e+16"),
            (1e15, "1000000000000000.0", "1000000000000000.0"),
            (1e-5, "1e-05", "0.00001"),
            (1.234e-5, "1.234e-05", "0.00001234"),
            (1e-4, "0.0001", "0.0001"),
            (1e-7, "1e-07", "1e-7"),
            (5e-324, "5e-324", "5e-324"),
            (-0.0, "-0.0", "-0.0"),
            (100.0, "100.0", "100.0"),
            (1.5e300, "1.5e+300", "1.5e+300"),
            (1234567890123456.8, "1234567890123456.8", "1234567890123456.8"),
            (52.52, "52.52", "52.52"),
        ] {
            assert_eq!(python(x), p);
            assert_eq!(orjson(x), o);
        }
    }

    #[test]
    fn json_numbers() {
        for ok in ["0", "-1", "18446744073709551615", "-9223372036854775808", "1.5", "1e+16", "1e-7", "-0.0"] {
            assert!(is_canonical_json_number(ok.as_bytes()), "{ok}");
        }
        for no in ["-0", "01", "18446744073709551616", "-9223372036854775809", "1e16", "1.50", "1E5", "1e400", "1."] {
            assert!(!is_canonical_json_number(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn timestamps() {
        assert!(is_tstamp(b"2024-02-29 00:00:00"));
        assert!(is_tstamp(b"0000-02-29 23:59:59.123456789"));
        assert!(is_tstamp(b"-0004-02-29 23:59:59.1"));
        assert!(!is_tstamp(b"2023-02-29 00:00:00"));
        assert!(!is_tstamp(b"1900-02-29 00:00:00"));
        assert!(!is_tstamp(b"2024-01-01 00:00:00."));
        assert!(!is_tstamp(b"2024-01-01 00:00:00.1234567890"));
        assert!(!is_tstamp(b"2024-01-01T00:00:00"));
        assert!(!is_tstamp(b"2024-04-31 00:00:00"));
    }

    #[test]
    fn ints() {
        assert_eq!(int32_value(b"-2147483648"), Some((-2147483648, true)));
        assert_eq!(int32_value(b"2147483647"), Some((2147483647, true)));
        assert_eq!(int32_value(b"2147483648"), None);
        assert_eq!(int32_value(b"-0"), Some((0, false)));
        assert_eq!(int32_value(b"+1"), Some((1, false)));
        assert_eq!(int32_value(b"007"), Some((7, false)));
        assert_eq!(int32_value(b"0"), Some((0, true)));
        assert_eq!(int32_value(b"000000000000000000001"), Some((1, false)));
        assert_eq!(int32_value(b"1_0"), None);
        assert_eq!(int32_value(b"-"), None);
    }

    #[test]
    fn plain_fixed_agrees_with_digit_generation() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = f64::from_bits(seed);
            let y = (seed % 2_000_000) as f64 / 10f64.powi((seed % 9) as i32) - 1000.0;
            for value in [x, y] {
                if !value.is_finite() {
                    continue;
                }
                let s = shortest(value);
                for (max_zeros, spell) in [(3, python_repr as fn(&mut Vec<u8>, &Shortest)), (4, orjson_repr)] {
                    let mut text = Vec::new();
                    spell(&mut text, &s);
                    // every text plain_fixed accepts is the spelling of its own value
                    if plain_fixed(&text, max_zeros) {
                        let again: f64 = std::str::from_utf8(&text).unwrap().parse().unwrap();
                        assert_eq!(again.to_bits(), value.to_bits());
                    }
                    for variant in [format!("{value:.3}"), format!("{value:.1}"), format!("{value}")] {
                        if plain_fixed(variant.as_bytes(), max_zeros) {
                            let v: f64 = variant.parse().unwrap();
                            let mut canonical = Vec::new();
                            spell(&mut canonical, &shortest(v));
                            assert_eq!(canonical, variant.as_bytes(), "{variant}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn double_fields() {
        for (text, json, canonical) in [
            ("12.50", "12.5", false),
            ("1e5", "100000.0", false),
            ("-0", "-0.0", false),
            (".5", "0.5", false),
            ("5.", "5.0", false),
            ("1e-05", "0.00001", true),
            ("52.52", "52.52", true),
            ("1e-400", "0.0", false),
        ] {
            let mut out = Vec::new();
            assert_eq!(write_double_field(&mut out, text.as_bytes()), Some(canonical), "{text}");
            assert_eq!(out, json.as_bytes(), "{text}");
        }
        for bad in ["1e400", "nan", "inf", "1_0", " 1", "1e", ".", "+", "0x1", "1.5.2"] {
            assert_eq!(write_double_field(&mut Vec::new(), bad.as_bytes()), None, "{bad}");
        }
    }
}
