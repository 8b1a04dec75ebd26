//! The static binary in an empty root: nothing but `/ringside`, and /proc, /sys and /dev bind
//! mounted in a mount namespace of its own, so no library, no /etc and no shell of the build
//! machine is there. /sys is bound without its submounts: ringside mounts tracefs itself, as
//! on a freshly booted server.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::traced::{self, Marker};
use crate::cmd;

/// How long each traced run lasts.
const DURATION: Duration = Duration::from_secs(6);
/// The mount points inside the root.
const MOUNTS: [&str; 3] = ["proc", "sys", "dev"];
/// Runs in the new mount namespace (private: nothing propagates back to the machine's), before
/// the chroot: `$1` is the root, the rest ringside's arguments.
const ENTER: &str = r#"root=$1; shift
mount --bind /proc "$root/proc" &&
mount --bind /sys "$root/sys" &&
mount --rbind /dev "$root/dev" &&
exec chroot "$root" /ringside "$@""#;

pub fn check(binary: &Path) -> Result<()> {
    let root = Root::new(binary)?;
    let secs = DURATION.as_secs().to_string();

    let live = Marker::new("chroot-live");
    let run = traced::run(
        root.ringside(&["--json", "--events", "exec,open", "--duration", &secs]),
        "live tracing in the chroot",
        DURATION,
        || live.fire(),
    )?;
    live.expect_in(
        &run.stdout,
        "live tracing in the chroot",
        &run.stderr_text(),
    )?;
    eprintln!(
        "dist check: chroot: traced an exec and an open ({} events)",
        run.stdout.len()
    );

    let recorded = Marker::new("chroot-record");
    let recording = "/session.rsrec";
    let run = traced::run(
        root.ringside(&[
            "record",
            "-o",
            recording,
            "--events",
            "exec,open",
            "--duration",
            &secs,
        ]),
        "recording in the chroot",
        DURATION,
        || recorded.fire(),
    )?;
    if !root.path.join(recording.trim_start_matches('/')).is_file() {
        bail!(
            "recording in the chroot: no {recording} was written; stderr:\n{}",
            run.stderr_text()
        );
    }
    // Replaying needs no kernel interface: a bare chroot, without the mounts, must do.
    let mut replay = Command::new("chroot");
    replay.arg(&root.path).args([
        "/ringside",
        "replay",
        recording,
        "--json",
        "--log-file",
        "/ringside.log",
    ]);
    let replayed = cmd::output(&mut replay).context("replaying in the chroot")?;
    let lines: Vec<String> = replayed.lines().map(str::to_owned).collect();
    recorded.expect_in(&lines, "the replay in the chroot", &run.stderr_text())?;
    eprintln!(
        "dist check: chroot: recorded and replayed them ({} events)",
        lines.len()
    );
    Ok(())
}

/// A temporary root directory holding the binary and empty mount points.
struct Root {
    path: PathBuf,
}

impl Root {
    fn new(binary: &Path) -> Result<Self> {
        let path = tempfile::Builder::new()
            .prefix("ringside-chroot-")
            .tempdir()
            .context("creating the chroot's root directory")?
            .keep();
        let root = Self { path };
        let inside = root.path.join("ringside");
        fs::copy(binary, &inside)
            .with_context(|| format!("copying {} into the chroot", binary.display()))?;
        fs::set_permissions(&inside, fs::Permissions::from_mode(0o755))?;
        for dir in MOUNTS.iter().chain(&["tmp"]) {
            fs::create_dir(root.path.join(dir))
                .with_context(|| format!("creating /{dir} in the chroot"))?;
        }
        Ok(root)
    }

    /// `unshare -m` + mounts + `chroot ROOT /ringside ARGS`, logging to /ringside.log inside.
    fn ringside(&self, args: &[&str]) -> Command {
        let mut command = Command::new("unshare");
        command
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                ENTER,
                "sh",
            ])
            .arg(&self.path)
            .args(args)
            .args(["--log-file", "/ringside.log"]);
        command
    }
}

impl Drop for Root {
    /// The mounts live only in the namespaces of processes that have exited, so the mount points
    /// are empty directories again. They are removed with rmdir, which fails on anything else:
    /// never a recursive removal that could cross into a live /dev or /sys.
    fn drop(&mut self) {
        let root_device = fs::metadata(&self.path).map(|m| m.dev()).ok();
        for dir in MOUNTS {
            let point = self.path.join(dir);
            let mounted = fs::metadata(&point).is_ok_and(|m| Some(m.dev()) != root_device);
            if mounted || fs::remove_dir(&point).is_err() {
                eprintln!(
                    "dist check: left {} in place: it is still a mount point or not empty",
                    self.path.display()
                );
                return;
            }
        }
        if let Err(error) = fs::remove_dir_all(&self.path) {
            eprintln!(
                "dist check: could not remove {}: {error}",
                self.path.display()
            );
        }
    }
}
