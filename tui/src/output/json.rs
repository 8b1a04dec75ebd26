//! One JSON object per event (NDJSON). The field names are a contract with users' scripts:
//! add fields freely, never rename one. README.md documents the schema.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::model::event::{Details, Event, SockAddrs};
use crate::model::names::{errno_name, open_flags, signal_name};

pub fn event_to_json(event: &Event) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(event.kind().name()));
    object.insert(
        "time".into(),
        json!(humantime::format_rfc3339_nanos(event.time).to_string()),
    );
    object.insert("pid".into(), json!(event.pid));
    object.insert("tid".into(), json!(event.tid));
    object.insert("ppid".into(), json!(event.ppid));
    object.insert("uid".into(), json!(event.uid));
    object.insert("comm".into(), text(&event.comm));
    object.insert("cpu".into(), json!(event.cpu));
    match &event.details {
        Details::Exec {
            filename,
            argv,
            argv_truncated,
            ret,
        } => {
            object.insert("filename".into(), text(filename));
            object.insert("argv".into(), argv.iter().map(|arg| text(arg)).collect());
            if *argv_truncated {
                object.insert("argv_truncated".into(), json!(true));
            }
            result(&mut object, *ret);
        }
        Details::Open {
            path,
            path_truncated,
            dfd,
            flags,
            mode,
            ret,
            latency_ns,
            syscall,
        } => {
            object.insert("path".into(), text(path));
            if *path_truncated {
                object.insert("path_truncated".into(), json!(true));
            }
            object.insert("flags".into(), json!(open_flags(*flags)));
            object.insert("mode".into(), json!(format!("{mode:04o}")));
            object.insert("dfd".into(), json!(dfd));
            object.insert("syscall".into(), json!(syscall));
            result(&mut object, *ret);
            object.insert("latency_ns".into(), json!(latency_ns));
        }
        Details::Connect(sock) | Details::Accept(sock) => {
            addresses(&mut object, &sock.addrs);
            object.insert("fd".into(), json!(sock.fd));
            result(&mut object, sock.ret);
            object.insert("latency_ns".into(), json!(sock.latency_ns));
        }
        Details::TcpClose {
            addrs,
            duration_ns,
            tx_bytes,
            rx_bytes,
        } => {
            addresses(&mut object, addrs);
            object.insert("duration_ns".into(), json!(duration_ns));
            if let Some(tx) = tx_bytes {
                object.insert("tx_bytes".into(), json!(tx));
            }
            if let Some(rx) = rx_bytes {
                object.insert("rx_bytes".into(), json!(rx));
            }
        }
        Details::Exit {
            status,
            lifetime_ns,
        } => {
            object.insert("exit_code".into(), json!((status >> 8) & 0xff));
            let signal = status & 0x7f;
            if signal != 0 {
                object.insert("signal".into(), json!(signal_name(signal).unwrap_or("?")));
            }
            if status & 0x80 != 0 {
                object.insert("core_dumped".into(), json!(true));
            }
            object.insert("lifetime_ns".into(), json!(lifetime_ns));
        }
        Details::Fork { child_pid, .. } => {
            object.insert("child_pid".into(), json!(child_pid));
        }
    }
    Value::Object(object)
}

/// `ret`, and `error` with the errno name when it is a failure.
fn result(object: &mut Map<String, Value>, ret: i32) {
    object.insert("ret".into(), json!(ret));
    if ret < 0 {
        let name = errno_name(-ret).map_or_else(|| format!("E{}", -ret), str::to_owned);
        object.insert("error".into(), json!(name));
    }
}

fn addresses(object: &mut Map<String, Value>, addrs: &SockAddrs) {
    object.insert("family".into(), json!(addrs.family()));
    if let Some((ip, port)) = addrs.local {
        object.insert("laddr".into(), json!(ip_text(ip)));
        object.insert("lport".into(), json!(port));
    }
    if let Some((ip, port)) = addrs.remote {
        object.insert("raddr".into(), json!(ip_text(ip)));
        object.insert("rport".into(), json!(port));
    }
}

fn ip_text(ip: IpAddr) -> String {
    ip.to_string()
}

/// Kernel strings are bytes; valid UTF-8 goes through as is (JSON escapes control characters),
/// other bytes become U+FFFD.
fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}
