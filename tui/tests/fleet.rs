//! Many servers in one view, with real ssh: each "host" is a private sshd on a 127.0.0.1 port,
//! and the remote ringside is this build's binary (`--remote-path`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::fixtures::{fixtures, open_nested};
use support::sshd::{Sshd, client_config, closed_port};
use support::{Ringside, field, kernel_tests_enabled, nonce, path_string, scratch_dir};

const RINGSIDE: &str = env!("CARGO_BIN_EXE_ringside");

/// Private ssh hosts with their labels, the client config that reaches them all, and a
/// scratch directory for the test's files.
struct Hosts {
    daemons: Vec<Sshd>,
    /// `--host=LABEL=ssh://root@127.0.0.1:PORT`, one each.
    args: Vec<String>,
    config: String,
    dir: tempfile::TempDir,
}

impl Hosts {
    fn start(labelled: Vec<(&str, Sshd)>) -> Hosts {
        let dir = scratch_dir();
        let mut daemons = Vec::new();
        let mut args = Vec::new();
        for (label, daemon) in labelled {
            args.push(host_arg(label, &daemon));
            daemons.push(daemon);
        }
        let config = path_string(&client_config(
            dir.path(),
            &daemons.iter().collect::<Vec<_>>(),
        ));
        Hosts {
            daemons,
            args,
            config,
            dir,
        }
    }

    /// Two hosts that let the client in, `web1` and `web2`.
    fn web1_web2() -> Hosts {
        Hosts::start(vec![("web1", Sshd::start()), ("web2", Sshd::start())])
    }

    /// The fleet view's arguments after `--json`: these hosts, this build as the remote, and
    /// `rest`.
    fn view_args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&str> = vec!["--ssh-config", &self.config, "--remote-path", RINGSIDE];
        args.extend(self.args.iter().map(String::as_str));
        args.extend(rest);
        args
    }

    /// A path for the test's own files.
    fn file(&self, name: &str) -> String {
        path_string(&self.dir.path().join(name))
    }
}

fn host_arg(label: &str, sshd: &Sshd) -> String {
    format!("--host={label}={}", sshd.destination())
}

#[test]
fn two_hosts_report_one_workload_each_with_its_host_and_symbolized_stack() {
    if !kernel_tests_enabled(
        "two_hosts_report_one_workload_each_with_its_host_and_symbolized_stack",
    ) {
        return;
    }
    let hosts = Hosts::web1_web2();
    let ringside = Ringside::start_fleet(
        &hosts.view_args(&["--events", "open", "--comm", "nested-c"]),
        2,
    );
    let marker = hosts.file(&format!("fleet-{}", nonce()));
    open_nested(&marker);
    for host in ["web1", "web2"] {
        let event = ringside.wait_for(&format!("{host}'s open"), |event| {
            field(event, "path") == marker.as_str() && field(event, "host") == host
        });
        let symbols: Vec<&str> = field(&event, "ustack")
            .as_array()
            .expect("ustack")
            .iter()
            .filter_map(|frame| frame["symbol"].as_str())
            .collect();
        assert!(
            symbols.contains(&"inner_open") && symbols.contains(&"outer_open"),
            "{host}: not symbolized by the remote: {symbols:?}"
        );
    }
    // Opens spread over many flushes: the hosts' events come out as one time order.
    let series = format!("{marker}-series");
    for n in 0..10 {
        open_nested(&format!("{series}-{n}"));
        std::thread::sleep(Duration::from_millis(15));
    }
    let ours = |event: &serde_json::Value| {
        field(event, "path")
            .as_str()
            .is_some_and(|path| path.starts_with(&series))
    };
    assert_eq!(ringside.wait_for_count(20, ours), 20);
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let times: Vec<String> = finished
        .events
        .iter()
        .filter(|event| ours(event))
        .map(|event| field(event, "time").as_str().expect("time").to_owned())
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "the hosts' events are not in time order: {times:#?}"
    );

    // A filter on `host` means the same on each remote as here.
    let ringside = Ringside::start_fleet(
        &hosts.view_args(&[
            "--events",
            "open",
            "--comm",
            "nested-c",
            "--filter",
            "host=web1",
        ]),
        2,
    );
    let only = hosts.file(&format!("only-{}", nonce()));
    open_nested(&only);
    ringside.wait_for("web1's open under host=web1", |event| {
        field(event, "path") == only.as_str() && field(event, "host") == "web1"
    });
    std::thread::sleep(Duration::from_secs(1));
    let finished = ringside.stop();
    assert!(
        !finished.events.iter().any(|e| field(e, "host") == "web2"),
        "host=web1 let web2's events through"
    );
}

