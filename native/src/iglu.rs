//! Iglu schema URIs (`iglu:vendor/name/format/M-R-A`) and the canonical column an entity lands in.
//!
//! Mirrors `iglu_registry/schema_key.py` (strictly: Python's `$` also matches before a trailing newline,
//! which this grammar declines rather than copies) and `toolkit/sdj.py`'s `shredded_column`.

fn vendor_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// `0|[1-9][0-9]*`, or `[1-9][0-9]*` when `zero` is false
fn version_part(t: &[u8], zero: bool) -> bool {
    match t {
        [] => false,
        [b'0'] => zero,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    }
}

/// The parts of a valid URI: vendor, name, model (the digits).
pub struct Key<'a> {
    pub vendor: &'a [u8],
    pub name: &'a [u8],
    pub model: &'a [u8],
}

pub fn parse(uri: &[u8]) -> Option<Key<'_>> {
    let rest = uri.strip_prefix(b"iglu:")?;
    let mut parts = rest.split(|&b| b == b'/');
    let (vendor, name, format, version) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || vendor.is_empty()
        || !vendor.iter().all(|&b| vendor_byte(b))
        || name.is_empty()
        || !name.iter().all(|&b| name_byte(b))
        || format.is_empty()
        || !format.iter().all(|&b| name_byte(b))
    {
        return None;
    }
    let mut numbers = version.split(|&b| b == b'-');
    let (model, revision, addition) = (numbers.next()?, numbers.next()?, numbers.next()?);
    if numbers.next().is_some()
        || !version_part(model, false)
        || !version_part(revision, true)
        || !version_part(addition, true)
    {
        return None;
    }
    Some(Key { vendor, name, model })
}

/// `<prefix>_<vendor>_<name>_<model>` as `toolkit.sdj.shredded_column` spells it.
pub fn write_column(out: &mut Vec<u8>, prefix: &[u8], key: &Key<'_>) {
    out.extend_from_slice(prefix);
    out.push(b'_');
    out.extend(key.vendor.iter().map(|&b| if b == b'.' || b == b'-' { b'_' } else { b.to_ascii_lowercase() }));
    out.push(b'_');
    // `_` between a character that is neither a capital nor `_` and the capital after it, pairs taken
    // left to right without overlap (Python's re.sub, Java's replaceAll)
    let name: Vec<u8> = key.name.iter().map(|&b| if b == b'.' || b == b'-' { b'_' } else { b }).collect();
    let mut i = 0;
    while i < name.len() {
        let c = name[i];
        if i + 1 < name.len() && !(c.is_ascii_uppercase() || c == b'_') && name[i + 1].is_ascii_uppercase() {
            out.push(c.to_ascii_lowercase());
            out.push(b'_');
            out.push(name[i + 1].to_ascii_lowercase());
            i += 2;
        } else {
            out.push(c.to_ascii_lowercase());
            i += 1;
        }
    }
    out.push(b'_');
    out.extend_from_slice(key.model);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(uri: &str) -> Option<String> {
        let key = parse(uri.as_bytes())?;
        let mut out = Vec::new();
        write_column(&mut out, b"contexts", &key);
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn columns_follow_the_shredder() {
        assert_eq!(
            column("iglu:org.w3/PerformanceTiming/jsonschema/1-0-0").unwrap(),
            "contexts_org_w3_performance_timing_1"
        );
        assert_eq!(
            column("iglu:com.acme-corp/HTTPHeader/jsonschema/10-2-3").unwrap(),
            "contexts_com_acme_corp_httpheader_10"
        );
        assert_eq!(column("iglu:io.Example_Vendor/aBC/jsonschema/2-0-0").unwrap(), "contexts_io_example_vendor_a_bc_2");
        assert_eq!(column("iglu:a/my-event/jsonschema/1-0-0").unwrap(), "contexts_a_my_event_1");
    }

    #[test]
    fn invalid_uris_are_refused() {
        for bad in [
            "iglu:a/b/c/0-0-0",
            "iglu:a/b/c/1-01-0",
            "iglu:a/b/c/1-0",
            "iglu:a/b/c/d/1-0-0",
            "iglu:a//c/1-0-0",
            "iglu:a/b.c/d/1-0-0",
            "iglu:a/b/c/1-0-0\n",
            "a/b/c/1-0-0",
            "iglu:a/b/c/1-0-0-0",
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
