//! Events into an OpenTelemetry collector: a receiver of the test's own on 127.0.0.1 decodes
//! every request with the official OTLP messages, and answers as each test scripts it.

mod support;

use std::time::Duration;

use support::fixtures::open_nested;
use support::otlp_receiver::{Receiver, attribute};
use support::{Ringside, kernel_tests_enabled, nonce, path_string, scratch_dir};

/// How long records may take to reach the receiver: a batch waits up to a second, and a
/// retry after a 503 waits the second the receiver asks for.
const DELIVERY: Duration = Duration::from_secs(30);

/// Waits (up to [`DELIVERY`]) until the receiver got a request, whatever it answered.
fn wait_for_a_request(receiver: &Receiver) {
    let deadline = std::time::Instant::now() + DELIVERY;
    while receiver.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no request came");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The summary's counters: `ringside: otlp sent=N retried=N …`.
fn counts(stderr: &[String]) -> Vec<(String, u64)> {
    let line = stderr
        .iter()
        .find_map(|line| line.strip_prefix("ringside: otlp sent="))
        .map(|rest| format!("sent={rest}"))
        .unwrap_or_else(|| panic!("no otlp summary: {stderr:?}"));
    line.split_whitespace()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn count(counts: &[(String, u64)], key: &str) -> u64 {
    counts
        .iter()
        .find(|(name, _)| name == key)
        .map_or_else(|| panic!("no {key} in {counts:?}"), |(_, value)| *value)
}

#[test]
fn events_arrive_as_log_records_with_stacks_resource_headers_and_gzip() {
    if !kernel_tests_enabled("events_arrive_as_log_records_with_stacks_resource_headers_and_gzip") {
        return;
    }
    let receiver = Receiver::start(&[]);
    let endpoint = receiver.endpoint();
    let ringside = Ringside::start_with_env(
        &[
            "--otlp",
            &endpoint,
            "--otlp-compression",
            "gzip",
            "--otlp-header",
            "x-scope-orgid=tenant-7",
            "--comm",
            "nested-c",
        ],
        &[
            ("OTEL_SERVICE_NAME", "ringside-under-test"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
        ],
    );
    let dir = scratch_dir();
    let marker = path_string(&dir.path().join(format!("otlp-{}", nonce())));
    open_nested(&marker);
    let open = receiver.wait_for("the fixture's open", DELIVERY, |record| {
        attribute(record, "file.path").as_deref() == Some(marker.as_str())
    });
    assert_eq!(open.event_name, "ringside.open");
    assert_eq!(
        attribute(&open, "process.executable.name").as_deref(),
        Some("nested-c")
    );
    assert!(attribute(&open, "process.pid").is_some());
    let trace = attribute(&open, "code.stacktrace").unwrap_or_default();
    assert!(
        trace.contains("inner_open") && trace.contains("outer_open"),
        "the stack is not in code.stacktrace: {trace}"
    );
    assert!(attribute(&open, "ringside.stack.user").is_some());
    let exec = receiver.wait_for("the fixture's exec", DELIVERY, |record| {
        record.event_name == "ringside.exec"
            && attribute(record, "process.executable.name").as_deref() == Some("nested-c")
    });
    assert!(attribute(&exec, "process.executable.path").is_some());
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    // --json went on beside the export.
    assert!(
        finished
            .events
            .iter()
            .any(|event| event["path"] == marker.as_str()),
        "--json lost the open while exporting"
    );

    let requests = receiver.received();
    let first = &requests[0];
    assert_eq!(first.path, "/v1/logs");
    assert!(first.gzip, "the body was not gzipped");
    assert_eq!(first.header("x-scope-orgid"), Some("tenant-7"));
    assert_eq!(
        first.resource_attribute("service.name").as_deref(),
        Some("ringside-under-test")
    );
    assert_eq!(
        first
            .resource_attribute("deployment.environment")
            .as_deref(),
        Some("test")
    );
    assert!(first.resource_attribute("host.name").is_some());
    let counts = counts(&finished.stderr);
    let arrived = receiver.accepted_records().len() as u64;
    assert_eq!(count(&counts, "sent"), arrived, "{counts:?}");
    assert_eq!(count(&counts, "dropped_queue_full"), 0, "{counts:?}");
}

/// A collector that answers 503 for a while: the batch is retried (after the Retry-After it
/// gives), nothing is lost, and the retries are counted.
#[test]
fn a_busy_collector_gets_the_batch_again_and_nothing_is_lost() {
    if !kernel_tests_enabled("a_busy_collector_gets_the_batch_again_and_nothing_is_lost") {
        return;
    }
    let receiver = Receiver::start(&[503, 503]);
    let endpoint = receiver.endpoint();
    let ringside = Ringside::start(&["--otlp", &endpoint, "--comm", "nested-c"]);
    let dir = scratch_dir();
    let marker = path_string(&dir.path().join(format!("busy-{}", nonce())));
    open_nested(&marker);
    receiver.wait_for("the open, after two 503s", DELIVERY, |record| {
        attribute(record, "file.path").as_deref() == Some(marker.as_str())
    });
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let counts = counts(&finished.stderr);
    assert!(count(&counts, "retried") >= 2, "{counts:?}");
    assert_eq!(
        count(&counts, "sent"),
        receiver.accepted_records().len() as u64,
        "{counts:?}"
    );
    assert_eq!(count(&counts, "rejected"), 0, "{counts:?}");
    assert!(
        finished.stderr.iter().any(|line| line.contains("503")),
        "the collector's trouble was not said: {:?}",
        finished.stderr
    );
}

/// A 200 whose partial success rejects the records: they are counted as rejected, not sent.
#[test]
fn a_partial_success_counts_its_rejected_records() {
    if !kernel_tests_enabled("a_partial_success_counts_its_rejected_records") {
        return;
    }
    let receiver = Receiver::start(&[support::otlp_receiver::PARTIAL]);
    let endpoint = receiver.endpoint();
    let ringside = Ringside::start(&["--otlp", &endpoint, "--comm", "nested-c"]);
    let dir = scratch_dir();
    open_nested(&path_string(
        &dir.path().join(format!("partial-{}", nonce())),
    ));
    wait_for_a_request(&receiver);
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let counts = counts(&finished.stderr);
    let first = receiver.received()[0].records().count() as u64;
    assert_eq!(count(&counts, "rejected"), first, "{counts:?}");
    assert_eq!(count(&counts, "retried"), 0, "{counts:?}");
    assert_eq!(
        count(&counts, "sent"),
        receiver.accepted_records().len() as u64,
        "{counts:?}"
    );
}

/// A 400 is the collector refusing the data: counted as rejected, never sent again.
#[test]
fn a_refused_batch_is_counted_and_not_retried() {
    if !kernel_tests_enabled("a_refused_batch_is_counted_and_not_retried") {
        return;
    }
    let receiver = Receiver::start(&[400]);
    let endpoint = receiver.endpoint();
    let ringside = Ringside::start(&["--otlp", &endpoint, "--comm", "nested-c"]);
    let dir = scratch_dir();
    open_nested(&path_string(
        &dir.path().join(format!("refused-{}", nonce())),
    ));
    wait_for_a_request(&receiver);
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let counts = counts(&finished.stderr);
    let refused: u64 = receiver
        .received()
        .iter()
        .filter(|received| received.status == 400)
        .map(|received| received.records().count() as u64)
        .sum();
    assert!(refused > 0);
    assert_eq!(count(&counts, "rejected"), refused, "{counts:?}");
    assert_eq!(count(&counts, "retried"), 0, "{counts:?}");
    assert_eq!(
        receiver
            .received()
            .iter()
            .filter(|r| r.status == 400)
            .count(),
        1,
        "the refused batch was sent again"
    );
}

/// The same over gRPC: records with their stacks and headers as metadata, gzip, a busy
/// collector (UNAVAILABLE, then RESOURCE_EXHAUSTED with a retry delay) answered by retrying.
#[test]
fn grpc_delivers_the_same_records_and_retries_what_the_specification_says() {
    if !kernel_tests_enabled(
        "grpc_delivers_the_same_records_and_retries_what_the_specification_says",
    ) {
        return;
    }
    let receiver = Receiver::start_grpc(&[503, 429]);
    let endpoint = receiver.endpoint();
    let ringside = Ringside::start_with_env(
        &["--otlp", &endpoint, "--comm", "nested-c"],
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=tenant-9"),
        ],
    );
    let dir = scratch_dir();
    let marker = path_string(&dir.path().join(format!("grpc-{}", nonce())));
    open_nested(&marker);
    let open = receiver.wait_for("the open over gRPC", DELIVERY, |record| {
        attribute(record, "file.path").as_deref() == Some(marker.as_str())
    });
    assert!(
        attribute(&open, "code.stacktrace").is_some_and(|trace| trace.contains("inner_open")),
        "{open:?}"
    );
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let counts = counts(&finished.stderr);
    assert!(count(&counts, "retried") >= 2, "{counts:?}");
    assert_eq!(count(&counts, "rejected"), 0, "{counts:?}");
    let first = &receiver.received()[0];
    assert!(first.gzip, "the call was not gzipped");
    assert_eq!(first.header("x-scope-orgid"), Some("tenant-9"));
}

/// A program of the test's own name that opens `path` `times` times, from a copy of `sh` (its
/// `: < path` opens without a fork), so its events are told from the machine's.
fn opener(dir: &std::path::Path, times: u32, path: &str) -> std::process::Command {
    let id = nonce();
    let name = format!("otlp-{}", &id[id.len() - 8..]);
    let program = dir.join(&name);
    std::fs::copy("/bin/sh", &program).expect("copying sh");
    let mut command = std::process::Command::new(&program);
    command.args([
        "-c",
        &format!("i=0; while [ $i -lt {times} ]; do : < {path}; i=$((i+1)); done"),
    ]);
    command
}

fn comm_of(command: &std::process::Command) -> String {
    std::path::Path::new(command.get_program())
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .chars()
        .take(15)
        .collect()
}

/// A collector that is away at the start: ringside starts anyway, queues what fits in its
/// bound and counts the rest; when the collector comes, the queue is delivered.
#[test]
fn a_collector_away_at_start_gets_what_fit_and_the_rest_is_counted() {
    if !kernel_tests_enabled("a_collector_away_at_start_gets_what_fit_and_the_rest_is_counted") {
        return;
    }
    let port = support::sshd::closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = scratch_dir();
    let mut load = opener(dir.path(), 20_000, "/etc/hostname");
    let comm = comm_of(&load);
    let ringside = Ringside::start(&[
        "--otlp",
        &endpoint,
        "--otlp-queue",
        "1MiB",
        "--comm",
        &comm,
        "--events",
        "open",
    ]);
    assert!(load.status().expect("the opener").success());
    // The collector comes after ten seconds.
    std::thread::sleep(Duration::from_secs(10));
    let receiver = Receiver::start_on(port, &[]);
    let deadline = std::time::Instant::now() + DELIVERY;
    while receiver.accepted_records().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue was never delivered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the queue drain (a batch a second at most, 512 records each).
    std::thread::sleep(Duration::from_secs(3));
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let exported = finished
        .events
        .iter()
        .filter(|event| event["comm"] == comm.as_str())
        .count() as u64;
    assert!(exported >= 20_000, "only {exported} opens traced");
    let counts = counts(&finished.stderr);
    let sent = count(&counts, "sent");
    let dropped = count(&counts, "dropped_queue_full");
    assert!(dropped > 0, "a 1 MiB queue held 20,000 records: {counts:?}");
    assert!(sent > 0, "{counts:?}");
    assert_eq!(
        sent + dropped + count(&counts, "dropped_at_exit") + count(&counts, "rejected"),
        exported,
        "records unaccounted for: {counts:?}"
    );
    let ours = receiver
        .accepted_records()
        .iter()
        .filter(|record| attribute(record, "process.executable.name").as_deref() == Some(&comm))
        .count() as u64;
    assert_eq!(
        ours, sent,
        "the receiver got other than what was counted sent"
    );
    assert!(
        finished
            .stderr
            .iter()
            .any(|line| line.contains("queuing and retrying")),
        "the collector's absence was not said: {:?}",
        finished.stderr
    );
}

/// A storm into a collector that never answers: ringside's memory stays within its queue's
/// bound of a run without export, and the dropped records are counted, not held.
#[test]
fn a_storm_into_a_mute_collector_stays_within_the_queue_bound() {
    if !kernel_tests_enabled("a_storm_into_a_mute_collector_stays_within_the_queue_bound") {
        return;
    }
    let dir = scratch_dir();
    let peak_rss = |extra: &[&str]| -> (u64, Vec<String>) {
        let stats = dir.path().join(format!("stats-{}.json", nonce()));
        let stats_arg = path_string(&stats);
        let mut load = opener(dir.path(), 100_000, "/etc/hostname");
        let comm = comm_of(&load);
        let mut args = vec![
            "--comm",
            &comm,
            "--events",
            "open",
            // No stacks: their copies, held while symbols resolve, would make the baseline
            // swing by more than the queue's bound.
            "--stacks",
            "none",
            "--stats-file",
            &stats_arg,
        ];
        args.extend(extra);
        let ringside = Ringside::start_with_env(&args, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")]);
        assert!(load.status().expect("the opener").success());
        let finished = ringside.stop();
        assert!(finished.success, "{:?}", finished.stderr);
        let stats: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).expect("--stats-file"))
                .expect("stats JSON");
        (
            stats["peak_rss_kib"].as_u64().expect("peak_rss_kib"),
            finished.stderr,
        )
    };
    let (without, _) = peak_rss(&[]);
    let receiver = Receiver::start_mute();
    let endpoint = receiver.endpoint();
    let (with, stderr) = peak_rss(&["--otlp", &endpoint, "--otlp-queue", "16MiB"]);
    let counts = counts(&stderr);
    assert!(
        count(&counts, "dropped_queue_full") > 0,
        "nothing was dropped into a mute collector: {counts:?}"
    );
    assert_eq!(count(&counts, "sent"), 0, "{counts:?}");
    // The queue's bound, the hand-over between the threads (16,384 events) and one batch
    // in flight; the rest of the run is the same as without export.
    let allowance_kib = 16 * 1024 + 16 * 1024;
    eprintln!(
        "peak RSS: {without} KiB without export, {with} KiB into a mute collector; {counts:?}"
    );
    assert!(
        with <= without + allowance_kib,
        "peak RSS {with} KiB exporting against {without} KiB without: over the queue's bound"
    );
}

/// `--otlp --tui`: the TUI stays open, the records go out with their stacks (symbolized
/// after the event was shown), and the status bar counts them.
#[test]
fn beside_the_tui_events_go_out_with_their_stacks_and_are_counted() {
    if !kernel_tests_enabled("beside_the_tui_events_go_out_with_their_stacks_and_are_counted") {
        return;
    }
    let receiver = Receiver::start(&[]);
    let endpoint = receiver.endpoint();
    let mut tui = support::pty::Terminal::start(
        40,
        160,
        &["--otlp", &endpoint, "--tui", "--comm", "nested-c"],
    );
    tui.wait_for("the TUI", |screen| screen.contains("otlp ✓"));
    let dir = scratch_dir();
    let marker = path_string(&dir.path().join(format!("tui-{}", nonce())));
    open_nested(&marker);
    let open = receiver.wait_for("the open exported beside the TUI", DELIVERY, |record| {
        attribute(record, "file.path").as_deref() == Some(marker.as_str())
    });
    assert!(
        attribute(&open, "code.stacktrace").is_some_and(|trace| trace.contains("inner_open")),
        "exported without its stacks: {open:?}"
    );
    let sent = receiver.accepted_records().len();
    tui.wait_for("the status bar's count", |screen| {
        screen.contains(&format!("otlp ✓{sent}"))
    });
    tui.pty.type_keys("q").expect("q");
    let deadline = std::time::Instant::now() + support::EXIT_PATIENCE;
    while tui.pty.try_wait().expect("wait").is_none() {
        assert!(std::time::Instant::now() < deadline, "the TUI did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A refused connect and a DNS lookup: the network and DNS conventions on their records.
#[test]
fn connects_and_lookups_carry_the_network_and_dns_conventions() {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
    if !kernel_tests_enabled("connects_and_lookups_carry_the_network_and_dns_conventions") {
        return;
    }
    let name = format!("otlp-{}.ringside.test", nonce());
    let responder = support::dns_responder::DnsResponder::start_on(
        SocketAddr::from((Ipv4Addr::new(127, 0, 83, 2), 53)),
        &[(&name, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)))],
    )
    .expect("a responder on 127.0.83.2:53");
    let receiver = Receiver::start(&[]);
    let endpoint = receiver.endpoint();
    let me = std::process::id().to_string();
    let ringside = Ringside::start(&["--otlp", &endpoint, "--pid", &me, "--events", "connect,dns"]);

    let closed = support::sshd::closed_port();
    assert!(TcpStream::connect(("127.0.0.1", closed)).is_err());
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    client
        .send_to(
            &support::dns_responder::query_bytes(0x5151, &name, 1),
            responder.addr(),
        )
        .expect("send");
    let mut reply = [0; 512];
    client.recv_from(&mut reply).expect("answer");

    let connect = receiver.wait_for("the refused connect", DELIVERY, |record| {
        record.event_name == "ringside.connect"
            && attribute(record, "network.peer.port") == Some(closed.to_string())
    });
    assert_eq!(
        attribute(&connect, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attribute(&connect, "network.transport").as_deref(),
        Some("tcp")
    );
    assert_eq!(
        attribute(&connect, "error.type").as_deref(),
        Some("ECONNREFUSED")
    );
    assert_eq!(connect.severity_text, "WARN");
    let lookup = receiver.wait_for("the lookup", DELIVERY, |record| {
        attribute(record, "dns.question.name").as_deref() == Some(name.as_str())
    });
    assert_eq!(
        attribute(&lookup, "server.address").as_deref(),
        Some("127.0.83.2")
    );
    assert_eq!(attribute(&lookup, "server.port").as_deref(), Some("53"));
    assert!(
        attribute(&lookup, "dns.answers").is_some_and(|answers| answers.contains("192.0.2.9")),
        "{lookup:?}"
    );
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
}

/// HTTPS to a collector whose certificate only `OTEL_EXPORTER_OTLP_CERTIFICATE`'s CA vouches
/// for: trusted with it, refused (and retried, never sent in clear) without it.
#[test]
fn https_trusts_the_certificate_file_and_nothing_else() {
    if !kernel_tests_enabled("https_trusts_the_certificate_file_and_nothing_else") {
        return;
    }
    let dir = scratch_dir();
    let (acceptor, ca_pem) = support::otlp_tls::certificate_authority(dir.path());
    let receiver = Receiver::start_tls(acceptor);
    let endpoint = receiver.endpoint();
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let ca = path_string(&ca_pem);
    let ringside = Ringside::start_with_env(
        &["--otlp", &endpoint, "--comm", "nested-c"],
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)],
    );
    let marker = path_string(&dir.path().join(format!("tls-{}", nonce())));
    open_nested(&marker);
    receiver.wait_for("the open over HTTPS", DELIVERY, |record| {
        attribute(record, "file.path").as_deref() == Some(marker.as_str())
    });
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);

    // Without the CA file the certificate is not trusted: nothing arrives, and it is said.
    let before = receiver.received().len();
    let ringside = Ringside::start(&["--otlp", &endpoint, "--comm", "nested-c"]);
    open_nested(&path_string(
        &dir.path().join(format!("untrusted-{}", nonce())),
    ));
    std::thread::sleep(Duration::from_secs(3));
    let finished = ringside.stop();
    assert_eq!(
        receiver.received().len(),
        before,
        "sent to an untrusted collector"
    );
    let counts = counts(&finished.stderr);
    assert_eq!(count(&counts, "sent"), 0, "{counts:?}");
    assert!(count(&counts, "retried") > 0, "{counts:?}");
}
