//! The ssh command that runs `ringside stream` on a host. OpenSSH does the trusting (keys,
//! agent, `~/.ssh/config`, ProxyJump, known_hosts): ringside only adds what it runs there.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::hosts::HostSpec;

/// How every host is reached: `--ssh-config`, `--ssh-option`, `--remote-path`.
#[derive(Clone, Debug, Default)]
pub struct SshOptions {
    pub config: Option<PathBuf>,
    pub options: Vec<String>,
    /// The ringside binary on the remote; `ringside` on its PATH by default.
    pub remote_path: String,
}

impl SshOptions {
    /// `ssh ... DEST -- ringside stream ARGS`: `remote_path` (the user's `--remote-path`, or
    /// where `--install` put the copy) as root.
    pub fn stream(&self, host: &HostSpec, remote_path: &str, stream_args: &[String]) -> Command {
        self.ssh(host, &remote_command(remote_path, stream_args))
    }

    /// `ssh [-F FILE] [-o OPT]... -T DEST -- COMMAND`, its three pipes captured. ssh never
    /// asks for a password here: the viewer owns the terminal.
    pub fn ssh(&self, host: &HostSpec, remote_command: &str) -> Command {
        let mut ssh = Command::new("ssh");
        // Its own process group: a Ctrl-C meant for the viewer must not end the session before
        // the viewer has asked the remote to stop (its last events would be lost).
        std::os::unix::process::CommandExt::process_group(&mut ssh, 0);
        if let Some(config) = &self.config {
            ssh.arg("-F").arg(config);
        }
        for option in &self.options {
            ssh.arg("-o").arg(option);
        }
        // After the user's: ssh keeps the first value it is given, so theirs win. A silent
        // network partition is noticed in 15 s instead of hours.
        ssh.args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]);
        ssh.args(["-T", "-o", "BatchMode=yes"])
            .arg(&host.destination)
            .arg("--")
            .arg(remote_command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ssh
    }
}

/// The remote shell's command: ringside as root, through `sudo -n` unless the login is root
/// (never a password prompt: without rights, sudo fails and says so).
fn remote_command(remote_path: &str, stream_args: &[String]) -> String {
    let ringside: Vec<String> = std::iter::once(remote_path)
        .chain(std::iter::once("stream"))
        .chain(stream_args.iter().map(String::as_str))
        .map(quote)
        .collect();
    let ringside = ringside.join(" ");
    format!("if [ \"$(id -u)\" = 0 ]; then exec {ringside}; else exec sudo -n {ringside}; fi")
}

/// `text` as one word for a POSIX shell.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_command_quotes_every_word_and_uses_sudo_unless_root() {
        let command = remote_command("/opt/ring side", &["--filter".into(), "comm='x'".into()]);
        assert!(command.contains(r"exec '/opt/ring side' 'stream' '--filter' 'comm='\''x'\'''"));
        assert!(command.contains("else exec sudo -n '/opt/ring side'"));
    }
}
