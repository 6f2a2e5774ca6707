//! `sptk_native`: the enriched-event codec's fast path, for `toolkit.native_codec`.
//!
//! `parse(line)` takes one enriched TSV line (`bytes` or `str`) and returns an `Event` when the line
//! is valid and its canonical JSON is certain to be what `toolkit.profiles.canonical.to_json` writes;
//! otherwise `None`, a *decline*: the Python parser then handles the line, including every error and
//! bad row. The module never judges a line invalid; only the Python parser does.

use pyo3::exceptions::{PyIndexError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyTuple};

mod codec;
mod fields;
mod formats;
mod iglu;
mod json;
mod loose;
mod swar;
mod validate;
mod values;

use codec::Spans;
use fields::{FIELDS, FIELD_COUNT};

/// A valid enriched line: the line as given, where each field sits, and its canonical JSON.
///
/// It holds the caller's `str` or `bytes` object rather than a copy, and builds Python strings only
/// for what is asked for.
#[pyclass(frozen, module = "sptk_native", name = "Event")]
struct Event {
    source: Py<PyAny>,
    is_str: bool,
    /// bytes of the line without its terminator
    length: usize,
    /// the line had no terminator, so a `str` source is the line itself
    whole: bool,
    spans: Spans,
    canonical: Py<PyBytes>,
    unstruct_uri: Option<String>,
}

impl Event {
    fn with_line<R>(&self, py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
        let source = self.source.bind(py);
        if self.is_str {
            let text = source.cast::<PyString>().expect("parse keeps a str").to_str().expect("checked at parse");
            f(&text.as_bytes()[..self.length])
        } else {
            f(&source.cast::<PyBytes>().expect("parse keeps bytes").as_bytes()[..self.length])
        }
    }

    fn text<'py>(&self, py: Python<'py>, i: usize) -> Bound<'py, PyString> {
        self.with_line(py, |line| PyString::new(py, as_str(self.spans.get(line, i))))
    }

    fn optional<'py>(&self, py: Python<'py>, i: usize) -> Option<Bound<'py, PyString>> {
        (self.spans.starts[i] != self.spans.ends[i]).then(|| self.text(py, i))
    }
}

/// A field or line of a line `parse` checked as UTF-8 (tabs are ASCII, so every field is too).
fn as_str(bytes: &[u8]) -> &str {
    // SAFETY: `parse` accepted the line only after `std::str::from_utf8` (bytes) or from a `str`'s own UTF-8;
    // both objects are immutable, and fields are cut at tabs, which never fall inside a UTF-8 sequence.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

#[pymethods]
impl Event {
    /// The canonical JSON (`toolkit.profiles.canonical.to_json`), compact UTF-8.
    #[getter]
    fn canonical_json(&self, py: Python<'_>) -> Py<PyBytes> {
        self.canonical.clone_ref(py)
    }

    /// The line without its terminator, as a `str`.
    #[getter]
    fn line<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        if self.is_str && self.whole {
            return self.source.bind(py).clone();
        }
        self.with_line(py, |line| PyString::new(py, as_str(line)).into_any())
    }

    /// The 131 field texts.
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.with_line(py, |line| {
            PyTuple::new(py, (0..FIELD_COUNT).map(|i| PyString::new(py, as_str(self.spans.get(line, i)))))
        })
    }

    /// One field's text by position (0-130) or by warehouse or SDK name; `""` when empty.
    fn field<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        let position = if let Ok(name) = key.cast::<PyString>() {
            let name = name.to_str()?;
            fields::position(name).ok_or_else(|| {
                PyKeyError::new_err(format!("unknown enriched-event field {name:?}; see toolkit/fields.py"))
            })?
        } else if key.cast::<PyInt>().is_ok() {
            let index: i64 = key.extract()?;
            usize::try_from(index).ok().filter(|&i| i < FIELD_COUNT).ok_or_else(|| {
                PyIndexError::new_err(format!("field position {index} is outside 0-{}", FIELD_COUNT - 1))
            })?
        } else {
            return Err(PyTypeError::new_err("a field is named by its position (int) or its name (str)"));
        };
        Ok(self.text(py, position))
    }

    #[getter]
    fn event_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.text(py, fields::EVENT_ID)
    }

    /// As the TSV spells it (`2026-11-01 12:00:00.123`).
    #[getter]
    fn collector_tstamp<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.text(py, fields::COLLECTOR_TSTAMP)
    }

    #[getter]
    fn domain_userid<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::DOMAIN_USERID)
    }

    #[getter]
    fn network_userid<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::NETWORK_USERID)
    }

    #[getter]
    fn event_fingerprint<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::EVENT_FINGERPRINT)
    }

    /// The raw text of the `contexts` field, or `None` when empty.
    #[getter]
    fn contexts<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::CONTEXTS)
    }

    #[getter]
    fn unstruct_event<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::UNSTRUCT_EVENT)
    }

    #[getter]
    fn derived_contexts<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.optional(py, fields::DERIVED_CONTEXTS)
    }

    /// The event's own schema URI: the unstructured event's, else
    /// `iglu:<event_vendor>/<event_name>/<event_format>/<event_version>` when all four are set.
    #[getter]
    fn event_schema_uri<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.with_line(py, |line| {
            if let Some(uri) = &self.unstruct_uri {
                return Some(PyString::new(py, uri));
            }
            let parts: Vec<&str> = (0..4).map(|k| as_str(self.spans.get(line, fields::EVENT_VENDOR + k))).collect();
            parts.iter().all(|p| !p.is_empty()).then(|| PyString::new(py, &format!("iglu:{}", parts.join("/"))))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        self.with_line(py, |line| {
            format!(
                "sptk_native.Event(event_id={:?}, canonical_json=<{} bytes>)",
                as_str(self.spans.get(line, fields::EVENT_ID)),
                self.canonical.bind(py).as_bytes().len()
            )
        })
    }
}

