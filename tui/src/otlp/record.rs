//! An event as an OpenTelemetry LogRecord: its JSON object's fields as attributes, named
//! after the semantic conventions where one exists and `ringside.*` otherwise, its stacks as
//! structured frame lists and as `code.stacktrace` text (docs/otlp.md has the table).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};
use serde_json::Value;

use crate::model::event::Event;
use crate::output::json::event_to_json;

/// JSON keys with a semantic-convention name; the rest become `ringside.<key>`.
const CONVENTIONS: &[(&str, &str)] = &[
    ("pid", "process.pid"),
    ("ppid", "process.parent_pid"),
    ("tid", "thread.id"),
    ("uid", "process.user.id"),
    ("comm", "process.executable.name"),
    ("filename", "process.executable.path"),
    ("argv", "process.command_args"),
    ("path", "file.path"),
    ("raddr", "network.peer.address"),
    ("rport", "network.peer.port"),
    ("laddr", "network.local.address"),
    ("lport", "network.local.port"),
    ("proto", "network.transport"),
    ("error", "error.type"),
    ("container", "container.id"),
    ("pod", "k8s.pod.uid"),
    ("query", "dns.question.name"),
    ("answers", "dns.answers"),
    ("host", "host.name"),
];

/// A frame's JSON keys with a semantic-convention name.
const FRAME_CONVENTIONS: &[(&str, &str)] = &[
    ("symbol", "code.function.name"),
    ("file", "code.file.path"),
    ("line", "code.line.number"),
    ("column", "code.column.number"),
];

/// JSON keys the record carries elsewhere: the type in its name, the time in its timestamp,
/// the stacks in their own attributes.
const ELSEWHERE: &[&str] = &["type", "time", "ustack", "kstack", "ustack_end", "server"];

pub fn log_record(event: &Event, observed: SystemTime) -> LogRecord {
    let json = event_to_json(event);
    let mut attributes = Vec::with_capacity(24);
    if let Value::Object(fields) = &json {
        for (key, value) in fields {
            if ELSEWHERE.contains(&key.as_str()) {
                continue;
            }
            let name = CONVENTIONS
                .iter()
                .find(|(json_key, _)| json_key == key)
                .map_or_else(|| format!("ringside.{key}"), |(_, name)| (*name).to_owned());
            if let Some(value) = any_value(value, &[]) {
                attributes.push(attribute(name, value));
            }
        }
        if let Some(Value::String(server)) = fields.get("server") {
            server_attributes(server, &mut attributes);
        }
        stack_attributes(fields, &mut attributes);
    }
    let failed = event.details.failed();
    LogRecord {
        time_unix_nano: unix_nanos(event.time),
        observed_time_unix_nano: unix_nanos(observed),
        severity_number: if failed {
            SeverityNumber::Warn
        } else {
            SeverityNumber::Info
        } as i32,
        severity_text: (if failed { "WARN" } else { "INFO" }).to_owned(),
        event_name: format!("ringside.{}", event.kind().name()),
        body: Some(AnyValue {
            value: Some(Any::StringValue(event.summary())),
        }),
        attributes,
        ..LogRecord::default()
    }
}

/// `server` is `ADDR:PORT` (`[::1]:53` for IPv6): the conventions split it.
fn server_attributes(server: &str, attributes: &mut Vec<KeyValue>) {
    let Some((address, port)) = server.rsplit_once(':') else {
        return;
    };
    let address = address.trim_start_matches('[').trim_end_matches(']');
    attributes.push(attribute(
        "server.address".to_owned(),
        Any::StringValue(address.to_owned()),
    ));
    if let Ok(port) = port.parse::<i64>() {
        attributes.push(attribute("server.port".to_owned(), Any::IntValue(port)));
    }
}

/// `ringside.stack.user` and `ringside.stack.kernel` (frame lists, innermost first), why the
/// user stack ends, and `code.stacktrace`: the same frames as text, for any backend.
fn stack_attributes(fields: &serde_json::Map<String, Value>, attributes: &mut Vec<KeyValue>) {
    let mut text = String::new();
    for (key, name, heading) in [
        ("ustack", "ringside.stack.user", ""),
        ("kstack", "ringside.stack.kernel", "kernel:\n"),
    ] {
        let Some(Value::Array(frames)) = fields.get(key) else {
            continue;
        };
        if let Some(list) = any_value(&fields[key], FRAME_CONVENTIONS) {
            attributes.push(attribute(name.to_owned(), list));
        }
        text.push_str(heading);
        for frame in frames {
            text.push_str(&frame_line(frame));
            text.push('\n');
        }
    }
    if let Some(Value::String(end)) = fields.get("ustack_end") {
        attributes.push(attribute(
            "ringside.stack.user_end".to_owned(),
            Any::StringValue(end.clone()),
        ));
    }
    if !text.is_empty() {
        attributes.push(attribute(
            "code.stacktrace".to_owned(),
            Any::StringValue(text),
        ));
    }
}

