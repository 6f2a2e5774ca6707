//! One enriched TSV line to its field spans and canonical JSON, or a decline.
//!
//! This is the whole of `toolkit.tsv.parse_line` followed by `toolkit.profiles.canonical.to_json` for
//! the lines it is sure about: valid, and needing no `_tsv` (every number spelled as Python's
//! `repr`/`str` spells its value, every JSON field in orjson's compact spelling). For every other
//! line it declines and the Python parser decides, reports and, where needed, keeps `_tsv`.

use crate::fields::{self, Kind, FIELDS, FIELD_COUNT};
use crate::iglu;
use crate::json::{Decline, Reader, Result};
use crate::swar;
use crate::values;

/// Where each field sits in the line: field `i` is `line[starts[i]..ends[i]]`.
pub struct Spans {
    pub starts: [u32; FIELD_COUNT],
    pub ends: [u32; FIELD_COUNT],
}

impl Spans {
    pub fn get<'a>(&self, line: &'a [u8], i: usize) -> &'a [u8] {
        &line[self.starts[i] as usize..self.ends[i] as usize]
    }
}

pub struct Parsed {
    pub spans: Spans,
    pub canonical: Vec<u8>,
    /// the unstructured event's schema URI, when there is one
    pub unstruct_uri: Option<(u32, u32)>,
}

/// The line without its terminator: one trailing `\n` or `\r\n` is not data.
pub fn strip_terminator(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r', b'\n'] => rest,
        [rest @ .., b'\n'] => rest,
        _ => line,
    }
}

/// The fields' spans; declines a line with a NUL byte (no warehouse text column can store one) or
/// without exactly 131 fields.
fn split(line: &[u8]) -> Result<Spans> {
    if line.len() > u32::MAX as usize - 1 {
        return Err(Decline);
    }
    let mut spans = Spans { starts: [0; FIELD_COUNT], ends: [0; FIELD_COUNT] };
    let mut field = 0;
    swar::tabs(line, |at| {
        if field == FIELD_COUNT - 1 {
            return false; // more than 131 fields
        }
        spans.ends[field] = at as u32;
        field += 1;
        spans.starts[field] = at as u32 + 1;
        true
    })
    .ok_or(Decline)?;
    if field != FIELD_COUNT - 1 {
        return Err(Decline);
    }
    spans.ends[field] = line.len() as u32;
    Ok(spans)
}

/// Characters, as Python's `len` counts them: bytes that do not continue a UTF-8 sequence.
fn chars(t: &[u8]) -> usize {
    t.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// Fields of each kind in TSV order, in canonical JSON's key order: strings (and the UUID), numbers,
/// timestamps, booleans.
fn group(kinds: &[Kind]) -> Vec<usize> {
    (0..FIELD_COUNT).filter(|&i| kinds.contains(&FIELDS[i].kind)).collect()
}

struct Groups {
    strings: Vec<usize>,
    numbers: Vec<usize>,
    tstamps: Vec<usize>,
    bools: Vec<usize>,
}

fn groups() -> &'static Groups {
    static GROUPS: std::sync::OnceLock<Groups> = std::sync::OnceLock::new();
    GROUPS.get_or_init(|| Groups {
        strings: group(&[Kind::Str, Kind::Uuid]),
        numbers: group(&[Kind::Int, Kind::Double]),
        tstamps: group(&[Kind::Tstamp]),
        bools: group(&[Kind::Bool]),
    })
}

/// orjson's string escaping: `"`, `\`, and control characters; everything else raw UTF-8.
fn write_escaped(out: &mut Vec<u8>, t: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    while let Some(i) = swar::first_to_escape(t, run) {
        out.extend_from_slice(&t[run..i]);
        let b = t[i];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            _ => 0,
        };
        if short == 0 {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.push(b'\\');
            out.push(short);
        }
        run = i + 1;
    }
    out.extend_from_slice(&t[run..]);
}

struct Key<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Key<'_> {
    /// `{"name":` or `,"name":` (names are ASCII without escapes)
    fn key(&mut self, name: &[u8]) {
        let open: &[u8] = if self.first { b"{\"" } else { b",\"" };
        self.first = false;
        self.out.extend_from_slice(open);
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b"\":");
    }
}

/// One entity of a contexts field: its column and the span of its data.
struct Entity {
    column: Vec<u8>,
    data: (usize, usize),
}

