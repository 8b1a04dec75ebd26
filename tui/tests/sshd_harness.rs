//! The private ssh "hosts" harness (`support::sshd`) itself: an sshd of the test's own lets
//! root in, goes away and comes back on its port, and refuses a key it does not know.

mod support;

use std::process::Output;

use support::kernel_tests_enabled;
use support::sshd::{Sshd, closed_port};

fn describe(out: &Output, sshd: &Sshd) -> String {
    format!(
        "ssh exited {}; stdout: {:?}; stderr: {:?}; sshd log: {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    )
}

#[test]
fn a_private_sshd_runs_a_command_as_root() {
    if !kernel_tests_enabled("a_private_sshd_runs_a_command_as_root") {
        return;
    }
    let sshd = Sshd::start();
    assert_eq!(
        sshd.destination(),
        format!("ssh://root@127.0.0.1:{}", sshd.port())
    );
    assert!(sshd.ssh_config().starts_with(sshd.dir()));
    let out = sshd.ssh("id -u");
    assert!(out.status.success(), "{}", describe(&out, &sshd));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "{}",
        describe(&out, &sshd)
    );
}

#[test]
fn a_stopped_sshd_refuses_and_a_restarted_one_answers() {
    if !kernel_tests_enabled("a_stopped_sshd_refuses_and_a_restarted_one_answers") {
        return;
    }
    let mut sshd = Sshd::start();
    let port = sshd.port();
    let out = sshd.ssh("true");
    assert!(
        out.status.success(),
        "before stop: {}",
        describe(&out, &sshd)
    );

    sshd.stop();
    sshd.stop(); // idempotent
    let out = sshd.ssh("true");
    assert!(
        !out.status.success(),
        "after stop: {}",
        describe(&out, &sshd)
    );

    sshd.restart();
    assert_eq!(sshd.port(), port, "restart keeps the port");
    let out = sshd.ssh("id -u");
    assert!(
        out.status.success(),
        "after restart: {}",
        describe(&out, &sshd)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn a_refusing_sshd_fails_authentication() {
    if !kernel_tests_enabled("a_refusing_sshd_fails_authentication") {
        return;
    }
    let sshd = Sshd::start_refusing();
    let out = sshd.ssh("true");
    assert!(!out.status.success(), "{}", describe(&out, &sshd));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        describe(&out, &sshd)
    );
}

#[test]
fn a_closed_port_has_nothing_listening() {
    let port = closed_port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn stopping_an_sshd_ends_its_sessions() {
    if !kernel_tests_enabled("stopping_an_sshd_ends_its_sessions") {
        return;
    }
    let mut sshd = Sshd::start();
    let mut session = std::process::Command::new("ssh")
        .arg("-F")
        .arg(sshd.ssh_config())
        .args(["-p", &sshd.port().to_string(), "root@127.0.0.1", "--"])
        .args(["echo $$; exec sleep 600"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running ssh");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(session.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("reading the session");
    let command: i32 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid from the session: {line:?}; log: {}", sshd.log()));

    sshd.stop();
    let ended = support::exit_status_in_time(&mut session);
    assert!(
        ended.is_some_and(|status| !status.success()),
        "the session outlived its sshd: {ended:?}; sshd log: {}",
        sshd.log()
    );
    // Nothing here may reap it: an exited process stays a zombie.
    let stat = std::fs::read_to_string(format!("/proc/{command}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    assert!(
        state.is_none_or(|state| state == "Z"),
        "the session's command (pid {command}) outlived its sshd: {stat}"
    );
}
