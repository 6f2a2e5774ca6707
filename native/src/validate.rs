//! Iglu validation in Rust: the `jsonschema` crate (the one behind jsonschema-rs, same version and
//! number semantics) with the toolkit's rules, run on the JSON the codec already checked.
//!
//! It answers only "valid?"; the reference engine (Python's jsonschema) still decides and reports
//! everything this says no to, so a stricter verdict here only costs time, never a wrong bad row.
//! The rules that differ from the crate's defaults are the toolkit's own:
//! * draft 4 for the schema and for every referenced document;
//! * `format`: exactly `iglu_registry.formats` (`crate::formats`); every other format the crate knows
//!   passes, unknown ones are ignored;
//! * `multipleOf`: exact decimal divisibility of the numbers' shortest decimal forms
//!   (`iglu_registry.keywords.is_multiple_of`);
//! * `pattern`: Python's `re.search`. Regexes are translated in Python (`iglu_registry.native_engine`),
//!   which hands over a translation for each one it can reproduce exactly; a schema with any other
//!   pattern does not compile here, and Python keeps validating it.
//!
//! `$ref`s are never fetched from here: Python passes every referenced document in, by URI.

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::{Keyword, Retrieve, Uri, ValidationError, Validator};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use serde_json::{Map, Value};

use crate::fields;
use crate::formats::CHECKS;
use crate::values::shortest_decimal;
use crate::Event;

/// Formats the crate checks on its own for some draft; the reference has no checker for them, so they pass.
const CRATE_FORMATS: [&str; 19] = [
    "date",
    "date-time",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "uuid",
];

/// A number as `mantissa * 10^exponent` (sign dropped: divisibility ignores it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decimal {
    mantissa: u128,
    exponent: i32,
}

impl Decimal {
    /// The value Python sees: an integer exactly, a double as its shortest round-trip decimal (`repr`).
    pub fn of(number: &serde_json::Number) -> Option<Decimal> {
        if let Some(u) = number.as_u64() {
            return Some(Decimal { mantissa: u128::from(u), exponent: 0 });
        }
        if let Some(i) = number.as_i64() {
            return Some(Decimal { mantissa: u128::from(i.unsigned_abs()), exponent: 0 });
        }
        let value = number.as_f64().filter(|v| v.is_finite())?;
        let (digits, exponent) = shortest_decimal(value);
        Some(Decimal { mantissa: digits, exponent })
    }
}

/// Whether `x / by` is an integer, exactly (what `is_multiple_of` computes with `Decimal`/`Fraction`).
pub fn is_multiple_of(x: Decimal, by: Decimal) -> bool {
    if by.mantissa == 0 {
        return false; // the meta-schema forbids it; Python's arithmetic fails and says "not a multiple"
    }
    if x.mantissa == 0 {
        return true;
    }
    let b = by.mantissa;
    if x.exponent >= by.exponent {
        // b | a * 10^k
        let mut k = x.exponent - by.exponent;
        let mut remainder = x.mantissa % b;
        while k > 0 && remainder != 0 {
            remainder = remainder * 10 % b; // b < 2^64 (at most 20 digits), so no overflow
            k -= 1;
        }
        remainder == 0
    } else {
        // b * 10^k | a, with a below 10^20
        let k = (by.exponent - x.exponent) as u32;
        match 10u128.checked_pow(k).and_then(|p| p.checked_mul(b)) {
            Some(m) => x.mantissa.is_multiple_of(m),
            None => false,
        }
    }
}

/// A custom keyword: a check on the instance (values of other types pass), and the message for a failure
/// (never shown: the reference engine writes every report).
struct Custom<C> {
    check: C,
    message: &'static str,
}

impl<'i, C: Fn(&Value) -> bool + Send + Sync> Keyword<'i> for Custom<C> {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom(self.message))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        (self.check)(instance)
    }
}

fn multiple_of(by: Decimal) -> impl Fn(&Value) -> bool {
    move |instance| match instance {
        Value::Number(n) => Decimal::of(n).is_some_and(|x| is_multiple_of(x, by)),
        _ => true,
    }
}

fn pattern(regex: regex::Regex) -> impl Fn(&Value) -> bool {
    move |instance| match instance {
        Value::String(s) => regex.is_match(s),
        _ => true,
    }
}

