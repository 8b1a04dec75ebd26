//! The Debian package: the static binary, its man pages and shell completions, staged in
//! `target/dist/deb-root` and built with `dpkg-deb --root-owner-group` (files owned by root
//! without fakeroot). No Depends: the binary needs no shared library.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;

/// The workspace's version, which ringside shares (`version.workspace = true`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const MAINTAINER: &str = "ringside developers <ringside@localhost>";

/// Where each shell looks for a packaged completion script, and the shell's name for
/// `ringside completions SHELL`.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/ringside"),
    ("zsh", "usr/share/zsh/vendor-completions/_ringside"),
    ("fish", "usr/share/fish/vendor_completions.d/ringside.fish"),
];

/// Every file the package installs, for the checks.
pub fn installed_files() -> Vec<String> {
    let mut files = vec![
        "/usr/bin/ringside".to_owned(),
        "/usr/share/man/man8/ringside.8.gz".to_owned(),
        "/usr/share/doc/ringside/copyright".to_owned(),
    ];
    files.extend(COMPLETIONS.iter().map(|(_, path)| format!("/{path}")));
    files
}

/// Builds `dir/ringside_<version>_amd64.deb` from `binary`; returns its path.
pub fn package(binary: &Path, dir: &Path) -> Result<PathBuf> {
    let stage = dir.join("deb-root");
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("removing {}", stage.display()))?;
    }
    install(binary, &stage.join("usr/bin/ringside"), 0o755)?;
    for (shell, path) in COMPLETIONS {
        let script = cmd::output(Command::new(binary).args(["completions", shell]))?;
        write(&stage.join(path), script.as_bytes(), 0o644)?;
    }
    man_pages(binary, dir, &stage.join("usr/share/man/man8"))?;
    write(
        &stage.join("usr/share/doc/ringside/copyright"),
        COPYRIGHT.as_bytes(),
        0o644,
    )?;
    let control = control(installed_kib(&stage)?);
    write(&stage.join("DEBIAN/control"), control.as_bytes(), 0o644)?;
    directories_0755(&stage)?;

    let deb = dir.join(format!("ringside_{VERSION}_amd64.deb"));
    super::static_build::remove_if_present(&deb)?;
    eprintln!("dist: packaging {}", deb.display());
    cmd::run(
        Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&stage)
            .arg(&deb),
    )?;
    lintian(&deb);
    Ok(deb)
}

/// Asks the binary for its pages (`ringside manpages DIR`, see tui/src/packaging.rs) and
/// installs them gzipped, as Debian wants.
fn man_pages(binary: &Path, dir: &Path, man8: &Path) -> Result<()> {
    let rendered = dir.join("man");
    if rendered.exists() {
        fs::remove_dir_all(&rendered)
            .with_context(|| format!("removing {}", rendered.display()))?;
    }
    fs::create_dir_all(&rendered).with_context(|| format!("creating {}", rendered.display()))?;
    let pages = cmd::output(Command::new(binary).arg("manpages").arg(&rendered))?;
    for page in pages.lines().map(Path::new) {
        let name = page
            .file_name()
            .with_context(|| format!("`ringside manpages` printed `{}`", page.display()))?;
        // -n: no name or time stamp inside, so the same page gives the same bytes.
        let gzipped = cmd::output_bytes(Command::new("gzip").args(["-9", "-n", "-c"]).arg(page))?;
        let mut file_name = name.to_os_string();
        file_name.push(".gz");
        write(&man8.join(file_name), &gzipped, 0o644)?;
    }
    Ok(())
}

fn control(installed_kib: u64) -> String {
    format!(
        "Package: ringside\n\
         Version: {VERSION}\n\
         Architecture: amd64\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {installed_kib}\n\
         Section: admin\n\
         Priority: optional\n\
         Description: live eBPF tracing of a Linux server in a terminal UI\n \
         ringside streams what a machine is doing right now: program executions, file\n \
         opens, connects, TCP sessions, DNS lookups, forks and exits, each with the user\n \
         and kernel stacks behind it, in a terminal UI or as NDJSON. Sessions can be\n \
         recorded and replayed. One static binary with its eBPF probes built in; it\n \
         needs Linux 5.8 or newer and root (CAP_BPF and CAP_PERFMON).\n"
    )
}

const COPYRIGHT: &str = "\
ringside: live eBPF tracing of a Linux server in a terminal UI
Copyright: the ringside developers
License: MIT OR Apache-2.0 (at your option)

On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.

The MIT license:

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the \"Software\"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
";

/// The installed size dpkg shows, in KiB: the files under the stage, DEBIAN/ not counted.
fn installed_kib(stage: &Path) -> Result<u64> {
    fn bytes(dir: &Path) -> Result<u64> {
        let mut total = 0;
        for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let meta = entry.metadata()?;
            total += if meta.is_dir() {
                bytes(&entry.path())?
            } else {
                meta.len()
            };
        }
        Ok(total)
    }
    Ok(bytes(&stage.join("usr"))?.div_ceil(1024))
}

/// Copies `from` to `to` with `mode`, making the directories (0755) on the way.
fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write(to, &bytes, mode)
}

/// Writes `bytes` to `path` with `mode`, making the directories on the way.
fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let parent = path.parent().context("a staged file has a directory")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// Makes every staged directory 0755: the package's modes must not depend on the umask of
/// whoever builds it.
fn directories_0755(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting the mode of {}", dir.display()))?;
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            directories_0755(&path)?;
        }
    }
    Ok(())
}

/// Debian's package checker, when it is installed (setup does not install it: it is large).
/// Its findings are shown, not enforced.
fn lintian(deb: &Path) {
    if cmd::find_on_path("lintian").is_none() {
        return;
    }
    match Command::new("lintian").arg(deb).output() {
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stdout);
            let said = said.trim();
            eprintln!(
                "dist: lintian: {}",
                if said.is_empty() { "no findings" } else { said }
            );
        }
        Err(error) => eprintln!("dist: lintian could not run: {error}"),
    }
}
