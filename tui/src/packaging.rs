//! What a package installs beside the binary, generated from the clap definitions in `cli.rs`
//! so that they never drift from the binary they ship with: shell completions
//! (`ringside completions SHELL`) and the man pages (the hidden `ringside manpages DIR`).
//!
//! `cargo xtask dist` asks the built binary for its man pages rather than rendering them itself:
//! xtask cannot depend on this binary crate, and including `cli.rs` into xtask by `#[path]`
//! would drag the event kinds (`model`) and `ringside-common` in with it. Asking the binary also
//! documents exactly the binary that is packaged.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;
use clap_mangen::Man;

use crate::cli::Cli;
use crate::version;

/// ringside loads kernel probes as root: system administration commands, section 8.
const MAN_SECTION: &str = "8";

/// Prints the completion script for `shell` to stdout.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ringside", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .context("writing the completion script to stdout")
}

/// Writes `ringside.8` and a page for each visible subcommand (`ringside-record.8`, ...: the
/// main page's COMMANDS section names them) into `dir`, and prints their paths.
pub fn man_pages(dir: &Path) -> anyhow::Result<()> {
    // No `help` subcommand in the pages: `--help` is there on every command.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    let mut stdout = std::io::stdout().lock();
    for path in written {
        writeln!(stdout, "{}", path.display()).context("writing to stdout")?;
    }
    Ok(())
}

fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let man = Man::new(command.clone())
        .section(MAN_SECTION)
        .date(version::BUILD_DATE)
        .manual("System Administration");
    let mut page = Vec::new();
    man.render(&mut page).context("rendering a man page")?;
    let path = dir.join(man.get_filename());
    fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_exist_for_bash_zsh_and_fish() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ringside", &mut script);
            let script = String::from_utf8(script).expect("a completion script is text");
            for word in ["ringside", "record", "replay", "completions", "events"] {
                assert!(script.contains(word), "{shell}: no `{word}` in\n{script}");
            }
        }
    }

    #[test]
    fn man_pages_are_section_8_with_a_page_per_subcommand() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut command = Cli::command().disable_help_subcommand(true);
        command.build();
        let mut written = Vec::new();
        write_pages(&command, dir.path(), &mut written).expect("pages written");
        let names: Vec<_> = written
            .iter()
            .filter_map(|path| path.file_name()?.to_str())
            .collect();
        assert_eq!(
            names,
            [
                "ringside-record.8",
                "ringside-replay.8",
                "ringside-completions.8",
                "ringside.8"
            ]
        );
        let main = fs::read_to_string(dir.path().join("ringside.8")).expect("ringside.8");
        assert!(main.starts_with(".ie"), "{main}");
        assert!(main.contains(".TH ringside 8"), "{main}");
        assert!(main.contains("ringside\\-record(8)"), "{main}");
        assert!(
            !main.contains("manpages"),
            "the hidden command is listed:\n{main}"
        );
    }
}