/// Referenced documents by URI (without its fragment), as Python fetched them through the resolver.
struct Documents(HashMap<String, Value>);

impl Retrieve for Documents {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str().trim_end_matches('#');
        self.0.get(key).cloned().ok_or_else(|| format!("$ref {key} was not provided by the resolver").into())
    }
}

fn parse_json(what: &str, text: &str) -> PyResult<Value> {
    serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("{what} is not JSON: {e}")))
}

/// A compiled schema; `is_valid` is safe to call from any thread.
/// A float at or beyond 2^63 anywhere in `value`. serde_json keeps such a number as an `f64`, and the crate's
/// draft-4 `integer` check takes an integral one there for an integer (`9.3e18` passes `"type": "integer"`),
/// where Python's jsonschema says a float is never a draft-4 integer. Data holding one is declined, so the
/// reference decides it; such numbers are rare in events and the cost is one walk of the parsed value.
fn has_wide_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => !n.is_i64() && !n.is_u64() && n.as_f64().is_some_and(|f| f.abs() >= 9.223_372_036_854_775_808e18),
        Value::Array(items) => items.iter().any(has_wide_float),
        Value::Object(members) => members.values().any(has_wide_float),
        _ => false,
    }
}

#[pyclass(frozen, module = "sptk_native", name = "Schema")]
pub struct Schema {
    validator: Arc<Validator>,
}

#[pymethods]
impl Schema {
    /// Whether a JSON text (as the codec accepts it: orjson's spelling) is valid under this schema; `None` when
    /// the text holds a number this engine declines (see `has_wide_float`).
    fn is_valid(&self, text: &Bound<'_, PyAny>) -> PyResult<Option<bool>> {
        let bytes: &[u8] = if let Ok(b) = text.cast::<PyBytes>() {
            b.as_bytes()
        } else if let Ok(s) = text.cast::<PyString>() {
            s.to_str()?.as_bytes()
        } else {
            return Err(PyTypeError::new_err("Schema.is_valid takes a JSON text (bytes or str)"));
        };
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| PyValueError::new_err(format!("data is not JSON: {e}")))?;
        if has_wide_float(&value) {
            return Ok(None);
        }
        Ok(Some(self.validator.is_valid(&value)))
    }
}

/// Compile `schema` (JSON text) as draft 4 with the toolkit's rules.
///
/// `documents` maps each remote `$ref` URI (without fragment) to its JSON text; `patterns` maps each
/// `pattern` value to the Rust regex that matches what Python's `re.search` matches. Raises
/// `ValueError` saying why when the schema cannot be compiled here.
#[pyfunction]
pub fn compile_schema(
    schema: &str,
    documents: HashMap<String, String>,
    patterns: HashMap<String, String>,
) -> PyResult<Schema> {
    let schema = parse_json("the schema", schema)?;
    let mut docs = HashMap::with_capacity(documents.len());
    for (uri, text) in documents {
        let value = parse_json(&format!("$ref {uri}"), &text)?;
        docs.insert(uri.trim_end_matches('#').to_string(), value);
    }
    let mut compiled = HashMap::with_capacity(patterns.len());
    for (python, rust) in patterns {
        let regex = regex::Regex::new(&rust)
            .map_err(|e| PyValueError::new_err(format!("pattern {python:?} as {rust:?}: {e}")))?;
        compiled.insert(python, regex);
    }
    let compiled = Arc::new(compiled);
    let mut options = jsonschema::draft4::options()
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .with_retriever(Documents(docs))
        .with_keyword("multipleOf", |_: &Map<String, Value>, value: &Value, _| {
            let by = value.as_number().and_then(Decimal::of);
            match by {
                Some(by) => {
                    Ok(Box::new(Custom { check: multiple_of(by), message: "is not a multiple (exact decimal)" })
                        as Box<dyn for<'i> Keyword<'i>>)
                }
                None => Err(ValidationError::custom("multipleOf must be a finite number")),
            }
        })
        .with_keyword("pattern", move |_: &Map<String, Value>, value: &Value, _| {
            match value.as_str().and_then(|p| compiled.get(p)) {
                Some(regex) => {
                    Ok(Box::new(Custom { check: pattern(regex.clone()), message: "does not match the pattern" })
                        as Box<dyn for<'i> Keyword<'i>>)
                }
                None => Err(ValidationError::custom(format!("no exact translation for pattern {value}"))),
            }
        });
    for name in CRATE_FORMATS {
        options = options.with_format(name, |_: &str| true);
    }
    for (name, check) in CHECKS {
        options = options.with_format(name, check);
    }
    let validator = options
        .build(&schema)
        .map_err(|e| PyValueError::new_err(format!("the jsonschema crate cannot compile it: {e}")))?;
    Ok(Schema { validator: Arc::new(validator) })
}