/// `    at symbol+0x1f (file:line) [module]`, what is known of it.
fn frame_line(frame: &Value) -> String {
    let get = |key: &str| frame.get(key).and_then(Value::as_str);
    let mut line = format!("    at {}", get("symbol").or(get("addr")).unwrap_or("??"));
    if let (Some(file), Some(number)) = (get("file"), frame.get("line").and_then(Value::as_u64)) {
        line.push_str(&format!(" ({file}:{number})"));
    }
    if let Some(module) = get("module") {
        line.push_str(&format!(" [{module}]"));
    }
    line
}

/// A JSON value as an OTLP value; objects' keys renamed by `renames`. `null` has none.
fn any_value(value: &Value, renames: &[(&str, &str)]) -> Option<Any> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(flag) => Any::BoolValue(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Any::IntValue(int),
            None => Any::DoubleValue(number.as_f64().unwrap_or_default()),
        },
        Value::String(text) => Any::StringValue(text.clone()),
        Value::Array(items) => Any::ArrayValue(ArrayValue {
            values: items
                .iter()
                .filter_map(|item| any_value(item, renames))
                .map(|value| AnyValue { value: Some(value) })
                .collect(),
        }),
        Value::Object(fields) => Any::KvlistValue(KeyValueList {
            values: fields
                .iter()
                .filter_map(|(key, value)| {
                    let name = renames
                        .iter()
                        .find(|(json_key, _)| json_key == key)
                        .map_or(key.as_str(), |(_, name)| name);
                    Some(attribute(name.to_owned(), any_value(value, renames)?))
                })
                .collect(),
        }),
    })
}

fn attribute(key: String, value: Any) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    fn attr<'a>(record: &'a LogRecord, key: &str) -> Option<&'a Any> {
        record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn a_failed_open_is_a_warning_with_conventional_attributes() {
        let event = sample::event(sample::open("/etc/shadow", -13));
        let record = log_record(&event, SystemTime::now());
        assert_eq!(record.event_name, "ringside.open");
        assert_eq!(record.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(record.time_unix_nano, unix_nanos(event.time));
        assert_eq!(
            attr(&record, "file.path"),
            Some(&Any::StringValue("/etc/shadow".into()))
        );
        assert_eq!(
            attr(&record, "error.type"),
            Some(&Any::StringValue("EACCES".into()))
        );
        assert_eq!(
            attr(&record, "process.pid"),
            Some(&Any::IntValue(i64::from(event.pid)))
        );
        assert!(attr(&record, "ringside.flags").is_some());
        let Some(AnyValue {
            value: Some(Any::StringValue(body)),
        }) = &record.body
        else {
            panic!("no body")
        };
        assert_eq!(body, &event.summary());
    }

    #[test]
    fn stacks_go_as_frame_lists_and_as_text() {
        use crate::model::frame::{Frame, Stacks, Unresolved};
        let mut event = sample::event(sample::open("/etc/hostname", 3));
        let mut frame = Frame::unresolved(0x401000, Unresolved::TimedOut);
        frame.unresolved = None;
        frame.symbol = Some("read_config".into());
        frame.file = Some("/src/config.c".into());
        frame.line = Some(42);
        frame.module = Some("/usr/bin/app".into());
        event.stacks = Some(std::sync::Arc::new(Stacks {
            user: vec![frame],
            kernel: Vec::new(),
            user_end: None,
        }));
        let record = log_record(&event, SystemTime::now());
        let Some(Any::ArrayValue(frames)) = attr(&record, "ringside.stack.user") else {
            panic!("no user stack: {:?}", record.attributes)
        };
        let Some(AnyValue {
            value: Some(Any::KvlistValue(first)),
        }) = frames.values.first()
        else {
            panic!("a frame is not a key-value list")
        };
        assert!(
            first.values.iter().any(|kv| kv.key == "code.function.name"),
            "{first:?}"
        );
        let Some(Any::StringValue(text)) = attr(&record, "code.stacktrace") else {
            panic!("no code.stacktrace")
        };
        assert_eq!(
            text,
            "    at read_config (/src/config.c:42) [/usr/bin/app]\n"
        );
    }
}
