//! Just enough JSON for the bench: writing the results file, and reading single fields out of
//! ringside's NDJSON lines without a full parser (xtask has no JSON dependency).

use std::fmt::{self, Write as _};

/// A JSON value to write. Objects keep their keys in insertion order.
#[derive(Clone, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// An object from `(key, value)` pairs.
pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
    Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

impl From<f64> for Json {
    fn from(value: f64) -> Self {
        Json::Num(value)
    }
}
impl From<u64> for Json {
    fn from(value: u64) -> Self {
        i64::try_from(value).map_or(Json::Num(value as f64), Json::Int)
    }
}
impl From<i64> for Json {
    fn from(value: i64) -> Self {
        Json::Int(value)
    }
}
impl From<usize> for Json {
    fn from(value: usize) -> Self {
        Json::from(value as u64)
    }
}
impl From<bool> for Json {
    fn from(value: bool) -> Self {
        Json::Bool(value)
    }
}
impl From<&str> for Json {
    fn from(value: &str) -> Self {
        Json::Str(value.to_owned())
    }
}
impl From<String> for Json {
    fn from(value: String) -> Self {
        Json::Str(value)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Self {
        value.map_or(Json::Null, Into::into)
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(values: Vec<T>) -> Self {
        Json::Arr(values.into_iter().map(Into::into).collect())
    }
}

impl Json {
    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(x) if x.is_finite() => {
                let _ = write!(out, "{x}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Str(s) => quote(s, out),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                // Arrays of scalars stay on one line; they are samples, and long.
                let flat = items
                    .iter()
                    .all(|item| !matches!(item, Json::Arr(_) | Json::Obj(_)));
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if flat {
                        if i > 0 {
                            out.push(' ');
                        }
                    } else {
                        newline(out, indent + 1);
                    }
                    item.write(out, indent + 1);
                }
                if !flat {
                    newline(out, indent);
                }
                out.push(']');
            }
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent + 1);
                    quote(key, out);
                    out.push_str(": ");
                    value.write(out, indent + 1);
                }
                newline(out, indent);
                out.push('}');
            }
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, 0);
        f.write_str(&out)
    }
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The raw text of the first `"key":"..."` string in an NDJSON line, escapes left as they are
/// (enough for the paths, types and times the bench compares). ringside writes the event's own
/// fields before its stacks, so the first match is the event's.
pub fn str_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":\"");
    let start = line.find(&pattern)? + pattern.len();
    let rest = &line[start..];
    let mut escaped = false;
    for (at, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(&rest[..at]),
            _ => escaped = false,
        }
    }
    None
}

/// The first `"key":<integer>` in an NDJSON line (or `"key": <integer>` in pretty JSON).
pub fn int_field(line: &str, key: &str) -> Option<i64> {
    let pattern = format!("\"{key}\":");
    let start = line.find(&pattern)? + pattern.len();
    let rest = line[start..].trim_start();
    let end = rest
        .char_indices()
        .find(|&(at, c)| !(c.is_ascii_digit() || (at == 0 && c == '-')))
        .map_or(rest.len(), |(at, _)| at);
    rest[..end].parse().ok()
}

/// The first `"key": <number>` in a JSON text (integer, decimal or exponent); None for `null`,
/// a string or a missing key.
pub fn num_field(text: &str, key: &str) -> Option<f64> {
    let pattern = format!("\"{key}\":");
    let start = text.find(&pattern)? + pattern.len();
    let rest = text[start..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The text of the object that is the value of the first `"key":`, braces included (nested
/// objects counted; strings are not looked into, which the stats files the bench reads allow).
pub fn object_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":");
    let start = text.find(&pattern)? + pattern.len();
    let rest = text[start..].trim_start();
    if !rest.starts_with('{') {
        return None;
    }
    let mut depth = 0_usize;
    for (at, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=at]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `"name": <integer>` members of a flat object's text, e.g. `{"open": 12, "exec": 0}`.
pub fn int_members(object: &str) -> Vec<(String, u64)> {
    let mut members = Vec::new();
    let mut rest = object;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let name = &after[..close];
        let tail = after[close + 1..].trim_start();
        let Some(value) = tail.strip_prefix(':') else {
            rest = &after[close + 1..];
            continue;
        };
        let value = value.trim_start();
        let end = value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len());
        if let Ok(number) = value[..end].parse() {
            members.push((name.to_owned(), number));
        }
        rest = &value[end..];
    }
    members
}

