//! The build's identity for `ringside --version`: the git commit and the build date, handed to
//! the crate as `RINGSIDE_COMMIT` and `RINGSIDE_BUILD_DATE` (see `src/version.rs`; how the
//! binary is linked comes from the crate's own cfg there: cargo leaves `crt-static` out of
//! CARGO_CFG_TARGET_FEATURE).
//!
//! Cargo reruns this script when the checkout's HEAD or the branch it points at moves, so the
//! commit stays right without a rebuild on every run.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

/// Prints the `cargo:` lines for the commit and the date.
pub fn emit() -> anyhow::Result<()> {
    let dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").context("no CARGO_MANIFEST_DIR")?);
    let commit = git(&dir, &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RINGSIDE_COMMIT={commit}");
    for path in git_files(&dir) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rustc-env=RINGSIDE_BUILD_DATE={}", build_date()?);
    Ok(())
}

/// A git command's trimmed stdout, or None outside a checkout (a crate tarball) or without git.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// The files whose change moves HEAD's commit: HEAD itself, the branch's ref and packed-refs.
/// `--git-path` finds them in a linked worktree too (HEAD there, refs in the main checkout).
/// Only files that exist are named: cargo reruns a script every time for a missing one.
fn git_files(dir: &Path) -> Vec<PathBuf> {
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    names.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    names
        .iter()
        .filter_map(|name| git(dir, &["rev-parse", "--git-path", name]))
        .map(|path| dir.join(path))
        .filter(|path| path.is_file())
        .collect()
}

/// The UTC date of SOURCE_DATE_EPOCH (reproducible builds) if set, else of now: `YYYY-MM-DD`.
fn build_date() -> anyhow::Result<String> {
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(secs) => secs,
            Err(_) => {
                bail!("SOURCE_DATE_EPOCH is `{text}`, not a number of seconds: unset it or fix it")
            }
        },
        Err(_) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("the clock is before 1970")?;
            i64::try_from(now.as_secs()).context("the clock is past the year 292 billion")?
        }
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both fit: day is 1..=31 and month 1..=12.
    (year, month as u32, day as u32)
}