/// A self-describing field read in orjson's compact spelling.
struct Sdj {
    wrapper: (usize, usize),
    uris: Vec<(usize, usize)>,
    entities: Vec<Entity>,
}

/// `{"schema":"<uri>","data":` then what `inner` reads, then `}` and the end of the field.
fn self_describing(text: &[u8], offset: usize, unstruct: bool) -> Result<Sdj> {
    let mut r = Reader::new(text);
    let mut sdj = Sdj { wrapper: (0, 0), uris: Vec::new(), entities: Vec::new() };
    r.expect(b"{\"schema\":")?;
    let wrapper = r.string()?;
    iglu::parse(&text[wrapper.0..wrapper.1]).ok_or(Decline)?;
    sdj.wrapper = (wrapper.0 + offset, wrapper.1 + offset);
    r.expect(b",\"data\":")?;
    let prefix: &[u8] = if unstruct { b"unstruct_event" } else { b"contexts" };
    let entity = |r: &mut Reader<'_>, sdj: &mut Sdj| -> Result<()> {
        r.expect(b"{\"schema\":")?;
        let uri = r.string()?;
        let key = iglu::parse(&text[uri.0..uri.1]).ok_or(Decline)?;
        let mut column = Vec::with_capacity(48);
        iglu::write_column(&mut column, prefix, &key);
        r.expect(b",\"data\":")?;
        let data = r.value(2)?;
        r.expect(b"}")?;
        sdj.uris.push((uri.0 + offset, uri.1 + offset));
        sdj.entities.push(Entity { column, data: (data.0 + offset, data.1 + offset) });
        Ok(())
    };
    if unstruct {
        entity(&mut r, &mut sdj)?;
    } else {
        r.expect(b"[")?;
        if r.peek() == Some(b']') {
            r.at += 1;
        } else {
            loop {
                entity(&mut r, &mut sdj)?;
                match r.peek() {
                    Some(b',') => r.at += 1,
                    Some(b']') => {
                        r.at += 1;
                        break;
                    }
                    _ => return Err(Decline),
                }
            }
        }
    }
    r.expect(b"}")?;
    if r.at_end() {
        Ok(sdj)
    } else {
        Err(Decline)
    }
}

