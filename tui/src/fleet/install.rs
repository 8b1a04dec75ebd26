//! `--install`: this very binary, copied through each host's own ssh session into
//! `~/.cache/ringside/ringside-<version>-<digest>` there, and run from that path. A copy
//! already there with the right digest is reused; one damaged on the way is refused by its
//! digest, never run.
//!
//! Only a static build is copied: a dynamic one needs this machine's C library, which the
//! remote may not have (or have in another version).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use super::hosts::HostSpec;
use super::ssh::{SshOptions, quote};

/// The first word of the lines the remote's install script answers with.
const ANSWER: &str = "RINGSIDE-INSTALL";
/// Hex digits of the digest in the copy's name: enough to tell builds apart.
const NAME_DIGITS: usize = 16;

/// This binary, ready to be copied.
#[derive(Clone, Debug)]
pub struct Installer {
    binary: PathBuf,
    /// Its SHA-256, in hex.
    digest: String,
    /// `ringside-<version>-<first digits of the digest>`.
    name: String,
}

/// Where a host runs its copy from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The copy's absolute path on the host.
    pub path: String,
    /// Whether it was copied now (`false`: an earlier copy was reused).
    pub copied: bool,
}

impl Installer {
    /// The running binary; an error for a dynamic build, which is not copied.
    pub fn for_this_binary() -> anyhow::Result<Installer> {
        if !cfg!(target_feature = "crt-static") {
            anyhow::bail!(
                "--install copies this ringside to each host, and this is a dynamic build \
                 (ringside {}): it needs this machine's C library. Run the static binary \
                 instead: `cargo xtask dist` makes target/dist/ringside",
                crate::version::LONG
            );
        }
        // Through /proc: the path the process was started from may have been replaced since.
        Installer::for_binary(PathBuf::from("/proc/self/exe"))
    }

    fn for_binary(binary: PathBuf) -> anyhow::Result<Installer> {
        let mut file =
            File::open(&binary).with_context(|| format!("reading {}", binary.display()))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)
            .with_context(|| format!("reading {}", binary.display()))?;
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let name = format!(
            "ringside-{}-{}",
            env!("CARGO_PKG_VERSION"),
            &digest[..NAME_DIGITS]
        );
        Ok(Installer {
            binary,
            digest,
            name,
        })
    }

    /// Makes sure `host` has the copy: asks, sends it only if it is missing or different, and
    /// waits for the host to have checked its digest. The error is a line for the host's
    /// status.
    pub fn install(&self, ssh: &SshOptions, host: &HostSpec) -> Result<Installed, String> {
        let mut command = ssh.ssh(host, &format!("exec sh -c {}", quote(&self.script())));
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot run ssh: {error}"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no output pipe")?);
        let mut stdin = child.stdin.take();
        let mut copied = false;
        let mut path = None;
        let mut line = String::new();
        let answer = loop {
            line.clear();
            match stdout.read_line(&mut line) {
                Ok(0) | Err(_) => break None,
                Ok(_) => {}
            }
            // Anything else a login prints (a banner from a shell's rc file) is passed over.
            let Some(rest) = line.trim_end().strip_prefix(ANSWER) else {
                continue;
            };
            let (word, at) = rest.trim_start().split_once(' ').unwrap_or((rest, ""));
            path = Some(at.to_owned());
            match word {
                "send" => {
                    if let Some(mut pipe) = stdin.take()
                        && let Err(error) = self.send(&mut pipe)
                    {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!("copying ringside there: {error}"));
                    }
                }
                "copied" => {
                    copied = true;
                    break Some(());
                }
                "have" => break Some(()),
                _ => break None,
            }
        };
        drop(stdin);
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = child.wait().map_err(|error| error.to_string())?;
        match (answer, path) {
            (Some(()), Some(path)) if status.success() && path.starts_with('/') => {
                Ok(Installed { path, copied })
            }
            _ => {
                let why = stderr
                    .lines()
                    .rev()
                    .find(|line| !line.trim().is_empty())
                    .map(|line| crate::model::text::printable(line.as_bytes()).into_owned())
                    .unwrap_or_else(|| format!("it ended ({status})"));
                Err(format!("installing ringside there failed: {why}"))
            }
        }
    }

    fn send(&self, pipe: &mut impl Write) -> std::io::Result<()> {
        let mut file = File::open(&self.binary)?;
        std::io::copy(&mut file, pipe)?;
        pipe.flush()
    }

    /// The remote's side, for `sh -c`: answers `have PATH`, or `send PATH`, reads the binary
    /// from stdin, checks its digest and answers `copied PATH`. Failures go to stderr.
    fn script(&self) -> String {
        let (name, digest) = (&self.name, &self.digest);
        format!(
            r#"set -e
dir="${{XDG_CACHE_HOME:-$HOME/.cache}}/ringside"
file="$dir/{name}"
digest() {{ sha256sum "$1" | cut -d' ' -f1; }}
if ! command -v sha256sum >/dev/null 2>&1; then
  echo "no sha256sum there to check the copy with (coreutils or busybox has it)" >&2; exit 1
fi
if [ -x "$file" ] && [ "$(digest "$file")" = {digest} ]; then
  echo "{ANSWER} have $file"; exit 0
fi
mkdir -p "$dir"
part="$file.part.$$"
trap 'rm -f "$part"' EXIT
echo "{ANSWER} send $file"
cat > "$part"
got="$(digest "$part")"
if [ "$got" != {digest} ]; then
  echo "the copy arrived damaged (sha256 $got, sent {digest})" >&2; exit 1
fi
chmod 755 "$part"
mv -f "$part" "$file"
trap - EXIT
echo "{ANSWER} copied $file"
"#
        )
    }
}

