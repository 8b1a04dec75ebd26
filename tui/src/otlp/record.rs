//! An event as an OpenTelemetry LogRecord: its JSON object's fields as attributes, named
//! after the semantic conventions where one exists and `ringside.*` otherwise, its stacks as
//! structured frame lists and as `code.stacktrace` text (docs/otlp.md has the table).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};

use super::attributes::{attributes, key_value};
use crate::model::event::Event;
use crate::model::frame::Frame;
use crate::output::json::JsonEvent;

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
    ("ustack", "ringside.stack.user"),
    ("kstack", "ringside.stack.kernel"),
    ("ustack_end", "ringside.stack.user_end"),
];

/// A frame's JSON keys with a semantic-convention name.
const FRAME_CONVENTIONS: &[(&str, &str)] = &[
    ("symbol", "code.function.name"),
    ("file", "code.file.path"),
    ("line", "code.line.number"),
    ("column", "code.column.number"),
];

/// JSON keys the record carries elsewhere: the type in its name, the time in its timestamp.
const ELSEWHERE: &[&str] = &["type", "time"];

pub fn log_record(event: &Event, observed: SystemTime) -> LogRecord {
    let mut attributes = attributes(&JsonEvent(event), attribute_name, frame_key);
    split_server(&mut attributes);
    if let Some(trace) = stack_trace(event) {
        attributes.push(key_value(
            "code.stacktrace".to_owned(),
            Any::StringValue(trace),
        ));
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

/// A JSON key's attribute name; `None` for what the record carries elsewhere.
fn attribute_name(mut key: String) -> Option<String> {
    if ELSEWHERE.contains(&key.as_str()) {
        return None;
    }
    if let Some((_, name)) = CONVENTIONS.iter().find(|(json_key, _)| *json_key == key) {
        return Some((*name).to_owned());
    }
    key.insert_str(0, "ringside.");
    Some(key)
}

/// A frame's key, with its semantic-convention name where one exists.
fn frame_key(key: &str) -> &str {
    FRAME_CONVENTIONS
        .iter()
        .find(|(json_key, _)| *json_key == key)
        .map_or(key, |(_, name)| name)
}

/// `ringside.server` (`ADDR:PORT`, `[::1]:53` for IPv6) as the conventions' `server.address`
/// and `server.port`.
fn split_server(attributes: &mut Vec<KeyValue>) {
    let Some(at) = attributes.iter().position(|kv| kv.key == "ringside.server") else {
        return;
    };
    let server = attributes.remove(at);
    let Some(Any::StringValue(server)) = server.value.and_then(|value| value.value) else {
        return;
    };
    let Some((address, port)) = server.rsplit_once(':') else {
        return;
    };
    let address = address.trim_start_matches('[').trim_end_matches(']');
    attributes.push(key_value(
        "server.address".to_owned(),
        Any::StringValue(address.to_owned()),
    ));
    if let Ok(port) = port.parse::<i64>() {
        attributes.push(key_value("server.port".to_owned(), Any::IntValue(port)));
    }
}

/// The stacks as text, innermost first, the user stack then the kernel's:
/// `    at symbol (file:line) [module]`, for backends that know nothing of ringside.
fn stack_trace(event: &Event) -> Option<String> {
    let mut text = String::new();
    match event.stacks.as_deref() {
        Some(stacks) => {
            for (heading, frames) in [("", &stacks.user), ("kernel:\n", &stacks.kernel)] {
                if frames.is_empty() {
                    continue;
                }
                text.push_str(heading);
                for frame in frames {
                    text.push_str(&frame_line(frame));
                    text.push('\n');
                }
            }
        }
        None => {
            for (heading, addresses) in [("", &event.ustack), ("kernel:\n", &event.kstack)] {
                if addresses.is_empty() {
                    continue;
                }
                text.push_str(heading);
                for address in addresses.iter() {
                    text.push_str(&format!("    at {address:#x}\n"));
                }
            }
        }
    }
    (!text.is_empty()).then_some(text)
}

fn frame_line(frame: &Frame) -> String {
    let mut line = format!("    at {}", frame.display_name());
    if let (Some(file), Some(number)) = (&frame.file, frame.line) {
        line.push_str(&format!(" ({file}:{number})"));
    }
    if let Some(module) = &frame.module {
        line.push_str(&format!(" [{module}]"));
    }
    line
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

    /// The new kinds need no mapping of their own: their JSON fields become attributes, a
    /// change's path `file.path` like an open's.
    #[test]
    fn signals_and_file_changes_carry_their_fields() {
        use crate::ingest::test_news_records as news;
        let clock = crate::clock::WallClock::now().expect("clock");
        let decode =
            |bytes: Vec<u8>| crate::ingest::decode::decode(&bytes, &clock).expect("decodes");
        let rename = decode(news::change_bytes(&news::change_record(
            crate::model::EventKind::Rename,
        )));
        let record = log_record(&rename, SystemTime::now());
        assert_eq!(record.event_name, "ringside.rename");
        assert_eq!(
            attr(&record, "file.path"),
            Some(&Any::StringValue("a.txt".into()))
        );
        assert_eq!(
            attr(&record, "ringside.abs_path"),
            Some(&Any::StringValue("/srv/www/a.txt".into()))
        );
        assert_eq!(
            attr(&record, "ringside.new_abs_path"),
            Some(&Any::StringValue("/srv/www/old/b.txt".into()))
        );
        let kill = decode(news::signal_bytes(&news::signal_record()));
        let record = log_record(&kill, SystemTime::now());
        assert_eq!(record.event_name, "ringside.signal");
        assert_eq!(
            attr(&record, "ringside.sig"),
            Some(&Any::StringValue("SIGTERM".into()))
        );
        assert_eq!(
            attr(&record, "ringside.target_pid"),
            Some(&Any::IntValue(4300))
        );
        let oom = decode(news::oom_bytes(&news::oom_record()));
        let record = log_record(&oom, SystemTime::now());
        assert_eq!(record.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(
            attr(&record, "ringside.memcg"),
            Some(&Any::StringValue("/test/small".into()))
        );
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
