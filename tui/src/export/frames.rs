//! An event's call chain as names, root first: what every export is made of.

use crate::model::Event;
use crate::model::frame::Frame;

/// One function in a call chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub name: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub kernel: bool,
    /// The frame's address; inlined functions share their frame's.
    pub addr: u64,
}

/// The event's frames, outermost (root) first: the user stack, then the kernel stack below
/// it. Inlined functions come as frames of their own, after the function they were inlined
/// into. Frames not yet symbolized are their address.
pub fn call_chain(event: &Event) -> Vec<Func> {
    let mut chain = Vec::new();
    match event.stacks.as_deref() {
        Some(stacks) => {
            for (frames, kernel) in [(&stacks.user, false), (&stacks.kernel, true)] {
                for frame in frames.iter().rev() {
                    push_frame(&mut chain, frame, kernel);
                }
            }
        }
        None => {
            for (addrs, kernel) in [(&event.ustack, false), (&event.kstack, true)] {
                chain.extend(addrs.iter().rev().map(|&addr| Func {
                    name: format!("{addr:#x}"),
                    file: None,
                    line: None,
                    kernel,
                    addr,
                }));
            }
        }
    }
    chain
}

fn push_frame(chain: &mut Vec<Func>, frame: &Frame, kernel: bool) {
    chain.push(Func {
        name: frame.display_name().into_owned(),
        file: frame.file.as_deref().map(str::to_owned),
        line: frame.line,
        kernel,
        addr: frame.addr,
    });
    for inlined in &frame.inlined {
        chain.push(Func {
            name: inlined.symbol.to_string(),
            file: inlined.file.as_deref().map(str::to_owned),
            line: inlined.line,
            kernel,
            addr: frame.addr,
        });
    }
}
