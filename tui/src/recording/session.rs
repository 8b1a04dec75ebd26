//! The header of a recording made here and now, by `ringside record` or the TUI's `r` key.

use super::format::Header;

/// The header of a recording made on this host now, of a session filtered by `filter`.
pub fn session_header(filter: &str, stacks: bool) -> anyhow::Result<Header> {
    Ok(Header {
        ringside_version: env!("CARGO_PKG_VERSION").into(),
        hostname: nix::unistd::gethostname()?.to_string_lossy().into_owned(),
        kernel: nix::sys::utsname::uname()?
            .release()
            .to_string_lossy()
            .into_owned(),
        started: std::time::SystemTime::now(),
        filter: filter.to_owned(),
        stacks,
    })
}
