//! Symbolic names for the numbers in traced events: errnos, `open` flags, signals.
//!
//! The tables are built from `libc` constants rather than literal numbers so they
//! follow the target architecture (flag bits differ between x86_64 and arm64).

use crate::short_text::ShortText;

/// Expands to a `match` from `libc::NAME` values to `"NAME"`.
macro_rules! libc_names {
    ($value:expr; $($name:ident),+ $(,)?) => {
        match $value {
            $(libc::$name => Some(stringify!($name)),)+
            _ => None,
        }
    };
}

/// The error a syscall result stands for: `None` for success, the errno name for `-errno`, and
/// `E<n>` for codes without one (including results no errno could produce).
pub fn error_name(ret: i32) -> Option<String> {
    if ret >= 0 {
        return None;
    }
    let name = ret.checked_neg().and_then(errno_name);
    Some(name.map_or_else(|| format!("E{}", ret.unsigned_abs()), str::to_owned))
}

/// The symbolic name of a (positive) errno, such as `ENOENT` for 2.
///
/// Syscall tracepoints report failures as `-errno`; negate before calling. Covers
/// the Linux set (1..=133 on x86_64; 41 and 58 are unused) plus the kernel-internal
/// codes above 511 that are never returned to a process but do show up at
/// `sys_exit_*` tracepoints, e.g. `ERESTARTSYS` when a signal interrupts a read.
/// Aliases (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`) give the primary name.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    libc_names!(errno;
        EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD,
        EAGAIN, ENOMEM, EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV,
        ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC,
        ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK, ENAMETOOLONG, ENOLCK,
        ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ECHRNG, EL2NSYNC, EL3HLT, EL3RST,
        ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR, EXFULL, ENOANO, EBADRQC,
        EBADSLT, EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE,
        ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG,
        EOVERFLOW, ENOTUNIQ, EBADFD, EREMCHG, ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX,
        ELIBEXEC, EILSEQ, ERESTART, ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ,
        EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
        EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, ENETDOWN,
        ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN,
        ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN,
        EHOSTUNREACH, EALREADY, EINPROGRESS, ESTALE, EUCLEAN, ENOTNAM, ENAVAIL,
        EISNAM, EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE, ECANCELED, ENOKEY,
        EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EOWNERDEAD, ENOTRECOVERABLE,
        ERFKILL, EHWPOISON,
    )
    .or_else(|| kernel_internal_errno_name(errno))
}

/// Codes from the kernel's include/linux/errno.h, which no libc exports because
/// user space never receives them; the numbers are the same on every architecture.
fn kernel_internal_errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        512 => "ERESTARTSYS",
        513 => "ERESTARTNOINTR",
        514 => "ERESTARTNOHAND",
        515 => "ENOIOCTLCMD",
        516 => "ERESTART_RESTARTBLOCK",
        517 => "EPROBE_DEFER",
        518 => "EOPENSTALE",
        519 => "ENOPARAM",
        521 => "EBADHANDLE",
        522 => "ENOTSYNC",
        523 => "EBADCOOKIE",
        524 => "ENOTSUPP",
        525 => "ETOOSMALL",
        526 => "ESERVERFAULT",
        527 => "EBADTYPE",
        _ => return None,
    })
}

/// The name of a signal number, such as `SIGKILL` for 9, for exit statuses.
///
/// Real-time signals (32 and up) have no fixed name (glibc reserves the first few,
/// so `SIGRTMIN` is not 32 in every process) and give `None`.
pub fn signal_name(sig: i32) -> Option<&'static str> {
    libc_names!(sig;
        SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL,
        SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD,
        SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ,
        SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
    )
}

/// A signal as events and filters name it: `SIGKILL`, or `SIG<n>` for one without a fixed name
/// (a real-time signal), as errors without a name are `E<n>`.
pub fn signal_label(sig: i32) -> std::borrow::Cow<'static, str> {
    match signal_name(sig) {
        Some(name) => name.into(),
        None => format!("SIG{sig}").into(),
    }
}

/// The kernel's O_LARGEFILE bit.
///
/// glibc defines `O_LARGEFILE` as 0 on 64-bit targets because large files are
/// implied there, so `libc::O_LARGEFILE` is 0 too; but the kernel bit still exists
/// and appears in the raw flags of 32-bit (compat) callers, which is what the
/// syscall tracepoints record. Its value comes from the kernel's uapi headers.
const O_LARGEFILE: u32 = if libc::O_LARGEFILE != 0 {
    libc::O_LARGEFILE as u32
} else if cfg!(target_arch = "x86_64") {
    0o100000 // asm-generic/fcntl.h
} else if cfg!(target_arch = "aarch64") {
    0o400000 // arch/arm64/include/uapi/asm/fcntl.h
} else {
    0 // unknown: the bit, if set, is printed as leftover hex
};