#[test]
fn a_dead_host_fails_alone_and_comes_back_when_its_sshd_does() {
    if !kernel_tests_enabled("a_dead_host_fails_alone_and_comes_back_when_its_sshd_does") {
        return;
    }
    let mut hosts = Hosts::web1_web2();
    let mut ringside = Ringside::start_fleet(
        &hosts.view_args(&["--events", "open", "--comm", "nested-c"]),
        2,
    );
    hosts.daemons[0].stop();
    ringside.wait_for_stderr_count("host web1: failed", 1, Duration::from_secs(30));
    let marker = hosts.file(&format!("alone-{}", nonce()));
    open_nested(&marker);
    ringside.wait_for("web2 still delivering", |event| {
        field(event, "path") == marker.as_str() && field(event, "host") == "web2"
    });
    hosts.daemons[0].restart();
    ringside.wait_for_stderr_count("host web1: live", 2, Duration::from_secs(60));
    let again = hosts.file(&format!("again-{}", nonce()));
    open_nested(&again);
    ringside.wait_for("web1 back", |event| {
        field(event, "path") == again.as_str() && field(event, "host") == "web1"
    });
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
}

/// A host that refuses the key and a port with nothing listening: each says why, and the run
/// ends non-zero since they never came up; the good host delivers meanwhile.
#[test]
fn hosts_that_refuse_or_are_not_there_say_why_and_the_rest_runs() {
    if !kernel_tests_enabled("hosts_that_refuse_or_are_not_there_say_why_and_the_rest_runs") {
        return;
    }
    let mut hosts = Hosts::start(vec![
        ("good", Sshd::start()),
        ("locked", Sshd::start_refusing()),
    ]);
    hosts.args.push(format!(
        "--host=gone=ssh://root@127.0.0.1:{}",
        closed_port()
    ));
    let mut ringside = Ringside::start_fleet(
        &hosts.view_args(&["--events", "open", "--comm", "nested-c"]),
        1,
    );
    ringside.wait_for_stderr_count("host locked: failed", 1, Duration::from_secs(30));
    ringside.wait_for_stderr_count("host gone: failed", 1, Duration::from_secs(30));
    let marker = hosts.file(&format!("rest-{}", nonce()));
    open_nested(&marker);
    ringside.wait_for("the good host's open", |event| {
        field(event, "path") == marker.as_str() && field(event, "host") == "good"
    });
    let finished = ringside.stop();
    let stderr = finished.stderr.join("\n");
    assert!(
        !finished.success,
        "a host never came up, yet it succeeded:\n{stderr}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(
        stderr.contains("never came up: gone") || stderr.contains("never came up: locked"),
        "{stderr}"
    );
}

/// A script in place of the remote ringside, run over ssh.
fn fake_remote(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    path_string(&path)
}

/// This build's version line, as `ringside --version` says it and a remote's hello carries it.
fn our_version() -> String {
    let output = Command::new(RINGSIDE)
        .arg("--version")
        .output()
        .expect("version");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .trim_start_matches("ringside ")
        .to_owned()
}