/// What a host's line says after an install.
pub fn describe(installed: &Installed) -> String {
    if installed.copied {
        format!("copied ringside to {}", installed.path)
    } else {
        format!("reusing {}", installed.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// The script, run by a local `sh` in place of ssh: the first run copies, the second
    /// reuses, and a copy that arrives different from its digest is refused and removed.
    #[test]
    fn the_script_copies_once_reuses_after_and_refuses_a_damaged_copy() {
        let home = tempfile::tempdir().unwrap();
        let source = home.path().join("source");
        std::fs::write(&source, b"#!/bin/sh\necho hello\n").unwrap();
        let installer = Installer::for_binary(source.clone()).unwrap();
        let run = |payload: &[u8]| {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(installer.script())
                .env("HOME", home.path())
                .env_remove("XDG_CACHE_HOME")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(payload);
            drop(stdin);
            child.wait_with_output().unwrap()
        };
        let copy = home
            .path()
            .join(".cache/ringside")
            .join(&installer.name)
            .display()
            .to_string();
        let first = run(b"#!/bin/sh\necho hello\n");
        let said = String::from_utf8_lossy(&first.stdout).into_owned();
        assert!(said.contains(&format!("send {copy}")), "{said}");
        assert!(said.contains(&format!("copied {copy}")), "{said}");
        let second = run(b"");
        let said = String::from_utf8_lossy(&second.stdout).into_owned();
        assert_eq!(said.trim(), format!("{ANSWER} have {copy}"));

        std::fs::remove_file(&copy).unwrap();
        let damaged = run(b"#!/bin/sh\necho HELLO\n");
        assert!(!damaged.status.success());
        let error = String::from_utf8_lossy(&damaged.stderr).into_owned();
        assert!(error.contains("arrived damaged"), "{error}");
        let left: Vec<_> = std::fs::read_dir(home.path().join(".cache/ringside"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "a damaged copy was left: {left:?}");
    }

    #[test]
    fn the_copy_is_named_by_version_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("binary");
        std::fs::write(&source, b"abc").unwrap();
        let installer = Installer::for_binary(source).unwrap();
        // sha256("abc")
        assert_eq!(
            installer.digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            installer.name,
            format!("ringside-{}-ba7816bf8f01cfea", env!("CARGO_PKG_VERSION"))
        );
    }
}
