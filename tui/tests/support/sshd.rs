//! Private ssh "hosts" for kernel tests: an `sshd` of the test's own on 127.0.0.1, started
//! from a config, keys and `authorized_keys` in a temp directory, never the system's sshd or
//! `/etc/ssh` (see `docs/platform.md`, "Private ssh hosts for tests").
//!
//! [`Sshd::start`] runs one that lets the test's client key in as root; [`Sshd::start_refusing`]
//! one whose `authorized_keys` holds another key, so authentication fails. Clients connect with
//! `ssh -F` [`Sshd::ssh_config`], which names the client key and trusts any host key without
//! asking. [`Sshd::stop`] takes the host away (the daemon, its connections and the commands they
//! run) and
//! [`Sshd::restart`] brings it back on the same port with the same keys. Dropping an [`Sshd`]
//! stops it.
//!
//! sshd needs root (it runs as root and logs in as root); gate tests that use it with
//! [`super::kernel_tests_enabled`].
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long sshd gets to listen after it was started, and to stop listening after SIGTERM.
const READY: Duration = Duration::from_secs(10);
/// How long one probe of the port waits for the connection.
const PROBE: Duration = Duration::from_millis(200);
/// How often a fresh port is tried when another process took the one picked for sshd.
const PORT_ATTEMPTS: usize = 5;
const SSHD: &str = "/usr/sbin/sshd";
/// sshd's privilege separation directory: it refuses to start without it.
const PRIVSEP_DIR: &str = "/run/sshd";

/// An sshd on 127.0.0.1 that lets root in with the key in [`Sshd::ssh_config`] (or, from
/// [`Sshd::start_refusing`], lets no one in).
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    /// The daemon's pid while it runs.
    pid: Option<i32>,
}

impl Sshd {
    /// Starts an sshd that lets root in with the client key, and waits until it listens.
    pub fn start() -> Self {
        Self::start_with(Authorized::ClientKey)
    }

    /// Starts an sshd whose `authorized_keys` holds a key other than the client's, so every
    /// login fails with `Permission denied`.
    pub fn start_refusing() -> Self {
        Self::start_with(Authorized::OtherKey)
    }

    fn start_with(authorized: Authorized) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ringside-sshd-")
            .tempdir()
            .expect("temp dir for sshd");
        let path = dir.path();
        keygen(&path.join("host_key"));
        keygen(&path.join("client_key"));
        let authorized_key = match authorized {
            Authorized::ClientKey => path.join("client_key.pub"),
            Authorized::OtherKey => {
                keygen(&path.join("other_key"));
                path.join("other_key.pub")
            }
        };
        fs::copy(&authorized_key, path.join("authorized_keys")).expect("writing authorized_keys");
        write_client_config(path);
        fs::create_dir_all(path.join("home")).expect("mkdir home");
        fs::create_dir_all(PRIVSEP_DIR).expect("mkdir -p /run/sshd");

