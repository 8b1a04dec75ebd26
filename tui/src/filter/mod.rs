//! Filter expressions, as typed in the TUI or given as `--filter`:
//! `tree=4242 and (type=open or type=connect) and ret<0`.
//!
//! One language serves both places, and the part of it the kernel can enforce (which processes
//! to trace) is derived from the same expression, so the probes do less work without the user
//! writing the filter twice.
//!
//! The fields are listed once, in `fields.rs`. Operators: `=`, `!=`, `~` (substring; a glob
//! with `*` or `?`), `<`, `>`, `<=`, `>=`. Combinators: `not`/`!` over `and`/`&&` over
//! `or`/`||`, and parentheses.
//! Values are bare words or `"quoted"` with `\"` and `\\` escapes.
//!
//! A comparison on a field the event does not have (`ret` on an exit, `addr` on an open) is
//! false, `!=` included: `ret!=0` means "has a result, and it is not 0".

mod ast;
pub mod cgroup;
pub(super) mod cidr;
mod eval;
mod fields;
mod kernel;
mod lex;
mod parse;
mod signal;
mod text;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub use fields::names as field_names;
pub use fields::syntax_help;
pub use kernel::KernelPart;

use crate::model::Event;

/// A parsed filter expression, and the text it came from (to show and edit again).
#[derive(Clone, Debug)]
pub struct Filter {
    text: String,
    expr: ast::Expr,
}

/// Why a filter expression does not parse: one line, pointing at the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based, counted in chars; one past the end when the text stopped too early.
    pub column: usize,
    pub message: String,
}

/// Answers `tree=` questions from whatever process table the caller keeps.
pub trait Ancestry {
    /// Whether `pid` is `root` or one of its descendants.
    /// Whether `pid` on `host` is `root` (on the same host) or one of its descendants.
    fn is_descendant_or_self(&self, host: crate::model::host::HostId, pid: u32, root: u32) -> bool;
}

impl Filter {
    /// An empty or all-whitespace `text` matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            text: text.to_owned(),
            expr: parse::parse(text)?,
        })
    }

    /// Whether the expression tests a signal (`sig=`, `signal=`): then the TUI shows the
    /// routine signals it leaves out otherwise (a child's SIGCHLD to its parent).
    pub fn asks_for_signals(&self) -> bool {
        self.expr.any_cond(&|cond| {
            matches!(
                cond,
                ast::Cond::Text {
                    field: ast::TextField::Signal,
                    ..
                }
            )
        })
    }

    pub fn match_all() -> Filter {
        Filter {
            text: String::new(),
            expr: ast::Expr::All,
        }
    }

    /// The text as given to `parse`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `ancestry` answers tree= questions: is `pid` equal to or a descendant of `root`?
    pub fn matches(&self, event: &Event, ancestry: &dyn Ancestry) -> bool {
        eval::eval(&self.expr, event, ancestry)
    }

    /// The part the kernel can enforce: a SUPERSET of the events `matches` accepts (sound:
    /// never excludes an event that matches). None fields mean "no restriction".
    pub fn kernel_part(&self) -> KernelPart {
        kernel::kernel_part(&self.expr, None)
    }

    /// [`Filter::kernel_part`] on `host`: on a fleet's remote, known by its label, a branch
    /// for another host (`host=web1 and comm=nginx or host=db and comm=postgres`) does not
    /// widen what this one's kernel traces.
    pub fn kernel_part_on(&self, host: crate::model::host::HostId) -> KernelPart {
        kernel::kernel_part(&self.expr, host.label().as_deref())
    }
}
