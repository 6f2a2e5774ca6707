//! Eight bytes at a time: where the tabs are, and where a string needs escaping.
//!
//! Enriched lines are mostly short ASCII fields, where a byte-at-a-time loop costs more than the rest
//! of the parse; these masks are exact (no false positives), so every set bit is a real match.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// High bit set in each byte of `x` that is zero.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// High bit set in each byte of `x` equal to `b`.
#[inline]
fn equal_bytes(x: u64, b: u8) -> u64 {
    zero_bytes(x ^ (LO * u64::from(b)))
}

/// High bit set in each byte of `x` below 0x20 (a control character).
#[inline]
fn control_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LO * (0x80 - 0x20))) | x) & HI
}

#[inline]
fn word(t: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(t[at..at + 8].try_into().expect("eight bytes"))
}

/// Call `found` with the position of every tab; `false` when the text holds a NUL byte.
pub fn tabs(t: &[u8], mut found: impl FnMut(usize) -> bool) -> Option<()> {
    let mut at = 0;
    while at + 8 <= t.len() {
        let x = word(t, at);
        if zero_bytes(x) != 0 {
            return None;
        }
        let mut mask = equal_bytes(x, b'\t');
        while mask != 0 {
            if !found(at + (mask.trailing_zeros() / 8) as usize) {
                return None;
            }
            mask &= mask - 1;
        }
        at += 8;
    }
    for (i, &b) in t[at..].iter().enumerate() {
        if b == 0 {
            return None;
        }
        if b == b'\t' && !found(at + i) {
            return None;
        }
    }
    Some(())
}

/// The first position at or after `from` holding `"`, `\` or a control character.
pub fn first_to_escape(t: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + 8 <= t.len() {
        let x = word(t, at);
        let mask = equal_bytes(x, b'"') | equal_bytes(x, b'\\') | control_bytes(x);
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at < t.len() {
        // the last few bytes, padded with a letter that needs no escaping
        let mut tail = [b'A'; 8];
        tail[..t.len() - at].copy_from_slice(&t[at..]);
        let x = u64::from_le_bytes(tail);
        let mask = equal_bytes(x, b'"') | equal_bytes(x, b'\\') | control_bytes(x);
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_a_byte_loop_on_every_byte_value() {
        for b in 0..=255u8 {
            for position in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[position] = b;
                let x = u64::from_le_bytes(bytes);
                let expect = |hit: bool| if hit { 0x80u64 << (8 * position) } else { 0 };
                assert_eq!(zero_bytes(x), expect(b == 0), "{b}");
                assert_eq!(equal_bytes(x, b'\t'), expect(b == b'\t'), "{b}");
                assert_eq!(control_bytes(x), expect(b < 0x20), "{b}");
            }
        }
    }

    #[test]
    fn tabs_and_escapes() {
        let text = b"a\tbb\t\t0123456789\tx\"y\\z\x01";
        let mut found = Vec::new();
        assert!(tabs(text, |i| {
            found.push(i);
            true
        })
        .is_some());
        assert_eq!(found, vec![1, 4, 5, 16]);
        assert!(tabs(b"0123456789\0", |_| true).is_none());
        assert_eq!(first_to_escape(text, 0), Some(1));
        assert_eq!(first_to_escape(text, 17), Some(18));
        assert_eq!(first_to_escape(b"0123456789abcdef", 0), None);
        assert_eq!(first_to_escape("ééééé\u{7f}".as_bytes(), 0), None);
    }
}