        let mut sshd = Self {
            dir,
            port: closed_port(),
            pid: None,
        };
        // The port is free when picked but another process may take it before sshd binds it:
        // sshd then fails before it daemonizes, and another port is tried.
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            match sshd.launch() {
                Ok(()) => return sshd,
                Err(failure) => failures.push(failure),
            }
            sshd.port = closed_port();
        }
        panic!("sshd did not start in {PORT_ATTEMPTS} attempts: {failures:#?}");
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client config for `ssh -F`: the client key, no host key checks, no prompts.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// `ssh://root@127.0.0.1:PORT`.
    pub fn destination(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// The home of its logins: empty at first, its own (sshd sets `HOME` to it), so what a
    /// session writes under `~` stays in the test's directory.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The temp directory with its config, keys, pid file and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd logged (at `LogLevel ERROR`), for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Runs `command` as root on this host: `ssh -F CONFIG -p PORT root@127.0.0.1 -- command`.
    pub fn ssh(&self, command: &str) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args([
                "-p",
                &self.port.to_string(),
                "root@127.0.0.1",
                "--",
                command,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("running ssh")
    }

    /// Stops the daemon (SIGTERM, then SIGKILL if it still listens after [`READY`]), kills its
    /// connections and the commands they run, and waits until the port refuses connections.
    /// Stopping a stopped sshd does nothing.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else {
            return;
        };
        // A connection's sshd and the commands of its session outlive the listener unless
        // told: a host that goes away takes them along, as it would a machine's processes.
        for session in descendants_of(pid) {
            let _ = kill(Pid::from_raw(session), Signal::SIGKILL);
        }
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let _ = fs::remove_file(self.pid_file());
        if wait_until(READY, || !accepts(self.port)) {
            return;
        }
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        if !wait_until(READY, || !accepts(self.port)) && !std::thread::panicking() {
            panic!(
                "sshd (pid {pid}) still accepts on port {} after SIGTERM and SIGKILL; log: {}",
                self.port,
                self.log()
            );
        }
    }

    /// Starts sshd again on the same port with the same keys (stopping it first if it runs),
    /// for a host that comes back.
    pub fn restart(&mut self) {
        self.stop();
        // The port was free a moment ago; should something take it between, keep trying.
        let deadline = Instant::now() + READY;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(failure) => assert!(
                    Instant::now() < deadline,
                    "sshd did not restart on port {}: {failure}",
                    self.port
                ),
            }
            std::thread::sleep(PROBE);
        }
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("sshd.pid")
    }

    /// Writes the config for this port and runs sshd, which daemonizes; waits until it
    /// listens and has written its pid file.
    fn launch(&mut self) -> Result<(), String> {
        let dir = self.dir.path();
        let config = dir.join("sshd_config");
        fs::write(&config, server_config(dir, self.port)).expect("writing sshd_config");
        let _ = fs::remove_file(self.pid_file());
        let log = dir.join("sshd.log");
        // sshd binds its port before it forks into the background, so a port taken by now
        // shows in the foreground process's exit status.
        let out = Command::new(SSHD)
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("running {SSHD} (openssh-server): {error}"));
        if !out.status.success() {
            return Err(format!(
                "{SSHD} exited ({}) on port {}: {}{}",
                out.status,
                self.port,
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ));
        }
        let mut pid = None;
        let ready = wait_until(READY, || {
            pid = pid.or_else(|| read_pid(&self.pid_file()));
            pid.is_some() && accepts(self.port)
        });
        self.pid = pid;
        if ready {
            return Ok(());
        }
        self.stop();
        Err(format!(
            "sshd did not listen on port {} with a pid file within {} s; log: {}",
            self.port,
            READY.as_secs(),
            self.log()
        ))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Authorized {
    ClientKey,
    OtherKey,
}

/// A port on 127.0.0.1 that nothing listens on (nothing did when it was picked).
pub fn closed_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("binding a free port on 127.0.0.1")
        .port()
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", "ringside-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("running ssh-keygen (openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn server_config(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {dir}/host_key\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         PermitRootLogin prohibit-password\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PidFile {dir}/sshd.pid\n\
         SetEnv HOME={dir}/home\n\
         LogLevel ERROR\n"
    )
}

/// One client config, written to `dir/ssh_config`, that reaches every one of `daemons` at its
/// [`Sshd::destination`] with that daemon's own key: one key each, matched by port, so no
/// daemon sees the others' keys (sshd allows six attempts, and a fleet has more hosts).
pub fn client_config(dir: &Path, daemons: &[&Sshd]) -> PathBuf {
    let mut text = String::new();
    for daemon in daemons {
        text.push_str(&format!(
            "Match exec \"test %p = {}\"\n    IdentityFile {}\n",
            daemon.port,
            daemon.dir().join("client_key").display()
        ));
    }
    text.push_str(
        "Host *\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    \
         BatchMode yes\n    IdentitiesOnly yes\n    LogLevel ERROR\n    ConnectTimeout 5\n",
    );
    let path = dir.join("ssh_config");
    fs::write(&path, text).expect("writing the client config");
    path
}

fn write_client_config(dir: &Path) {
    let text = format!(
        "Host *\n    \
         StrictHostKeyChecking no\n    \
         UserKnownHostsFile /dev/null\n    \
         BatchMode yes\n    \
         IdentityFile {}/client_key\n    \
         IdentitiesOnly yes\n    \
         LogLevel ERROR\n    \
         ConnectTimeout 5\n",
        dir.display()
    );
    fs::write(dir.join("ssh_config"), text).expect("writing ssh_config");
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), PROBE).is_ok()
}

/// Polls `done` until it holds or `timeout` passes; whether it held.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes below `root` (its children, theirs, and so on), from `/proc/*/stat`.
fn descendants_of(root: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(i32, i32)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            Some((pid, rest.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = vec![root];
    let mut next = 0;
    while let Some(&parent) = found.get(next) {
        next += 1;
        found.extend(
            parents
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
    }
    found.split_off(1)
}
