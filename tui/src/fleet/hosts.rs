//! The hosts a fleet view watches: `--host [LABEL=]DESTINATION` and `--hosts-file`.

use std::path::Path;

use anyhow::Context as _;

/// One host: how the user names it, and what ssh is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    pub label: String,
    /// Anything `ssh` accepts: `name`, `user@name`, `ssh://user@name:port`; `local` (or this
    /// machine's name) is traced here, without ssh.
    pub destination: String,
}

impl HostSpec {
    /// `[LABEL=]DESTINATION`; the label defaults to the destination as typed.
    pub fn parse(text: &str) -> Result<HostSpec, String> {
        let text = text.trim();
        let (label, destination) = match text.split_once('=') {
            Some((label, destination)) => (label.trim(), destination.trim()),
            None => (text, text),
        };
        if destination.is_empty() || label.is_empty() {
            return Err(format!(
                "`{text}`: give a destination as ssh takes it, e.g. web1, root@db or \
                 ssh://root@db:2222, with an optional LABEL= before it"
            ));
        }
        if destination.starts_with('-') || destination.chars().any(char::is_whitespace) {
            return Err(format!(
                "`{destination}` is not an ssh destination (no spaces, no leading -)"
            ));
        }
        Ok(HostSpec {
            label: label.to_owned(),
            destination: destination.to_owned(),
        })
    }

    /// Whether the host is this machine, traced without ssh.
    pub fn is_local(&self) -> bool {
        self.destination == "local"
            || nix::unistd::gethostname()
                .is_ok_and(|name| name.to_string_lossy() == self.destination)
    }
}

/// A hosts file: one `[LABEL=]DESTINATION` a line; blank lines and `#` comments skipped.
pub fn read_hosts_file(path: &Path) -> anyhow::Result<Vec<HostSpec>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the hosts file {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(number, line)| (number, line.split('#').next().unwrap_or_default().trim()))
        .filter(|(_, line)| !line.is_empty())
        .map(|(number, line)| {
            HostSpec::parse(line)
                .map_err(|error| anyhow::anyhow!("{}:{}: {error}", path.display(), number + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_a_destination_with_an_optional_label() {
        let plain = HostSpec::parse("web1").unwrap();
        assert_eq!(
            (plain.label.as_str(), plain.destination.as_str()),
            ("web1", "web1")
        );
        let labelled = HostSpec::parse("db=ssh://root@db:2222").unwrap();
        assert_eq!(labelled.label, "db");
        assert_eq!(labelled.destination, "ssh://root@db:2222");
        for bad in [
            "",
            "=",
            "x=",
            "x=-oProxyCommand=evil",
            "-oProxyCommand",
            "a b",
        ] {
            assert!(HostSpec::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_hosts_file_skips_blanks_and_comments_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.txt");
        std::fs::write(&path, "# fleet\nweb1\n\nweb2=root@10.0.0.2  # second\n").unwrap();
        let hosts = read_hosts_file(&path).unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[1].label, "web2");
        std::fs::write(&path, "web1\n-bad\n").unwrap();
        let error = read_hosts_file(&path).unwrap_err().to_string();
        assert!(error.contains("hosts.txt:2"), "{error}");
    }
}
