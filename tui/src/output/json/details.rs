//! Each kind's own JSON fields, after the ones every event has. The model knows nothing of
//! JSON: the names and shapes of these fields live here (and in docs/json.md).

use serde::ser::SerializeMap;

use super::fields::{AsText, Hexes, Texts, result, text_entry};
use crate::model::EventKind;
use crate::model::event::{
    AbsPath, Change, Details, Dns, Exec, Exit, Fork, OomKill, OomScope, Open, Signal, SockAddrs,
    SockInfo, Socket, TcpClose,
};
use crate::model::names::{OpenFlags, signal_label};
use crate::short_text::ShortText;

pub fn details<M: SerializeMap>(details: &Details, map: &mut M) -> Result<(), M::Error> {
    match details {
        Details::Exec(exec) => exec_fields(exec, map),
        Details::Open(open) => open_fields(open, map),
        Details::Connect(sock) | Details::Accept(sock) => sock_fields(sock, map),
        Details::TcpClose(close) => tcp_close_fields(close, map),
        Details::Exit(exit) => exit_fields(exit, map),
        Details::Fork(fork) => fork_fields(fork, map),
        Details::Dns(dns) => dns_fields(dns, map),
        Details::Signal(signal) => signal_fields(signal, map),
        Details::OomKill(oom) => oom_kill_fields(oom, map),
        Details::Change(change) => change_fields(change, map),
    }
}

/// The keys of a `path` and its absolute form.
const PATH_KEYS: [&str; 5] = [
    "path",
    "path_hex",
    "abs_path",
    "abs_path_hex",
    "abs_path_partial",
];