/// Non-access-mode flags in the order strace prints them.
///
/// `O_SYNC` contains the `O_DSYNC` bit and `O_TMPFILE` the `O_DIRECTORY` bit;
/// [`OpenFlags`] lets such composites claim their bits first.
const OPEN_FLAGS: &[(u32, &str)] = &[
    (libc::O_CREAT as u32, "O_CREAT"),
    (libc::O_EXCL as u32, "O_EXCL"),
    (libc::O_NOCTTY as u32, "O_NOCTTY"),
    (libc::O_TRUNC as u32, "O_TRUNC"),
    (libc::O_APPEND as u32, "O_APPEND"),
    (libc::O_NONBLOCK as u32, "O_NONBLOCK"),
    (libc::O_DSYNC as u32, "O_DSYNC"),
    (libc::O_ASYNC as u32, "O_ASYNC"),
    (libc::O_DIRECT as u32, "O_DIRECT"),
    (O_LARGEFILE, "O_LARGEFILE"),
    (libc::O_DIRECTORY as u32, "O_DIRECTORY"),
    (libc::O_NOFOLLOW as u32, "O_NOFOLLOW"),
    (libc::O_NOATIME as u32, "O_NOATIME"),
    (libc::O_CLOEXEC as u32, "O_CLOEXEC"),
    (libc::O_SYNC as u32, "O_SYNC"),
    (libc::O_PATH as u32, "O_PATH"),
    (libc::O_TMPFILE as u32, "O_TMPFILE"),
];

/// `open(2)` flags in strace style: the access mode, then the set flags, then any
/// unknown bits as hex, e.g. `O_WRONLY|O_CREAT|O_TRUNC` or `O_RDONLY|O_CLOEXEC|0x40000000`.
pub struct OpenFlags(pub u32);

/// Room for every flag name at once, the access mode and the leftover hex.
pub type OpenFlagsText = ShortText<256>;

impl OpenFlags {
    /// The text, built on the stack: it is made for every open event.
    pub fn text(&self) -> OpenFlagsText {
        let flags = self.0;
        let accmode = libc::O_ACCMODE as u32;
        let mut out = OpenFlagsText::new();
        out.push(match flags & accmode {
            m if m == libc::O_RDONLY as u32 => "O_RDONLY",
            m if m == libc::O_WRONLY as u32 => "O_WRONLY",
            m if m == libc::O_RDWR as u32 => "O_RDWR",
            _ => "O_ACCMODE", // both bits set: invalid, but strace names it so too
        });

        // Claim bits widest-mask first so O_SYNC wins over O_DSYNC and O_TMPFILE over
        // O_DIRECTORY; print in table order.
        let mut rest = flags & !accmode;
        let mut set: u64 = 0;
        for &i in open_flags_widest_first() {
            let mask = OPEN_FLAGS[i].0;
            if mask != 0 && rest & mask == mask {
                set |= 1 << i;
                rest &= !mask;
            }
        }
        for (i, (_, name)) in OPEN_FLAGS.iter().enumerate() {
            if set & (1 << i) != 0 {
                out.push("|");
                out.push(name);
            }
        }
        if rest != 0 {
            out.push("|0x");
            out.push_number(u64::from(rest), 16, 0);
        }
        out
    }
}

impl OpenFlags {
    /// Calls `use_text` with the text of `flags`. The last flags' text is kept: the opens of a
    /// busy process mostly share their flags, so most events format nothing.
    pub fn with_text<R>(flags: u32, use_text: impl FnOnce(&str) -> R) -> R {
        LAST_FLAGS.with_borrow_mut(|(cached, text)| {
            if *cached != Some(flags) {
                text.clear();
                text.push_str(OpenFlags(flags).text().as_str());
                *cached = Some(flags);
            }
            use_text(text)
        })
    }
}

