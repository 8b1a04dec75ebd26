//! Connect counts per process, ringside against bpftrace, over a real workload: one python3
//! process that serves HTTP on loopback and fetches from itself by name, so glibc's resolver
//! makes the connects a real client makes (nscd's unix socket, a UDP socket connected to sort
//! the addresses, the TCP connect). ringside must report every connect that bpftrace's
//! `sys_enter_connect` counts, per process, whatever its family or result.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Command;
use std::thread;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use super::procs::{Output, Ringside, bpftrace_map, command_under_bpftrace};
use super::{Bench, Check, Section, Status, Table, comm_of};
use crate::cmd;

/// The workload, written to the bench's scratch directory and run as `python3 SCRIPT REQUESTS`.
/// Everything happens in the one process (the server in a thread): it prints its pid.
const SCRIPT: &str = r#"# ringside bench: the connects of a real HTTP client, from one process.
import http.server
import os
import socket
import sys
import threading
import urllib.request

REQUESTS = int(sys.argv[1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ringside bench\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()

# By name, so that getaddrinfo runs for each request; no proxy from the environment.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(REQUESTS):
    with opener.open(f"http://localhost:{port}/", timeout=10) as response:
        if response.read() != b"ringside bench\n":
            sys.exit("unexpected response")

for _ in range(2):
    socket.getaddrinfo("localhost", 80)

# A UDP socket connected and closed unused, as glibc's getaddrinfo does to sort addresses when a
# name has several (here localhost has one, so it is done by hand).
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.connect(("127.0.0.1", port))
udp.close()

# IPv6 loopback, where nothing listens (refused, or unreachable without IPv6).
try:
    socket.create_connection(("::1", port), timeout=10).close()
except OSError:
    pass

# A refused connect: a port nothing listens on.
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
closed_port = probe.getsockname()[1]
probe.close()
try:
    socket.create_connection(("localhost", closed_port), timeout=10).close()
    sys.exit(f"port {closed_port} accepted a connection")
except ConnectionRefusedError:
    pass

server.shutdown()
print(f"pid={os.getpid()} requests={REQUESTS} port={port} refused_port={closed_port}", flush=True)
"#;

/// bpftrace's count of connects per process of the workload's comm, and (for a report of what
/// differs) their results.
fn bpftrace_script(comm: &str) -> String {
    format!(
        concat!(
            r#"tracepoint:syscalls:sys_enter_connect /comm == "{comm}"/ {{ @connects[pid] = count(); }} "#,
            r#"tracepoint:syscalls:sys_exit_connect /comm == "{comm}"/ {{ @results[pid, args->ret] = count(); }}"#
        ),
        comm = comm
    )
}

/// What the counter reads of a line of ringside's stdout.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    pid: Option<i64>,
    comm: Option<String>,
    family: Option<String>,
    proto: Option<String>,
    ret: Option<i64>,
}

/// ringside's connects of one process.
#[derive(Default)]
struct Connects {
    total: u64,
    /// `unix`, `inet/udp`, `inet/tcp`, ...
    by_family: BTreeMap<String, u64>,
    by_ret: BTreeMap<i64, u64>,
}

impl Connects {
    fn add(&mut self, line: &Line) {
        self.total += 1;
        let family = line.family.as_deref().unwrap_or("?");
        let key = match &line.proto {
            Some(proto) => format!("{family}/{proto}"),
            None => family.to_owned(),
        };
        *self.by_family.entry(key).or_default() += 1;
        *self.by_ret.entry(line.ret.unwrap_or(i64::MIN)).or_default() += 1;
    }
}

/// The interpreter itself, not a version manager's shim (pyenv's is a shell script): bpftrace
/// starts it by its full path, and its comm is its file name.
fn python3() -> Option<PathBuf> {
    let found = cmd::find_on_path("python3")?;
    let real = cmd::output(Command::new(&found).args(["-c", "import sys; print(sys.executable)"]))
        .ok()
        .map(|out| PathBuf::from(out.trim()))
        .filter(|path| path.is_file());
    Some(real.unwrap_or(found))
}

fn skipped(note: &str) -> Section {
    Section {
        tables: Vec::new(),
        notes: vec![note.to_owned()],
        checks: Vec::new(),
        json: json!({ "skipped": note }),
    }
}

/// `0:22 -2:2 -111:1`: counts by connect result.
fn by_ret_text(by_ret: &BTreeMap<i64, u64>) -> String {
    let mut entries: Vec<(&i64, &u64)> = by_ret.iter().collect();
    // Successes first, then the errors by errno.
    entries.sort_by_key(|(ret, _)| (**ret != 0, ret.saturating_neg()));
    entries
        .iter()
        .map(|(ret, n)| {
            if **ret == i64::MIN {
                format!("?:{n}")
            } else {
                format!("{ret}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn by_family_text(by_family: &BTreeMap<String, u64>) -> String {
    by_family
        .iter()
        .map(|(family, n)| format!("{family} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(bench: &Bench) -> Result<Section> {
    if bench.bpftrace.is_none() {
        return Ok(skipped(
            "counts: skipped: bpftrace is not installed (it is the count ringside is held to).",
        ));
    }
    let Some(python) = python3() else {
        return Ok(skipped(
            "counts: skipped: python3 is not on PATH (the workload is a python3 script).",
        ));
    };
    let comm = comm_of(&python);
    let requests = bench.size(40, 20);
    let script_path = bench.scratch.join("counts-workload.py");
    fs::write(&script_path, SCRIPT)
        .with_context(|| format!("writing {}", script_path.display()))?;
    let script = bpftrace_script(&comm);

    bench.progress(&format!(
        "counts: ringside --events connect, then `{} {} {requests}` under bpftrace",
        python.display(),
        script_path.display()
    ));
    let args = ["--events", "connect", "--stacks", "none"].map(String::from);
    let mut ringside = Ringside::start(bench, &args, Output::Piped)?;
    let stdout = ringside.take_stdout().context("ringside's stdout")?;
    let wanted = comm.clone();
    let reader = thread::spawn(move || {
        let mut per_pid: BTreeMap<i64, Connects> = BTreeMap::new();
        for line in BufReader::with_capacity(1 << 16, stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(event) = serde_json::from_str::<Line>(&line) else {
                continue;
            };
            if event.kind != "connect" || event.comm.as_deref() != Some(wanted.as_str()) {
                continue;
            }
            if let Some(pid) = event.pid {
                per_pid.entry(pid).or_default().add(&event);
            }
        }
        per_pid
    });
    let requests_text = requests.to_string();
    let words: [&OsStr; 3] = [
        python.as_os_str(),
        script_path.as_os_str(),
        OsStr::new(&requests_text),
    ];
    let traced = command_under_bpftrace(bench, &words, &script);
    let summary = ringside.stop()?;
    let per_pid = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
    let traced = traced?;

    let workload_pid: Option<i64> = traced.stdout.iter().find_map(|line| {
        line.strip_prefix("pid=")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    let Some(workload_pid) = workload_pid else {
        bail!(
            "the workload printed no `pid=` line; bpftrace's output:\n{}",
            traced
                .stdout
                .iter()
                .chain(&traced.stderr)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    let bpftrace_connects = bpftrace_map(&traced.stdout, "connects");
    let mut bpftrace_rets: BTreeMap<i64, BTreeMap<i64, u64>> = BTreeMap::new();
    for (keys, n) in bpftrace_map(&traced.stdout, "results") {
        if let [pid, ret] = keys[..] {
            *bpftrace_rets
                .entry(pid)
                .or_default()
                .entry(ret)
                .or_default() += n;
        }
    }
    let (delivered, dropped) = summary.kind("connect").unwrap_or((0, 0));
    let total_dropped = summary.total_dropped();

    let mut table = Table::new(
        format!(
            "Connects per process, ringside against bpftrace's sys_enter_connect count: {} \
             HTTP requests to localhost, 2 getaddrinfo, a UDP and 2 refused connects, one \
             {comm} process",
            requests
        ),
        vec![
            "pid",
            "bpftrace",
            "ringside",
            "ringside by family",
            "bpftrace by ret",
            "ringside by ret",
            "result",
        ],
    );
    let empty = Connects::default();
    let mut rows = Vec::new();
    let mut all_equal = !bpftrace_connects.is_empty();
    for (keys, &expected) in &bpftrace_connects {
        let Some(&pid) = keys.first() else { continue };
        let seen = per_pid.get(&pid).unwrap_or(&empty);
        let equal = seen.total == expected;
        all_equal &= equal;
        let no_rets = BTreeMap::new();
        let bpftrace_ret = bpftrace_rets.get(&pid).unwrap_or(&no_rets);
        table.row(vec![
            if pid == workload_pid {
                format!("{pid} (workload)")
            } else {
                pid.to_string()
            },
            expected.to_string(),
            seen.total.to_string(),
            by_family_text(&seen.by_family),
            by_ret_text(bpftrace_ret),
            by_ret_text(&seen.by_ret),
            Status::of(equal).word().to_owned(),
        ]);
        rows.push(json!({
            "pid": pid,
            "workload": pid == workload_pid,
            "bpftrace": expected,
            "ringside": seen.total,
            "ringside_by_family": seen.by_family,
            "bpftrace_by_ret": bpftrace_ret.iter().map(|(r, n)| (r.to_string(), n)).collect::<BTreeMap<_, _>>(),
            "ringside_by_ret": seen.by_ret.iter().map(|(r, n)| (r.to_string(), n)).collect::<BTreeMap<_, _>>(),
            "equal": equal,
        }));
    }
    let has_workload = bpftrace_connects.contains_key(&vec![workload_pid]);
    let pass = all_equal && has_workload;
    let workload_counts = (
        bpftrace_connects
            .get(&vec![workload_pid])
            .copied()
            .unwrap_or(0),
        per_pid.get(&workload_pid).map_or(0, |c| c.total),
    );
    let check = Check {
        what: "connects per process agree with bpftrace's sys_enter_connect count".to_owned(),
        target: "equal".to_owned(),
        value: format!(
            "workload pid {workload_pid}: bpftrace {}, ringside {}; {} of {} processes equal; \
             ringside dropped {total_dropped}",
            workload_counts.0,
            workload_counts.1,
            rows.iter().filter(|r| r["equal"] == json!(true)).count(),
            rows.len()
        ),
        status: Status::of(pass),
    };

    let mut notes = vec![
        format!(
            "counts: `ringside --json --events connect --stacks none` started first (stdout read \
             here); then `bpftrace -c '{} SCRIPT {requests}'` counting sys_enter_connect per pid \
             of comm {comm:?} (and sys_exit_connect by result); then ringside stopped (SIGINT) \
             and its connect events of comm {comm:?} counted per pid. Every pid in bpftrace's \
             map must have exactly as many connects in ringside's output.",
            python.display()
        ),
        "counts: the workload (a python3 script, one process): http.server on 127.0.0.1 port 0 \
         in a thread, urllib requests to http://localhost:PORT/ by name (glibc's getaddrinfo: \
         nscd's unix socket, a UDP connect to sort addresses, then the TCP connect), 2 \
         socket.getaddrinfo(\"localhost\", 80), a UDP socket connected to 127.0.0.1 (as the \
         address sort does), and connects to ::1 and to a closed port (refused). Whether glibc \
         tries nscd's socket or sorts by UDP depends on the machine (nscd running, the \
         addresses a name has). by ret: the connect's result, 0 or -errno (urllib's sockets \
         have a timeout, so are non-blocking: -115 EINPROGRESS)."
            .to_owned(),
    ];
    if total_dropped > 0 {
        notes.push(format!(
            "counts: ringside dropped {total_dropped} events ({dropped} connects): its counts \
             cannot be compared exactly with bpftrace's."
        ));
    }
    if !has_workload {
        notes.push(format!(
            "counts: bpftrace's map has no entry for the workload's pid {workload_pid}."
        ));
    }
    if traced.stats.lost > 0 {
        notes.push(format!(
            "counts: bpftrace reported {} lost events.",
            traced.stats.lost
        ));
    }
    if !summary.clean_exit {
        notes.push("counts: ringside did not exit by itself after SIGINT (killed).".to_owned());
    }

    Ok(Section {
        tables: vec![table],
        notes,
        checks: vec![check],
        json: json!({
            "python3": python.display().to_string(),
            "comm": comm,
            "requests": requests,
            "workload_pid": workload_pid,
            "bpftrace_script": script,
            "processes": rows,
            "ringside_connect_delivered": delivered,
            "ringside_connect_dropped": dropped,
            "ringside_dropped_total": total_dropped,
            "ringside_clean_exit": summary.clean_exit,
            "bpftrace_lost": traced.stats.lost,
            "status": Status::of(pass).word(),
            "ringside_other_pids": per_pid
                .iter()
                .filter(|(pid, _)| !bpftrace_connects.contains_key(&vec![**pid]))
                .map(|(pid, c)| (pid.to_string(), c.total))
                .collect::<BTreeMap<_, _>>(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connects_are_broken_down_by_family_and_result() {
        let lines = [
            r#"{"type":"connect","pid":7,"comm":"python3","family":"unix","unix_path":"/var/run/nscd/socket","ret":-2,"error":"ENOENT"}"#,
            r#"{"type":"connect","pid":7,"comm":"python3","family":"inet","proto":"udp","socktype":"dgram","ret":0}"#,
            r#"{"type":"connect","pid":7,"comm":"python3","family":"inet","proto":"tcp","ret":0}"#,
            r#"{"type":"connect","pid":7,"comm":"python3","family":"inet","proto":"tcp","ret":-111}"#,
        ];
        let mut connects = Connects::default();
        for line in lines {
            connects.add(&serde_json::from_str::<Line>(line).expect("parse"));
        }
        assert_eq!(connects.total, 4);
        assert_eq!(
            by_family_text(&connects.by_family),
            "inet/tcp 2, inet/udp 1, unix 1"
        );
        assert_eq!(by_ret_text(&connects.by_ret), "0:2 -2:1 -111:1");
    }

    #[test]
    fn the_script_counts_the_comm_given() {
        let script = bpftrace_script("python3");
        assert!(
            script
                .contains(r#"sys_enter_connect /comm == "python3"/ { @connects[pid] = count(); }"#)
        );
    }
}