/// Entities grouped by column, columns in order of first appearance (pairwise for the usual handful).
fn by_column<'e>(entities: &[&'e Entity]) -> Vec<(&'e [u8], Vec<usize>)> {
    let mut groups: Vec<(&[u8], Vec<usize>)> = Vec::new();
    if entities.len() <= 32 {
        for (i, e) in entities.iter().enumerate() {
            match groups.iter_mut().find(|(column, _)| *column == e.column.as_slice()) {
                Some((_, members)) => members.push(i),
                None => groups.push((&e.column, vec![i])),
            }
        }
    } else {
        let mut index = std::collections::HashMap::new();
        for (i, e) in entities.iter().enumerate() {
            let at = *index.entry(e.column.as_slice()).or_insert_with(|| {
                groups.push((&e.column, Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(i);
        }
    }
    groups
}

/// Check and type every field; write canonical JSON. `line` has no terminator and is valid UTF-8.
pub fn parse(line: &[u8]) -> Result<Parsed> {
    let spans = split(line)?;
    for (i, f) in FIELDS.iter().enumerate() {
        let t = spans.get(line, i);
        if t.is_empty() {
            if f.required {
                return Err(Decline);
            }
            continue;
        }
        let ok = match f.kind {
            Kind::Str => f.max_length == 0 || t.len() <= f.max_length || chars(t) <= f.max_length,
            Kind::Uuid => values::is_uuid(t),
            Kind::Int => values::int32_value(t).is_some(),
            Kind::Bool => values::bool_value(t).is_some(),
            Kind::Tstamp => values::is_tstamp(t),
            Kind::Double | Kind::Contexts | Kind::Unstruct | Kind::DerivedContexts => true, // below
        };
        if !ok {
            return Err(Decline);
        }
    }

    let mut out = Vec::with_capacity(line.len() + 256);
    let mut w = Key { out: &mut out, first: true };
    let g = groups();
    for &i in &g.strings {
        let t = spans.get(line, i);
        if !t.is_empty() {
            w.key(FIELDS[i].name.as_bytes());
            w.out.push(b'"');
            write_escaped(w.out, t);
            w.out.push(b'"');
        }
    }
    // numbers whose text is not the default spelling of their value keep it in `_tsv` ("12.50", "+3")
    let mut respelled: Vec<usize> = Vec::new();
    for &i in &g.numbers {
        let t = spans.get(line, i);
        if !t.is_empty() {
            w.key(FIELDS[i].name.as_bytes());
            let canonical = if FIELDS[i].kind == Kind::Int {
                let (value, canonical) = values::int32_value(t).ok_or(Decline)?;
                w.out.extend_from_slice(value.to_string().as_bytes());
                canonical
            } else {
                values::write_double_field(w.out, t).ok_or(Decline)?
            };
            if !canonical {
                respelled.push(i);
            }
        }
    }
    for &i in &g.tstamps {
        let t = spans.get(line, i);
        if !t.is_empty() {
            w.key(FIELDS[i].name.as_bytes());
            w.out.push(b'"');
            let space = t.iter().position(|&b| b == b' ').ok_or(Decline)?;
            w.out.extend_from_slice(&t[..space]);
            w.out.push(b'T');
            w.out.extend_from_slice(&t[space + 1..]);
            w.out.extend_from_slice(b"Z\"");
        }
    }
    for &i in &g.bools {
        let t = spans.get(line, i);
        if !t.is_empty() {
            w.key(FIELDS[i].name.as_bytes());
            w.out.extend_from_slice(if t == b"1" { b"true" } else { b"false" });
        }
    }
    let (lat, lon) = (spans.get(line, fields::GEO_LATITUDE), spans.get(line, fields::GEO_LONGITUDE));
    if !lat.is_empty() && !lon.is_empty() {
        w.key(b"geo_location");
        w.out.push(b'"');
        w.out.extend_from_slice(lat);
        w.out.push(b',');
        w.out.extend_from_slice(lon);
        w.out.push(b'"');
    }

    let read = |position: usize, unstruct: bool| -> Result<Option<Sdj>> {
        let t = spans.get(line, position);
        if t.is_empty() {
            return Ok(None);
        }
        self_describing(t, spans.starts[position] as usize, unstruct).map(Some)
    };
    let contexts = read(fields::CONTEXTS, false)?;
    let unstruct = read(fields::UNSTRUCT_EVENT, true)?;
    let derived = read(fields::DERIVED_CONTEXTS, false)?;

    // entity columns: custom contexts then derived ones, one list per column in order of first appearance
    let entities: Vec<&Entity> = contexts.iter().chain(derived.iter()).flat_map(|s| s.entities.iter()).collect();
    for (column, members) in by_column(&entities) {
        w.key(column);
        w.out.push(b'[');
        for (k, &j) in members.iter().enumerate() {
            if k > 0 {
                w.out.push(b',');
            }
            w.out.extend_from_slice(&line[entities[j].data.0..entities[j].data.1]);
        }
        w.out.push(b']');
    }
    if let Some(u) = &unstruct {
        let e = &u.entities[0];
        w.key(&e.column);
        w.out.extend_from_slice(&line[e.data.0..e.data.1]);
    }
    if contexts.is_some() || unstruct.is_some() || derived.is_some() {
        w.key(b"_schemas");
        let mut schemas = Key { out: w.out, first: true };
        for (name, sdj) in [(&b"contexts"[..], &contexts), (b"unstruct_event", &unstruct), (b"derived_contexts", &derived)]
        {
            if let Some(s) = sdj {
                schemas.key(name);
                schemas.out.push(b'[');
                for (k, uri) in std::iter::once(&s.wrapper).chain(s.uris.iter()).enumerate() {
                    if k > 0 {
                        schemas.out.push(b',');
                    }
                    schemas.out.push(b'"');
                    schemas.out.extend_from_slice(&line[uri.0..uri.1]);
                    schemas.out.push(b'"');
                }
                schemas.out.push(b']');
            }
        }
        schemas.out.push(b'}');
    }
    if !respelled.is_empty() {
        w.key(b"_tsv");
        let mut tsv = Key { out: w.out, first: true };
        for i in respelled {
            tsv.key(FIELDS[i].name.as_bytes());
            tsv.out.push(b'"');
            tsv.out.extend_from_slice(spans.get(line, i)); // digits, signs, '.', 'e': nothing to escape
            tsv.out.push(b'"');
        }
        tsv.out.push(b'}');
    }
    out.push(b'}');
    let unstruct_uri = unstruct.map(|u| (u.uris[0].0 as u32, u.uris[0].1 as u32));
    Ok(Parsed { spans, canonical: out, unstruct_uri })
}