thread_local! {
    /// The last flags formatted, and their text.
    static LAST_FLAGS: std::cell::RefCell<(Option<u32>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

impl std::fmt::Display for OpenFlags {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str(self.text().as_str())
    }
}

/// Indices into [`OPEN_FLAGS`], widest mask first; computed once (this runs for every open).
fn open_flags_widest_first() -> &'static [usize] {
    static ORDER: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let mut order: Vec<usize> = (0..OPEN_FLAGS.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(OPEN_FLAGS[i].0.count_ones()));
        order
    })
}
const _: () = assert!(
    OPEN_FLAGS.len() <= 64,
    "open_flags keeps the set flags in a u64"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        let cases: &[(i32, Option<&str>)] = &[
            (1, Some("EPERM")),
            (2, Some("ENOENT")),
            (4, Some("EINTR")),
            (11, Some("EAGAIN")),
            (13, Some("EACCES")),
            (17, Some("EEXIST")),
            (22, Some("EINVAL")),
            (24, Some("EMFILE")),
            (32, Some("EPIPE")),
            (35, Some("EDEADLK")),
            (38, Some("ENOSYS")),
            (95, Some("EOPNOTSUPP")),
            (98, Some("EADDRINUSE")),
            (104, Some("ECONNRESET")),
            (110, Some("ETIMEDOUT")),
            (111, Some("ECONNREFUSED")),
            (113, Some("EHOSTUNREACH")),
            (115, Some("EINPROGRESS")),
            (133, Some("EHWPOISON")),
            (512, Some("ERESTARTSYS")),
            (516, Some("ERESTART_RESTARTBLOCK")),
            (524, Some("ENOTSUPP")),
            (0, None),
            (-2, None),
            (41, None),
            (58, None),
            (134, None),
            (520, None),
            (4095, None),
            (i32::MIN, None),
            (i32::MAX, None),
        ];
        for &(errno, name) in cases {
            assert_eq!(errno_name(errno), name, "{errno}");
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn errno_names_cover_the_x86_64_set() {
        let named: Vec<i32> = (1..=133).filter(|&e| errno_name(e).is_some()).collect();
        assert_eq!(named.len(), 131, "all but the unused 41 and 58");
        // Names are distinct, so no alias shadows another code.
        let mut names: Vec<_> = named.iter().filter_map(|&e| errno_name(e)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 131);
    }

    #[test]
    fn signal_names() {
        let cases: &[(i32, Option<&str>)] = &[
            (1, Some("SIGHUP")),
            (2, Some("SIGINT")),
            (6, Some("SIGABRT")),
            (9, Some("SIGKILL")),
            (11, Some("SIGSEGV")),
            (13, Some("SIGPIPE")),
            (15, Some("SIGTERM")),
            (17, Some("SIGCHLD")),
            (19, Some("SIGSTOP")),
            (31, Some("SIGSYS")),
            (0, None),
            (-9, None),
            (32, None),
            (64, None),
        ];
        for &(sig, name) in cases {
            assert_eq!(signal_name(sig), name, "{sig}");
        }
        assert_eq!((1..=31).filter(|&s| signal_name(s).is_some()).count(), 31);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn open_flag_strings() {
        let cases: &[(u32, &str)] = &[
            (0, "O_RDONLY"),
            (0o1, "O_WRONLY"),
            (0o2, "O_RDWR"),
            (0o3, "O_ACCMODE"),
            (0o1101, "O_WRONLY|O_CREAT|O_TRUNC"),
            (0o2000000, "O_RDONLY|O_CLOEXEC"),
            (0o2004000, "O_RDONLY|O_NONBLOCK|O_CLOEXEC"),
            (0o2204000, "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC"),
            (0o102, "O_RDWR|O_CREAT"),
            (0o302, "O_RDWR|O_CREAT|O_EXCL"),
            (0o2001, "O_WRONLY|O_APPEND"),
            (0o10001, "O_WRONLY|O_DSYNC"),
            (0o4010001, "O_WRONLY|O_SYNC"),
            (0o20200002, "O_RDWR|O_TMPFILE"),
            (0o200000, "O_RDONLY|O_DIRECTORY"),
            (0o100000, "O_RDONLY|O_LARGEFILE"),
            (0o10000000, "O_RDONLY|O_PATH"),
            (0o12400000, "O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH"),
            (0o1000000, "O_RDONLY|O_NOATIME"),
            (0o40000, "O_RDONLY|O_DIRECT"),
            (0o400, "O_RDONLY|O_NOCTTY"),
            (0o20000, "O_RDONLY|O_ASYNC"),
            (0x4000_0000 | 0o2000000, "O_RDONLY|O_CLOEXEC|0x40000000"),
            // The __O_TMPFILE bit without O_DIRECTORY is not O_TMPFILE.
            (0o20000000, "O_RDONLY|0x400000"),
            (
                u32::MAX,
                "O_ACCMODE|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_ASYNC|O_DIRECT\
                 |O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_SYNC|O_PATH|O_TMPFILE|0xff80003c",
            ),
        ];
        for &(flags, expected) in cases {
            assert_eq!(OpenFlags(flags).to_string(), expected, "{flags:#o}");
        }
    }

    #[test]
    fn every_flag_at_once_fits_its_text() {
        let all = OpenFlags(u32::MAX).to_string();
        assert!(all.starts_with("O_ACCMODE|O_CREAT|"), "{all}");
        assert!(all.contains("|O_TMPFILE|0x"), "{all}");
        assert!(all.len() < OpenFlagsText::new().capacity(), "{all}");
    }

    #[test]
    fn kept_flags_text_follows_the_flags() {
        let read = libc::O_RDONLY as u32 | libc::O_CLOEXEC as u32;
        let write = (libc::O_WRONLY | libc::O_CREAT) as u32;
        for flags in [read, read, write, read, write, write] {
            let text = OpenFlags::with_text(flags, str::to_owned);
            assert_eq!(text, OpenFlags(flags).to_string(), "{flags:#o}");
        }
    }

    #[test]
    fn open_flags_use_libc_values() {
        let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u32;
        assert_eq!(
            OpenFlags(flags).to_string(),
            "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"
        );
        assert_eq!(
            OpenFlags(libc::O_SYNC as u32).to_string(),
            "O_RDONLY|O_SYNC"
        );
        assert_eq!(
            OpenFlags((libc::O_RDWR | libc::O_TMPFILE) as u32).to_string(),
            "O_RDWR|O_TMPFILE"
        );
    }
}