/// Compiled schemas by the URI an event spells, each with the resolver-clock time it may be used until.
///
/// The native side of `toolkit.pipeline.validate.EventValidator`'s leases: owned by one validator,
/// filled as the reference path confirms schemas, emptied when the resolver's generation changes.
#[pyclass(module = "sptk_native", name = "Leases")]
#[derive(Default)]
pub struct Leases {
    by_uri: HashMap<String, (Arc<Validator>, f64)>,
}

const SELF_DESCRIBING: [(usize, bool); 3] =
    [(fields::CONTEXTS, false), (fields::UNSTRUCT_EVENT, true), (fields::DERIVED_CONTEXTS, false)];

impl Leases {
    fn valid(&self, uri: &Value, data: &Value, now: f64) -> bool {
        let Some(uri) = uri.as_str() else { return false };
        match self.by_uri.get(uri) {
            // declined data (has_wide_float) is "not valid here": the caller falls back to the other engines
            Some((validator, until)) => now < *until && !has_wide_float(data) && validator.is_valid(data),
            None => false,
        }
    }

    /// How many self-describing JSONs `line` holds when every one is valid under a lease, else `None`.
    fn check_line(&self, line: &[u8], spans: &crate::codec::Spans, now: f64) -> Option<usize> {
        let mut checked = 0;
        for (field, unstruct) in SELF_DESCRIBING {
            let text = spans.get(line, field);
            if text.is_empty() {
                continue;
            }
            let doc: Value = serde_json::from_slice(text).ok()?;
            let (schema, data) = (doc.get("schema")?, doc.get("data")?);
            if !self.valid(schema, data, now) {
                return None;
            }
            if unstruct {
                if !self.valid(data.get("schema")?, data.get("data")?, now) {
                    return None;
                }
                checked += 2;
            } else {
                let entities = data.as_array()?;
                for entity in entities {
                    if !self.valid(entity.get("schema")?, entity.get("data")?, now) {
                        return None;
                    }
                }
                checked += 1 + entities.len();
            }
        }
        Some(checked)
    }
}

#[pymethods]
impl Leases {
    #[new]
    fn new() -> Self {
        Leases::default()
    }

    fn put(&mut self, uri: String, schema: &Schema, until: f64) {
        self.by_uri.insert(uri, (schema.validator.clone(), until));
    }

    fn clear(&mut self) {
        self.by_uri.clear();
    }

    fn __len__(&self) -> usize {
        self.by_uri.len()
    }

    /// The number of self-describing JSONs (wrappers and entities) of `event` when each is valid
    /// under a lease that is current at `now`; `None` when any is not (the caller asks the
    /// reference path, which also explains).
    fn check(&self, py: Python<'_>, event: &Event, now: f64) -> Option<usize> {
        event.with_line(py, |line| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.check_line(line, &event.spans, now)))
                .unwrap_or(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::of(&serde_json::from_str::<serde_json::Number>(text).unwrap()).unwrap()
    }

    #[test]
    fn multiples_in_decimal() {
        assert!(is_multiple_of(d("19.99"), d("0.01")));
        assert!(!is_multiple_of(d("19.995"), d("0.01")));
        assert!(is_multiple_of(d("1e300"), d("0.01")));
        assert!(is_multiple_of(d("0.30000000000000004"), d("0.00000000000000001")));
        assert!(!is_multiple_of(d("0.30000000000000004"), d("0.1")));
        assert!(is_multiple_of(d("-12"), d("2")) && !is_multiple_of(d("-11"), d("2")));
        assert!(is_multiple_of(d("18446744073709551615"), d("5")));
        assert!(!is_multiple_of(d("0.01"), d("1e300")));
        assert!(is_multiple_of(d("0"), d("0.3")) && is_multiple_of(d("-0.0"), d("0.3")));
        assert!(is_multiple_of(d("3e-320"), d("1e-320")));
    }
}