/// Runs a one-host fleet view until it ends by itself (the host is refused or gives up), and
/// returns its exit status and stderr.
fn run_one_host(config: &str, host: &str, remote: &str) -> (bool, String, Duration) {
    let started = Instant::now();
    let output = Command::new(RINGSIDE)
        .args(["--json", "--log-file", "/dev/null", "--ssh-config", config])
        .args(["--remote-path", remote, host, "--duration", "8"])
        .stdin(Stdio::null())
        .output()
        .expect("ringside");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_remote_of_another_version_is_refused_with_both_versions_named() {
    if !kernel_tests_enabled("a_remote_of_another_version_is_refused_with_both_versions_named") {
        return;
    }
    let hosts = Hosts::start(vec![("old", Sshd::start())]);
    let remote = fake_remote(
        hosts.dir.path(),
        "old-ringside",
        "echo 'RINGSIDE-STREAM 1 0.0.1 (commit 0000000, built 2020-01-01, static musl)'; cat >/dev/null",
    );
    let (success, stderr, _) = run_one_host(&hosts.config, &hosts.args[0], &remote);
    assert!(!success, "{stderr}");
    assert!(stderr.contains("old runs ringside 0.0.1"), "{stderr}");
    assert!(stderr.contains("--remote-path"), "{stderr}");
    let ours = our_version();
    assert!(
        stderr.contains(&ours),
        "our version {ours} not named: {stderr}"
    );
}

#[test]
fn a_remote_that_sends_garbage_fails_and_the_viewer_survives() {
    if !kernel_tests_enabled("a_remote_that_sends_garbage_fails_and_the_viewer_survives") {
        return;
    }
    let hosts = Hosts::start(vec![("noisy", Sshd::start())]);
    let version = our_version();
    // The right hello, then random bytes where frames belong, then garbage from the start.
    let after_hello = fake_remote(
        hosts.dir.path(),
        "noisy",
        &format!("echo 'RINGSIDE-STREAM 1 {version}'; head -c 2000000 /dev/urandom; sleep 1"),
    );
    let (success, stderr, took) = run_one_host(&hosts.config, &hosts.args[0], &after_hello);
    assert!(!success, "{stderr}");
    assert!(stderr.contains("host noisy: failed"), "{stderr}");
    assert!(took < Duration::from_secs(30), "the viewer hung: {took:?}");
    let no_hello = fake_remote(hosts.dir.path(), "raw", "head -c 100000 /dev/urandom");
    let (success, stderr, _) = run_one_host(
        &hosts.config,
        &host_arg("raw", &hosts.daemons[0]),
        &no_hello,
    );
    assert!(!success, "{stderr}");
    assert!(stderr.contains("not a ringside stream"), "{stderr}");
}

/// Closing the viewer detaches every remote: no `ringside stream` is left running.
#[test]
fn closing_the_viewer_leaves_no_remote_running() {
    if !kernel_tests_enabled("closing_the_viewer_leaves_no_remote_running") {
        return;
    }
    let hosts = Hosts::web1_web2();
    let comm = format!("leftover-{}", &nonce()[..6]);
    let ringside = Ringside::start_fleet(&hosts.view_args(&["--comm", &comm]), 2);
    let remotes = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                    let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    text.contains(" stream ") && text.contains(&comm)
                })
            })
            .collect()
    };
    assert_eq!(remotes().len(), 2, "the two remotes should be running");
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !remotes().is_empty() {
        assert!(
            Instant::now() < deadline,
            "remote ringside still running after the viewer left: {:?}",
            remotes()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `ringside --host … record` keeps each event's host, and the replay shows it.
#[test]
fn a_fleet_recording_replays_with_its_hosts() {
    if !kernel_tests_enabled("a_fleet_recording_replays_with_its_hosts") {
        return;
    }
    let hosts = Hosts::web1_web2();
    let file = hosts.file("fleet.rsrec");
    let mut recorder = Command::new(RINGSIDE)
        .args(hosts.view_args(&[]))
        .args([
            "record", "-o", &file, "--events", "open", "--comm", "nested-c",
        ])
        .args(["--log-file", "/dev/null"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ringside record");
    let lines = support::stderr_once_said(&mut recorder, ": live", 2);
    let marker = hosts.file(&format!("recorded-{}", nonce()));
    open_nested(&marker);
    std::thread::sleep(Duration::from_secs(2));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(recorder.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let status = recorder.wait().expect("wait");
    let stderr = lines.join().expect("stderr").join("\n");
    assert!(status.success(), "{stderr}");
    let replay = Command::new(RINGSIDE)
        .args(["replay", &file, "--json", "--log-file", "/dev/null"])
        .output()
        .expect("replay");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&replay.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    for host in ["web1", "web2"] {
        assert!(
            events
                .iter()
                .any(|e| field(e, "path") == marker.as_str() && field(e, "host") == host),
            "the replay lacks {host}'s open: {stderr}"
        );
    }
}

/// The fleet TUI: both hosts' events with their HOST, each host's state on its line, and a
/// filter typed in the TUI reaching both remotes: what it kept out never arrived, so clearing
/// it brings nothing back.
#[test]
fn a_filter_typed_in_the_fleet_tui_reaches_every_host() {
    if !kernel_tests_enabled("a_filter_typed_in_the_fleet_tui_reaches_every_host") {
        return;
    }
    use support::pty::Terminal;
    let mut hosts = Hosts::web1_web2();
    // A command name of its own: the other tests' fixtures run meanwhile, and their rows
    // would push this test's off the screen.
    let id = nonce();
    let comm = format!("fl-{}", &id[id.len() - 6..]);
    let program = hosts.dir.path().join(&comm);
    std::fs::copy(&fixtures().c, &program).expect("copy the fixture");
    let open_as_own = |marker: &str| {
        let status = Command::new(&program)
            .args(["open", marker, "exit"])
            .status()
            .expect("fixture");
        assert!(status.success());
    };
    let args = hosts.view_args(&["--events", "open", "--comm", &comm]);
    let mut tui = Terminal::start(40, 200, &args);
    tui.wait_for("both hosts live", |s| {
        s.contains("web1 ●") && s.contains("web2 ●")
    });
    let rows_with = |screen: &str, text: &str, host: &str| {
        screen
            .lines()
            .any(|line| line.contains(text) && line.contains(host))
    };
    // Opens `name` until both hosts' rows of it are on screen at once (a busy machine's
    // other rows may push a first one out of view).
    let scratch = hosts.dir.path().to_owned();
    let until_both_show = |tui: &Terminal, name: &str| {
        let path = path_string(&scratch.join(name));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            open_as_own(&path);
            let shown = Instant::now() + Duration::from_secs(5);
            while Instant::now() < shown {
                let text = tui.contents();
                if rows_with(&text, name, "web1") && rows_with(&text, name, "web2") {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(
                Instant::now() < deadline,
                "{name} never showed from both hosts:\n{}",
                tui.contents()
            );
        }
    };
    until_both_show(&tui, &format!("first-{id}"));

    tui.pty
        .type_keys(&format!("f{}path~keep-{id}\r", "\x7f".repeat(40)))
        .expect("keys");
    tui.wait_for("the filter applied", |s| {
        s.contains(&format!("filter: path~keep-{id}"))
    });
    // The remotes take the filter as their next control frame: give it a moment to travel.
    std::thread::sleep(Duration::from_secs(2));
    let dropped = format!("drop-{id}");
    let kept = format!("keep-{id}");
    open_as_own(&hosts.file(&dropped));
    until_both_show(&tui, &kept);
    // How many of `name`'s events the viewer holds: a filter on it shows the count
    // (`Events [All] 0/…`), whatever scrolled off the screen.
    let title_under = |tui: &mut Terminal, name: &str| -> String {
        tui.pty
            .type_keys(&format!("f{}path~{name}\r", "\x7f".repeat(60)))
            .expect("keys");
        tui.wait_for("a filter on one name", |s| {
            s.contains(&format!("filter: path~{name}"))
        });
        std::thread::sleep(Duration::from_millis(500));
        let screen = tui.contents();
        let title = screen.lines().find(|line| line.contains("Events [All]"));
        title.unwrap_or_default().to_owned()
    };
    let title = title_under(&mut tui, &dropped);
    assert!(
        title.contains("Events [All] 0/"),
        "an event the filter kept out reached the viewer: {title}"
    );

    // A filter typed while a host is down reaches it when it comes back.
    hosts.daemons[1].stop();
    tui.wait_for("web2 down", |s| s.contains("web2 ✗"));
    tui.pty
        .type_keys(&format!("f{}path~late-{id}\r", "\x7f".repeat(60)))
        .expect("keys");
    tui.wait_for("the second filter", |s| {
        s.contains(&format!("filter: path~late-{id}"))
    });
    hosts.daemons[1].restart();
    tui.wait_for("web2 back", |s| s.contains("web2 ●"));
    let early = format!("early-{id}");
    open_as_own(&hosts.file(&early));
    until_both_show(&tui, &format!("late-{id}"));
    let title = title_under(&mut tui, &early);
    assert!(
        title.contains("Events [All] 0/"),
        "the host that came back did not get the filter typed while it was away: {title}"
    );

    tui.pty.type_keys("q").expect("q");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tui.pty.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the fleet TUI did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `--install` copies the static binary into a host's empty home, checks it and runs it; the
/// next run finds the copy and reuses it.
#[test]
fn install_copies_the_static_binary_into_an_empty_home_then_reuses_it() {
    let test = "install_copies_the_static_binary_into_an_empty_home_then_reuses_it";
    if !kernel_tests_enabled(test) {
        return;
    }
    let dist = support::dist_binary(test);
    let hosts = Hosts::start(vec![("fresh", Sshd::start())]);
    let cache = hosts.daemons[0].home().join(".cache/ringside");
    assert!(!cache.exists(), "the home is not empty");
    let args = [
        "--ssh-config",
        &hosts.config,
        "--install",
        &hosts.args[0],
        "--events",
        "open",
        "--comm",
        "nested-c",
    ];

    let ringside = Ringside::start_fleet_with(&dist, &args, 1);
    let marker = hosts.file(&format!("installed-{}", nonce()));
    open_nested(&marker);
    let event = ringside.wait_for("the installed copy's open", |event| {
        field(event, "path") == marker.as_str() && field(event, "host") == "fresh"
    });
    assert!(
        field(&event, "ustack").to_string().contains("inner_open"),
        "the copy did not symbolize: {event}"
    );
    let first = ringside.stop();
    assert!(first.success, "{:?}", first.stderr);
    let copies: Vec<PathBuf> = std::fs::read_dir(&cache)
        .expect("the cache directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let copy = &copies[0];
    let name = copy.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("ringside-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    assert_eq!(
        std::fs::read(copy).expect("the copy"),
        std::fs::read(&dist).expect("the binary"),
        "the copy differs from the binary"
    );
    let said = |lines: &[String], what: &str| lines.iter().any(|line| line.contains(what));
    let copied = format!("host fresh: copied ringside to {}", copy.display());
    assert!(said(&first.stderr, &copied), "{:?}", first.stderr);

    let modified = std::fs::metadata(copy).and_then(|m| m.modified()).unwrap();
    let ringside = Ringside::start_fleet_with(&dist, &args, 1);
    let second = ringside.stop();
    assert!(second.success, "{:?}", second.stderr);
    let reused = format!("host fresh: reusing {}", copy.display());
    assert!(said(&second.stderr, &reused), "{:?}", second.stderr);
    assert_eq!(
        std::fs::metadata(copy).and_then(|m| m.modified()).unwrap(),
        modified,
        "the copy was written again"
    );
}

/// A dynamic build is not copied to other machines: it names what to run instead.
#[test]
fn install_refuses_a_dynamic_build() {
    let output = Command::new(RINGSIDE)
        .args(["--json", "--install", "--host", "web1"])
        .stdin(Stdio::null())
        .output()
        .expect("ringside");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("dynamic build"), "{stderr}");
    assert!(stderr.contains("cargo xtask dist"), "{stderr}");
}

/// `--host … --otlp`: every host's events go to the collector, each record naming its host.
#[test]
fn a_fleet_exports_each_event_with_its_host() {
    if !kernel_tests_enabled("a_fleet_exports_each_event_with_its_host") {
        return;
    }
    let receiver = support::otlp_receiver::Receiver::start(&[]);
    let endpoint = receiver.endpoint();
    let hosts = Hosts::web1_web2();
    let ringside = Ringside::start_fleet(
        &hosts.view_args(&[
            "--otlp", &endpoint, "--events", "open", "--comm", "nested-c",
        ]),
        2,
    );
    let marker = hosts.file(&format!("exported-{}", nonce()));
    open_nested(&marker);
    for host in ["web1", "web2"] {
        receiver.wait_for(
            &format!("{host}'s open"),
            Duration::from_secs(30),
            |record| {
                support::otlp_receiver::attribute(record, "file.path").as_deref()
                    == Some(marker.as_str())
                    && support::otlp_receiver::attribute(record, "host.name").as_deref()
                        == Some(host)
            },
        );
    }
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
}
