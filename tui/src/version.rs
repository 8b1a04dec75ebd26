//! What `ringside --version` says: the version, the commit and date `build.rs` found, and how
//! the binary is linked, e.g. `0.1.0 (commit abc1234, built 2026-12-02, static musl)`.

/// Whether the C library is linked into the binary (`crt-static`, the default on musl).
#[cfg(target_feature = "crt-static")]
macro_rules! linked {
    () => {
        "static"
    };
}
#[cfg(not(target_feature = "crt-static"))]
macro_rules! linked {
    () => {
        "dynamic"
    };
}

/// The C library the binary is built against.
#[cfg(target_env = "musl")]
macro_rules! libc {
    () => {
        "musl"
    };
}
#[cfg(target_env = "gnu")]
macro_rules! libc {
    () => {
        "glibc"
    };
}
#[cfg(not(any(target_env = "musl", target_env = "gnu")))]
macro_rules! libc {
    () => {
        "libc"
    };
}

/// The full version line after the program's name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RINGSIDE_COMMIT"),
    ", built ",
    env!("RINGSIDE_BUILD_DATE"),
    ", ",
    linked!(),
    " ",
    libc!(),
    ")"
);

/// The build date, `YYYY-MM-DD` (SOURCE_DATE_EPOCH's when set): also the man pages' date.
pub const BUILD_DATE: &str = env!("RINGSIDE_BUILD_DATE");

#[cfg(test)]
mod tests {
    use super::LONG;

    #[test]
    fn the_version_names_the_commit_the_date_and_the_linkage() {
        let (version, rest) = LONG.split_once(" (commit ").expect("a commit");
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        let (commit, rest) = rest.split_once(", built ").expect("a date");
        assert!(
            commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{LONG}"
        );
        let (date, linkage) = rest.split_once(", ").expect("a linkage");
        assert_eq!(date.len(), "2026-12-02".len(), "{LONG}");
        let expected = if cfg!(target_feature = "crt-static") {
            "static"
        } else {
            "dynamic"
        };
        assert!(linkage.starts_with(expected), "{LONG}");
        assert!(linkage.ends_with(')'), "{LONG}");
    }
}