/// Parse one enriched TSV line (`bytes` or `str`; one trailing `\n` or `\r\n` is ignored).
///
/// Returns an `Event` when the line is valid and its canonical JSON certain, else `None` (a decline:
/// let the Python parser decide). Raises only `TypeError`, for an argument that is neither.
#[pyfunction]
fn parse(py: Python<'_>, line: &Bound<'_, PyAny>) -> PyResult<Option<Event>> {
    let (data, is_str) = if let Ok(bytes) = line.cast::<PyBytes>() {
        let data = bytes.as_bytes();
        if std::str::from_utf8(data).is_err() {
            return Ok(None);
        }
        (data, false)
    } else if let Ok(text) = line.cast::<PyString>() {
        match text.to_str() {
            Ok(text) => (text.as_bytes(), true),
            Err(_) => return Ok(None), // lone surrogates: not Unicode, the Python parser explains
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "sptk_native.parse takes bytes or str, not {}",
            line.get_type().name()?
        )));
    };
    let whole = data.len();
    let data = codec::strip_terminator(data);
    // a panic would be a bug here; the line is then declined, so the Python reference still decides it
    match std::panic::catch_unwind(|| codec::parse(data)).unwrap_or(Err(json::Decline)) {
        Ok(parsed) => Ok(Some(Event {
            source: line.clone().unbind(),
            is_str,
            length: data.len(),
            whole: data.len() == whole,
            spans: parsed.spans,
            canonical: PyBytes::new(py, &parsed.canonical).unbind(),
            unstruct_uri: parsed.unstruct_uri,
        })),
        Err(json::Decline) => Ok(None),
    }
}

#[pymodule]
fn sptk_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_class::<Event>()?;
    m.add_function(wrap_pyfunction!(validate::compile_schema, m)?)?;
    m.add_class::<validate::Schema>()?;
    m.add_class::<validate::Leases>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // (name, kind, max_length or None, required) per field: toolkit.native_codec compares it with toolkit/fields.py
    let table = FIELDS
        .iter()
        .map(|f| (f.name, f.kind.python_name(), (f.max_length > 0).then_some(f.max_length), f.required))
        .collect::<Vec<_>>();
    m.add("FIELDS", PyTuple::new(py, table)?)?;
    m.add("FIELD_COUNT", FIELD_COUNT)?;
    Ok(())
}
