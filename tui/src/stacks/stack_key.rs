//! What makes two events' stacks the same in the stack views: their symbolized frames compared
//! by function and file, never by address, so one code path is one group across processes and
//! runs. A grouping can keep the user stack alone, or only the innermost frames.

use std::sync::Arc;

use crate::model::frame::{Frame, Stacks};

/// One function of a stack as the views compare it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameKey {
    pub name: Arc<str>,
    pub file: Option<Arc<str>>,
    pub kernel: bool,
    /// In libc or the dynamic loader: seldom the frame a person is looking for.
    pub in_libc: bool,
    /// Named by a symbol, not by its module or address (a stripped binary's frames).
    pub named: bool,
}

impl FrameKey {
    /// Whether a person looking for "who did this" would stop at this frame.
    pub fn interesting(&self) -> bool {
        !self.kernel && !self.in_libc
    }
}

/// The frame counts `+` and `-` step through: one frame at a time where each matters, faster
/// in deep stacks.
const STEPS: [usize; 12] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32];

/// How the views group stacks; `u`, `+` and `-` change it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Grouping {
    /// The user stack alone: events that differ only in the kernel's path group together.
    pub user_only: bool,
    /// Only the innermost this many frames; `None` compares whole stacks.
    pub innermost: Option<usize>,
}

impl Grouping {
    /// Fewer frames (`-`): one step down [`STEPS`], from whole stacks to the largest step
    /// shorter than the longest stack; never below one frame.
    pub fn fewer(self, longest: usize) -> Self {
        let below = self.innermost.unwrap_or(longest);
        let innermost = STEPS
            .iter()
            .rev()
            .copied()
            .find(|&n| n < below)
            .unwrap_or(1);
        Self {
            innermost: Some(innermost),
            ..self
        }
    }

    /// More frames (`+`): one step up [`STEPS`], and whole stacks once every stack fits.
    pub fn more(self, longest: usize) -> Self {
        let innermost = self.innermost.and_then(|n| {
            STEPS
                .iter()
                .copied()
                .find(|&step| step > n)
                .filter(|&step| step < longest)
        });
        Self { innermost, ..self }
    }

    /// `whole stacks`, `user stacks, innermost 3 frames`: for the view's title.
    pub fn describe(self) -> String {
        let what = if self.user_only {
            "user stacks"
        } else {
            "whole stacks"
        };
        match self.innermost {
            None => what.to_owned(),
            Some(1) => format!("{what}, innermost frame"),
            Some(n) => format!("{what}, innermost {n} frames"),
        }
    }
}

/// An event's stack under a grouping.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StackKey {
    /// The frames the grouping keeps, innermost first; never empty.
    Frames(Arc<[FrameKey]>),
    /// Captured, but the symbolizer has not answered yet.
    Pending,
    /// No stack: not captured (`--stacks none`), or nothing the grouping keeps.
    Missing,
}

impl StackKey {
    /// The frames, innermost first; none for the placeholders.
    pub fn frames(&self) -> &[FrameKey] {
        match self {
            StackKey::Frames(frames) => frames,
            StackKey::Pending | StackKey::Missing => &[],
        }
    }

    /// What a view shows in place of frames for the placeholders. Not "symbolizing": a
    /// replay has no symbolizer, and its events recorded before their symbols stay so.
    pub fn placeholder(&self) -> Option<&'static str> {
        match self {
            StackKey::Frames(_) => None,
            StackKey::Pending => Some("[unsymbolized]"),
            StackKey::Missing => Some("[no stack]"),
        }
    }

    /// The key of symbolized stacks: the kernel's frames (innermost) then the user's, with
    /// the syscall entry and tracing frames left out, since every stack has them.
    #[cfg(test)]
    pub fn of(stacks: &Stacks, grouping: Grouping) -> StackKey {
        Self::with_depth(stacks, grouping).0
    }

    /// The key, and how many frames the stack has before the grouping cuts it.
    pub fn with_depth(stacks: &Stacks, grouping: Grouping) -> (StackKey, usize) {
        let mut frames = Vec::new();
        if !grouping.user_only {
            for frame in stacks.kernel.iter().filter(|f| f.folded.is_none()) {
                push_innermost_first(&mut frames, frame, true);
            }
        }
        for frame in &stacks.user {
            push_innermost_first(&mut frames, frame, false);
        }
        let depth = frames.len();
        if let Some(n) = grouping.innermost {
            frames.truncate(n);
        }
        let key = if frames.is_empty() {
            StackKey::Missing
        } else {
            StackKey::Frames(frames.into())
        };
        (key, depth)
    }
}

/// A frame and the functions inlined into it, innermost first: the inlined ones are listed
/// outermost first, and the last of them holds the instruction itself.
fn push_innermost_first(frames: &mut Vec<FrameKey>, frame: &Frame, kernel: bool) {
    let in_libc = !kernel && frame.module.as_deref().is_some_and(is_libc);
    for inlined in frame.inlined.iter().rev() {
        frames.push(FrameKey {
            name: Arc::clone(&inlined.symbol),
            file: inlined.file.clone(),
            kernel,
            in_libc,
            named: true,
        });
    }
    let name = match &frame.symbol {
        Some(symbol) => Arc::clone(symbol),
        None => frame.display_name().into(),
    };
    frames.push(FrameKey {
        name,
        file: frame.file.clone(),
        kernel,
        in_libc,
        named: frame.symbol.is_some(),
    });
}

/// Whether a module is the C library or the dynamic loader (glibc or musl): `libc.so.6`,
/// `libc-2.31.so`, `ld-linux-x86-64.so.2`, `ld-musl-x86_64.so.1`; not a program that is merely
/// named like one (`libc-calls`).
pub fn is_libc(module: &str) -> bool {
    let base = module.rsplit('/').next().unwrap_or(module);
    let Some((stem, _)) = base.split_once(".so") else {
        return false;
    };
    // `libc-2.31`: the library's name before its version.
    let name = match stem.split_once('-') {
        Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => name,
        _ => stem,
    };
    // `ld-2.31.so` is glibc's loader before 2.34.
    matches!(name, "libc" | "libpthread" | "libdl" | "ld")
        || name.starts_with("ld-linux")
        || name.starts_with("ld-musl")
        || name.starts_with("libc.musl")
}