/// `<name>` (and `<name>_hex`), then `<prefix>abs_path` and `<prefix>abs_path_partial` when
/// the path was relative and made absolute.
fn path_entries<M: SerializeMap>(
    map: &mut M,
    names: [&'static str; 5],
    given: &[u8],
    abs: Option<&AbsPath>,
) -> Result<(), M::Error> {
    let [name, hex, abs_name, abs_hex, partial] = names;
    text_entry(map, name, hex, given)?;
    if let Some(abs) = abs {
        text_entry(map, abs_name, abs_hex, &abs.path)?;
        if abs.partial {
            map.serialize_entry(partial, &true)?;
        }
    }
    Ok(())
}

fn signal_fields<M: SerializeMap>(signal: &Signal, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("sig", &signal_label(signal.sig))?;
    map.serialize_entry("signo", &signal.sig)?;
    map.serialize_entry("target_pid", &signal.target_pid)?;
    text_entry(map, "target_comm", "target_comm_hex", &signal.target_comm)?;
    map.serialize_entry("code", &signal.code_name())?;
    map.serialize_entry("group", if signal.group { "process" } else { "thread" })?;
    map.serialize_entry("result", signal.result_name())?;
    if signal.errno != 0 {
        map.serialize_entry("si_errno", &signal.errno)?;
    }
    if signal.routine() {
        map.serialize_entry("routine", &true)?;
    }
    Ok(())
}

fn oom_kill_fields<M: SerializeMap>(oom: &OomKill, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("victim_pid", &oom.victim_pid)?;
    text_entry(map, "victim_comm", "victim_comm_hex", &oom.victim_comm)?;
    map.serialize_entry("victim_uid", &oom.victim_uid)?;
    map.serialize_entry("total_vm", &oom.total_vm)?;
    map.serialize_entry("anon_rss", &oom.anon_rss)?;
    map.serialize_entry("file_rss", &oom.file_rss)?;
    map.serialize_entry("shmem_rss", &oom.shmem_rss)?;
    map.serialize_entry("pgtables", &oom.pgtables)?;
    map.serialize_entry("oom_score_adj", &oom.oom_score_adj)?;
    match &oom.memcg {
        OomScope::Cgroup(path) => text_entry(map, "memcg", "memcg_hex", path),
        other => map.serialize_entry("memcg", &other.text()),
    }
}

fn change_fields<M: SerializeMap>(change: &Change, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("syscall", change.syscall.name())?;
    path_entries(map, PATH_KEYS, &change.path, change.abs_path.as_deref())?;
    if change.path_truncated {
        map.serialize_entry("path_truncated", &true)?;
    }
    if let Some(fd) = change.fd {
        map.serialize_entry("fd", &fd)?;
    }
    let other = change.other_abs.as_deref();
    match change.kind() {
        EventKind::Unlink => map.serialize_entry("dir", &change.removes_dir())?,
        EventKind::Rename => path_entries(
            map,
            [
                "new_path",
                "new_path_hex",
                "new_abs_path",
                "new_abs_path_hex",
                "new_abs_path_partial",
            ],
            &change.other,
            other,
        )?,
        EventKind::Link => path_entries(
            map,
            [
                "target",
                "target_hex",
                "target_abs_path",
                "target_abs_path_hex",
                "target_abs_path_partial",
            ],
            &change.other,
            other,
        )?,
        EventKind::Symlink => text_entry(map, "target", "target_hex", &change.other)?,
        EventKind::Mkdir | EventKind::Chmod => map.serialize_entry("mode", &change.mode_text())?,
        EventKind::Chown => {
            // -1 leaves it as it is: the field is left out.
            if change.uid != u32::MAX {
                map.serialize_entry("uid_new", &change.uid)?;
            }
            if change.gid != u32::MAX {
                map.serialize_entry("gid_new", &change.gid)?;
            }
        }
        EventKind::Truncate => map.serialize_entry("length", &change.length)?,
        _ => {}
    }
    let flags = change.flag_names();
    if !flags.is_empty() {
        map.serialize_entry("flags", &flags)?;
    }
    result(map, change.ret)?;
    map.serialize_entry("latency_ns", &change.latency_ns)
}

fn exec_fields<M: SerializeMap>(exec: &Exec, map: &mut M) -> Result<(), M::Error> {
    path_entries(
        map,
        [
            "filename",
            "filename_hex",
            "abs_path",
            "abs_path_hex",
            "abs_path_partial",
        ],
        &exec.filename,
        exec.abs_filename.as_deref(),
    )?;
    if exec.filename_truncated {
        map.serialize_entry("filename_truncated", &true)?;
    }
    map.serialize_entry("argv", &Texts(&exec.argv))?;
    if exec
        .argv
        .iter()
        .any(|arg| std::str::from_utf8(arg).is_err())
    {
        map.serialize_entry("argv_hex", &Hexes(&exec.argv))?;
    }
    if exec.argv_truncated {
        map.serialize_entry("argv_truncated", &true)?;
    }
    if exec.argv_unreadable {
        map.serialize_entry("argv_unreadable", &true)?;
    }
    result(map, exec.ret)
}

fn open_fields<M: SerializeMap>(open: &Open, map: &mut M) -> Result<(), M::Error> {
    path_entries(map, PATH_KEYS, &open.path, open.abs_path.as_deref())?;
    if open.path_truncated {
        map.serialize_entry("path_truncated", &true)?;
    }
    OpenFlags::with_text(open.flags, |flags| map.serialize_entry("flags", flags))?;
    let mut mode = ShortText::<12>::new();
    mode.push_number(u64::from(open.mode), 8, 4);
    map.serialize_entry("mode", mode.as_str())?;
    map.serialize_entry("dfd", &open.dfd)?;
    map.serialize_entry("syscall", open.syscall.name())?;
    result(map, open.ret)?;
    map.serialize_entry("latency_ns", &open.latency_ns)
}

fn sock_fields<M: SerializeMap>(sock: &SockInfo, map: &mut M) -> Result<(), M::Error> {
    socket_fields(&sock.socket, map)?;
    addr_ends(&sock.addrs, map)?;
    map.serialize_entry("fd", &sock.fd)?;
    result(map, sock.ret)?;
    map.serialize_entry("latency_ns", &sock.latency_ns)
}

/// `family`, then `proto`, `socktype` and `unix_path` where known.
fn socket_fields<M: SerializeMap>(socket: &Socket, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("family", &socket.family_name())?;
    if let Some(proto) = socket.proto_name() {
        map.serialize_entry("proto", &proto)?;
    }
    if let Some(sock_type) = socket.type_name() {
        map.serialize_entry("socktype", sock_type)?;
    }
    if let Some(path) = socket.unix_path() {
        path_entries(
            map,
            [
                "unix_path",
                "unix_path_hex",
                "unix_abs_path",
                "unix_abs_path_hex",
                "unix_abs_path_partial",
            ],
            &path,
            socket
                .unix_addr
                .as_deref()
                .and_then(|unix| unix.abs_path.as_ref()),
        )?;
    }
    Ok(())
}

/// `laddr`/`lport` and `raddr`/`rport` where known.
fn addr_ends<M: SerializeMap>(addrs: &SockAddrs, map: &mut M) -> Result<(), M::Error> {
    if let Some((ip, port)) = addrs.local {
        map.serialize_entry("laddr", &AsText(ip))?;
        map.serialize_entry("lport", &port)?;
    }
    if let Some((ip, port)) = addrs.remote {
        map.serialize_entry("raddr", &AsText(ip))?;
        map.serialize_entry("rport", &port)?;
    }
    Ok(())
}

fn tcp_close_fields<M: SerializeMap>(close: &TcpClose, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("family", close.addrs.family())?;
    addr_ends(&close.addrs, map)?;
    map.serialize_entry("duration_ns", &close.duration_ns)?;
    if let Some(tx) = close.tx_bytes {
        map.serialize_entry("tx_bytes", &tx)?;
    }
    if let Some(rx) = close.rx_bytes {
        map.serialize_entry("rx_bytes", &rx)?;
    }
    Ok(())
}

fn exit_fields<M: SerializeMap>(exit: &Exit, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("exit_code", &exit.code())?;
    if let Some(signal) = exit.signal() {
        map.serialize_entry("signal", &signal_label(signal))?;
    }
    if exit.core_dumped() {
        map.serialize_entry("core_dumped", &true)?;
    }
    map.serialize_entry("lifetime_ns", &exit.lifetime_ns)
}

fn fork_fields<M: SerializeMap>(fork: &Fork, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("child_pid", &fork.child_pid)
}

fn dns_fields<M: SerializeMap>(dns: &Dns, map: &mut M) -> Result<(), M::Error> {
    map.serialize_entry("family", dns.addrs.family())?;
    if let Some((ip, port)) = dns.addrs.local {
        map.serialize_entry("laddr", &AsText(ip))?;
        map.serialize_entry("lport", &port)?;
    }
    if let Some(server) = dns.server() {
        map.serialize_entry("server", &server)?;
    }
    map.serialize_entry("id", &dns.id)?;
    map.serialize_entry("query", &dns.query)?;
    map.serialize_entry("qtype", &dns.qtype())?;
    map.serialize_entry("rcode", &dns.rcode())?;
    map.serialize_entry("answers", &dns.answers)?;
    if dns.answers_cut {
        map.serialize_entry("answers_cut", &true)?;
    }
    if let Some(latency) = dns.latency_ns {
        map.serialize_entry("latency_ns", &latency)?;
    }
    Ok(())
}