/// How many times `needle` occurs in `line` (frames: one `"addr":` each).
pub fn count(line: &str, needle: &str) -> usize {
    line.matches(needle).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"type":"open","time":"2026-11-25T03:13:35.530992898Z","pid":22200,"tid":22200,"comm":"a\"b","path":"/tmp/seq-7","ret":-2,"ustack":[{"addr":"0x1","symbol":"x"},{"addr":"0x2","unresolved":"no symbols"}]}"#;

    #[test]
    fn fields_of_a_line() {
        assert_eq!(str_field(LINE, "type"), Some("open"));
        assert_eq!(str_field(LINE, "comm"), Some(r#"a\"b"#));
        assert_eq!(str_field(LINE, "path"), Some("/tmp/seq-7"));
        assert_eq!(int_field(LINE, "pid"), Some(22200));
        assert_eq!(int_field(LINE, "ret"), Some(-2));
        assert_eq!(int_field(LINE, "missing"), None);
        assert_eq!(int_field("{\n  \"n\": 42,\n}", "n"), Some(42));
        assert_eq!(count(LINE, "\"addr\":"), 2);
        assert_eq!(count(LINE, "\"unresolved\":"), 1);
    }

    #[test]
    fn fields_of_a_stats_file() {
        let text = r#"{
  "mode": "tui",
  "delivered": {
    "exec": 3,
    "open": 1000042
  },
  "dropped": {},
  "latency_ns": {
    "count": 9,
    "p50": 1200,
    "p99": 80000,
    "max": 90000
  },
  "frame_ns": {
    "count": 450,
    "p50": 610000,
    "p99": 2100000,
    "max": 3000000
  },
  "first_event_ms": 212.5,
  "retained_events": 1000000,
  "none": null
}"#;
        let frame = object_field(text, "frame_ns").expect("frame_ns");
        assert_eq!(int_field(frame, "p99"), Some(2_100_000));
        assert_eq!(int_field(text, "p99"), Some(80_000));
        assert_eq!(num_field(text, "first_event_ms"), Some(212.5));
        assert_eq!(num_field(text, "retained_events"), Some(1e6));
        assert_eq!(num_field(text, "none"), None);
        assert_eq!(num_field(text, "mode"), None);
        let delivered = object_field(text, "delivered").expect("delivered");
        assert_eq!(
            int_members(delivered),
            vec![("exec".to_owned(), 3), ("open".to_owned(), 1_000_042)]
        );
        assert_eq!(
            int_members(object_field(text, "dropped").expect("{}")),
            vec![]
        );
        assert_eq!(object_field(text, "mode"), None);
        assert_eq!(
            object_field("{\"a\": {\"b\": {}}, \"c\": 1}", "a"),
            Some("{\"b\": {}}")
        );
    }

    #[test]
    fn writes_valid_json() {
        let value = obj([
            ("a", Json::from(1.5)),
            ("b", Json::from(vec![1_u64, 2])),
            ("c", Json::from("x\"y\n")),
            ("d", Json::from(None::<f64>)),
            ("e", Json::Num(f64::NAN)),
            ("f", obj([("g", Json::from(true))])),
        ]);
        let text = value.to_string();
        assert!(text.contains("\"a\": 1.5"), "{text}");
        assert!(text.contains("\"b\": [1, 2]"), "{text}");
        assert!(text.contains(r#""c": "x\"y\n""#), "{text}");
        assert!(text.contains("\"d\": null"), "{text}");
        assert!(text.contains("\"e\": null"), "{text}");
        assert!(text.contains("\"g\": true"), "{text}");
    }
}
