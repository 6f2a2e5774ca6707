//! One enriched TSV line to its field spans and canonical JSON, or a decline.
//!
//! This is the whole of `toolkit.tsv.parse_line` followed by `toolkit.profiles.canonical.to_json`:
//! every check of the contract, then the canonical object in its key order, `_tsv` included (numbers
//! not spelled as Python's `repr`/`str` spells them, JSON fields not in orjson's compact spelling).
//! It declines every invalid line, so the Python parser decides, explains and writes the bad row.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::fields::{self, Kind, FIELDS, FIELD_COUNT};
use crate::iglu;
use crate::json::{Decline, Reader, Result};
use crate::loose::{self, Value};
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
    pub unstruct_uri: Option<String>,
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
pub fn write_escaped(out: &mut Vec<u8>, t: &[u8]) {
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

/// One entity: its canonical column and its data in orjson's spelling.
struct Entity<'a> {
    column: Rc<[u8]>,
    data: Cow<'a, [u8]>,
}

/// A decoded self-describing field.
struct Sdj<'a> {
    wrapper: Cow<'a, [u8]>,
    uris: Vec<Cow<'a, [u8]>>,
    entities: Vec<Entity<'a>>,
    /// the text is not the compact spelling canonical JSON rebuilds, so `_tsv` keeps it
    verbatim: bool,
}

const CONTEXTS_PREFIX: &[u8] = b"contexts";
const UNSTRUCT_PREFIX: &[u8] = b"unstruct_event";

/// How many URIs the column cache keeps: a stream names a few hundred schemas, and a flood of
/// distinct URIs must not grow memory (the same bound as `toolkit.sdj`'s cache).
const COLUMN_CACHE_LIMIT: usize = 16_384;

type Columns = HashMap<Box<[u8]>, Option<Rc<[u8]>>>;

thread_local! {
    /// URI -> the entity's column (`None` for a URI outside the grammar), for contexts and for unstruct_event
    static COLUMNS: RefCell<[Columns; 2]> = RefCell::new([HashMap::new(), HashMap::new()]);
}

/// The canonical column of an entity; declines a URI outside the Iglu grammar. Parsed once per URI.
fn column(prefix: &[u8], uri: &[u8]) -> Result<Rc<[u8]>> {
    COLUMNS.with(|caches| {
        let cache = &mut caches.borrow_mut()[usize::from(prefix == UNSTRUCT_PREFIX)];
        if let Some(known) = cache.get(uri) {
            return known.clone().ok_or(Decline);
        }
        let column = iglu::parse(uri).map(|key| {
            let mut column = Vec::with_capacity(prefix.len() + uri.len());
            iglu::write_column(&mut column, prefix, &key);
            Rc::<[u8]>::from(column)
        });
        if cache.len() >= COLUMN_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(uri.into(), column.clone());
        column.ok_or(Decline)
    })
}

/// A self-describing field (`toolkit.sdj.decode_contexts` / `decode_unstruct`): the compact spelling
/// read in place, any other spelling orjson reads rebuilt (and kept verbatim in `_tsv`).
fn self_describing(text: &[u8], unstruct: bool) -> Result<Sdj<'_>> {
    compact_self_describing(text, unstruct).or_else(|Decline| spelled_self_describing(text, unstruct))
}

/// Exactly `{"schema":"<uri>","data":[{"schema":"<uri>","data":<value>},...]}` (or one entity for the
/// unstructured event), every part in orjson's spelling: the data spans are their canonical JSON.
fn compact_self_describing<'a>(text: &'a [u8], unstruct: bool) -> Result<Sdj<'a>> {
    let prefix = if unstruct { UNSTRUCT_PREFIX } else { CONTEXTS_PREFIX };
    let mut r = Reader::new(text);
    r.expect(b"{\"schema\":")?;
    let (start, end) = r.string()?;
    column(prefix, &text[start..end])?; // the wrapper's URI must be valid too (its column is not used)
    let mut sdj =
        Sdj { wrapper: Cow::Borrowed(&text[start..end]), uris: Vec::new(), entities: Vec::new(), verbatim: false };
    r.expect(b",\"data\":")?;
    let entity = |r: &mut Reader<'a>, sdj: &mut Sdj<'a>| -> Result<()> {
        r.expect(b"{\"schema\":")?;
        let (start, end) = r.string()?;
        let column = column(prefix, &text[start..end])?;
        r.expect(b",\"data\":")?;
        let (data_start, data_end) = r.value(2)?;
        r.expect(b"}")?;
        sdj.uris.push(Cow::Borrowed(&text[start..end]));
        sdj.entities.push(Entity { column, data: Cow::Borrowed(&text[data_start..data_end]) });
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

/// The URI of a self-describing object that has both `schema` and `data`.
fn schema_of(value: &Value) -> Result<&[u8]> {
    value.get(b"data").ok_or(Decline)?;
    match value.get(b"schema") {
        Some(Value::Str(uri)) => Ok(uri),
        _ => Err(Decline),
    }
}

/// Any other spelling orjson reads: decoded, checked as `toolkit.sdj` checks it, entities rewritten.
fn spelled_self_describing(text: &[u8], unstruct: bool) -> Result<Sdj<'static>> {
    let doc = loose::document(text)?;
    let wrapper = schema_of(&doc)?;
    iglu::parse(wrapper).ok_or(Decline)?;
    let data = doc.get(b"data").ok_or(Decline)?;
    let items: Vec<&Value> = match (unstruct, data) {
        (true, _) => vec![data],
        (false, Value::Array(items)) => items.iter().collect(),
        (false, _) => return Err(Decline),
    };
    let prefix = if unstruct { UNSTRUCT_PREFIX } else { CONTEXTS_PREFIX };
    let mut sdj = Sdj { wrapper: Cow::Owned(wrapper.to_vec()), uris: Vec::new(), entities: Vec::new(), verbatim: true };
    for item in &items {
        let uri = schema_of(item)?;
        let mut data = Vec::new();
        item.get(b"data").ok_or(Decline)?.write(&mut data);
        sdj.entities.push(Entity { column: column(prefix, uri)?, data: Cow::Owned(data) });
        sdj.uris.push(Cow::Owned(uri.to_vec()));
    }
    let mut rewritten = Vec::with_capacity(text.len());
    doc.write(&mut rewritten);
    sdj.verbatim = !(rewritten == text && doc.is_plain() && items.iter().all(|item| item.is_plain()));
    Ok(sdj)
}

