//! The .deb: its fields, its files, and the installed binary at work; removed afterwards so the
//! machine is left as it was.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::traced::{self, Marker};
use crate::cmd;
use crate::dist::deb;

const INSTALLED: &str = "/usr/bin/ringside";
/// The installed ringside's log, removed after its run.
const LOG: &str = "/tmp/ringside-dist-check.log";

pub fn check(deb: &Path) -> Result<()> {
    fields(deb)?;
    if installed_version().is_some() {
        bail!(
            "a ringside package is already installed; the check would replace it and then \
             remove it: remove it first with `dpkg -r ringside`"
        );
    }
    let _installed = Installed::install(deb)?;
    for file in deb::installed_files() {
        if !Path::new(&file).is_file() {
            bail!("`dpkg -i` did not install {file}");
        }
    }
    let version = cmd::output(Command::new(INSTALLED).arg("--version"))?;
    if !version.contains("static") {
        bail!(
            "{INSTALLED} --version does not say it is static: `{}`",
            version.trim()
        );
    }
    let bash = cmd::output(Command::new(INSTALLED).args(["completions", "bash"]))?;
    if !bash.contains("complete -F") {
        bail!("`{INSTALLED} completions bash` printed no bash completion");
    }
    man_finds_the_page()?;

    let marker = Marker::new("package");
    let mut ringside = Command::new(INSTALLED);
    ringside.args(["--json", "--events", "exec", "--duration", "3"]);
    ringside.args(["--log-file", LOG]);
    let run = traced::run(
        ringside,
        "the installed ringside",
        Duration::from_secs(3),
        || cmd::run(Command::new("/bin/true").arg(&marker.token)),
    );
    let _ = std::fs::remove_file(LOG);
    let run = run?;
    let exec_seen = run
        .stdout
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .any(|event| marker.is_exec(&event));
    if !exec_seen {
        bail!(
            "the installed ringside did not report the exec of `/bin/true {}` among {} events; \
             its stderr:\n{}",
            marker.token,
            run.stdout.len(),
            run.stderr_text()
        );
    }
    eprintln!(
        "dist check: package: installed, {} works, files in place",
        version.trim()
    );
    Ok(())
}

/// The control fields that matter: name, version, architecture, and no dependencies.
fn fields(deb: &Path) -> Result<()> {
    let control = cmd::output(Command::new("dpkg-deb").arg("--field").arg(deb))?;
    let field = |name: &str| {
        control
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .map(str::trim)
    };
    let expected = [
        ("Package", "ringside"),
        ("Version", deb::VERSION),
        ("Architecture", "amd64"),
    ];
    for (name, value) in expected {
        if field(name) != Some(value) {
            bail!(
                "{}: {name} is {:?}, not {value:?}",
                deb.display(),
                field(name)
            );
        }
    }
    if let Some(depends) = field("Depends") {
        bail!(
            "{}: a static binary depends on nothing, but Depends is `{depends}`",
            deb.display()
        );
    }
    Ok(())
}

/// man-db finds the page where `dpkg -i` put it (a system that drops man pages through a dpkg
/// path-exclude would fail the file check before this).
fn man_finds_the_page() -> Result<()> {
    if cmd::find_on_path("man").is_none() {
        return Ok(());
    }
    let found = cmd::output(Command::new("man").args(["-w", "8", "ringside"]))
        .context("man -w 8 ringside")?;
    if !found.trim().ends_with("man8/ringside.8.gz") {
        bail!(
            "`man -w 8 ringside` found `{}`, not the packaged page",
            found.trim()
        );
    }
    Ok(())
}

/// The installed package's version, if dpkg has ringside installed.
fn installed_version() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status} ${Version}", "ringside"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.strip_prefix("installed ").map(str::to_owned)
}

/// The package, installed with `dpkg -i`; removed with `dpkg -r` when dropped, whatever failed.
struct Installed;

impl Installed {
    fn install(deb: &Path) -> Result<Self> {
        // Removed even when the install fails halfway.
        let installed = Self;
        cmd::run(Command::new("dpkg").arg("-i").arg(deb)).context("installing the package")?;
        Ok(installed)
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Err(error) = cmd::run(Command::new("dpkg").args(["-r", "ringside"])) {
            eprintln!("dist check: removing the package failed: {error:#}; run `dpkg -r ringside`");
        }
    }
}