/// Entities grouped by column, columns in order of first appearance (pairwise for the usual handful).
fn by_column<'e>(entities: &[&'e Entity<'_>]) -> Vec<(&'e [u8], Vec<usize>)> {
    let mut groups: Vec<(&[u8], Vec<usize>)> = Vec::new();
    if entities.len() <= 32 {
        for (i, e) in entities.iter().enumerate() {
            match groups.iter_mut().find(|(column, _)| *column == &e.column[..]) {
                Some((_, members)) => members.push(i),
                None => groups.push((&e.column, vec![i])),
            }
        }
    } else {
        let mut index = std::collections::HashMap::new();
        for (i, e) in entities.iter().enumerate() {
            let at = *index.entry(&e.column[..]).or_insert_with(|| {
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

    let mut out = Vec::with_capacity(line.len() + line.len() / 4 + 256); // keys and ISO timestamps add a little
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

    let read = |position: usize, unstruct: bool| -> Result<Option<Sdj<'_>>> {
        let t = spans.get(line, position);
        if t.is_empty() {
            return Ok(None);
        }
        self_describing(t, unstruct).map(Some)
    };
    let contexts = read(fields::CONTEXTS, false)?;
    let unstruct = read(fields::UNSTRUCT_EVENT, true)?;
    let derived = read(fields::DERIVED_CONTEXTS, false)?;

    // entity columns: custom contexts then derived ones, one list per column in order of first appearance
    let entities: Vec<&Entity<'_>> = contexts.iter().chain(derived.iter()).flat_map(|s| s.entities.iter()).collect();
    for (column, members) in by_column(&entities) {
        w.key(column);
        w.out.push(b'[');
        for (k, &j) in members.iter().enumerate() {
            if k > 0 {
                w.out.push(b',');
            }
            w.out.extend_from_slice(&entities[j].data);
        }
        w.out.push(b']');
    }
    if let Some(u) = &unstruct {
        let e = &u.entities[0];
        w.key(&e.column);
        w.out.extend_from_slice(&e.data);
    }
    if contexts.is_some() || unstruct.is_some() || derived.is_some() {
        w.key(b"_schemas");
        let mut schemas = Key { out: w.out, first: true };
        for (name, sdj) in
            [(&b"contexts"[..], &contexts), (b"unstruct_event", &unstruct), (b"derived_contexts", &derived)]
        {
            if let Some(s) = sdj {
                schemas.key(name);
                schemas.out.push(b'[');
                for (k, uri) in std::iter::once(&s.wrapper).chain(s.uris.iter()).enumerate() {
                    if k > 0 {
                        schemas.out.push(b',');
                    }
                    schemas.out.push(b'"');
                    schemas.out.extend_from_slice(uri); // Iglu URIs hold nothing to escape
                    schemas.out.push(b'"');
                }
                schemas.out.push(b']');
            }
        }
        schemas.out.push(b'}');
    }
    // verbatim texts: numbers first, then JSON fields (what `canonical._rest` adds to `_respelled`)
    let verbatim: Vec<usize> =
        [(fields::CONTEXTS, &contexts), (fields::UNSTRUCT_EVENT, &unstruct), (fields::DERIVED_CONTEXTS, &derived)]
            .iter()
            .filter(|(_, sdj)| sdj.as_ref().is_some_and(|s| s.verbatim))
            .map(|(position, _)| *position)
            .collect();
    if !respelled.is_empty() || !verbatim.is_empty() {
        w.key(b"_tsv");
        let mut tsv = Key { out: w.out, first: true };
        for i in respelled.into_iter().chain(verbatim) {
            tsv.key(FIELDS[i].name.as_bytes());
            loose::write_string(tsv.out, spans.get(line, i));
        }
        tsv.out.push(b'}');
    }
    out.push(b'}');
    let unstruct_uri = unstruct.map(|u| String::from_utf8_lossy(&u.uris[0]).into_owned());
    Ok(Parsed { spans, canonical: out, unstruct_uri })
}
