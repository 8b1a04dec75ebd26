//! Synthetic events, a process tree, and a tiny deterministic random generator, shared by the
//! filter tests (no dependencies: the generator is xorshift64*).

use crate::model::host::HostId;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::filter::{Ancestry, KernelPart};
use crate::model::event::*;

pub use crate::model::sample::{event, exec, open};

pub fn sock(addrs: SockAddrs, ret: i32) -> SockInfo {
    SockInfo {
        addrs,
        ret,
        fd: 5,
        latency_ns: 1_000,
        socket: Socket::tcp(false),
    }
}

pub fn tcp_close(addrs: SockAddrs) -> Details {
    Details::TcpClose(TcpClose {
        addrs,
        duration_ns: 1_000_000,
        tx_bytes: Some(1),
        rx_bytes: Some(2),
    })
}

pub fn exit(status: i32) -> Details {
    Details::Exit(Exit {
        status,
        lifetime_ns: 1_000,
    })
}

pub fn fork(child_pid: u32) -> Details {
    Details::Fork(Fork {
        child_pid,
        clone_flags: 0x1200011,
    })
}

/// 10.0.0.1:40000 -> 93.184.216.34:443
pub fn v4_addrs() -> SockAddrs {
    SockAddrs {
        local: Some((Ipv4Addr::new(10, 0, 0, 1).into(), 40000)),
        remote: Some((Ipv4Addr::new(93, 184, 216, 34).into(), 443)),
    }
}

/// [::1]:8080 <- [::ffff:192.168.1.5]:55000, as a dual-stack listener sees an IPv4 peer.
pub fn v6_addrs() -> SockAddrs {
    SockAddrs {
        local: Some((Ipv6Addr::LOCALHOST.into(), 8080)),
        remote: Some((
            IpAddr::V6(Ipv4Addr::new(192, 168, 1, 5).to_ipv6_mapped()),
            55000,
        )),
    }
}

/// Parent links; a pid without one is a root.
#[derive(Default)]
pub struct Tree(pub BTreeMap<u32, u32>);

impl Ancestry for Tree {
    fn is_descendant_or_self(&self, _host: HostId, pid: u32, root: u32) -> bool {
        let mut current = pid;
        // Bounded, in case a test builds a cycle.
        for _ in 0..64 {
            if current == root {
                return true;
            }
            match self.0.get(&current) {
                Some(&parent) => current = parent,
                None => return false,
            }
        }
        false
    }
}

/// What the kernel does with `part`, written independently of the filter code: the pid (or its
/// tree) and the command name, compared on the 15 bytes the kernel keeps.
pub fn kernel_admits(part: &KernelPart, event: &Event, ancestry: &dyn Ancestry) -> bool {
    let procs = match (&part.pids, &part.tree_roots) {
        (None, None) => true,
        (pids, roots) => {
            pids.as_ref().is_some_and(|pids| pids.contains(&event.pid))
                || roots.as_ref().is_some_and(|roots| {
                    roots
                        .iter()
                        .any(|&root| ancestry.is_descendant_or_self(event.host, event.pid, root))
                })
        }
    };
    let comm = part.comms.as_ref().is_none_or(|comms| {
        comms.iter().any(|name| {
            let key = &name.as_bytes()[..name.len().min(15)];
            key == &event.comm[..]
        })
    });
    // Addresses restrict only the events that have them.
    let ends: Vec<IpAddr> = match &event.details {
        Details::Connect(sock) | Details::Accept(sock) => sock
            .addrs
            .local
            .iter()
            .chain(&sock.addrs.remote)
            .map(|(ip, _)| *ip)
            .collect(),
        Details::TcpClose(TcpClose { addrs, .. }) => addrs
            .local
            .iter()
            .chain(&addrs.remote)
            .map(|(ip, _)| *ip)
            .collect(),
        _ => return procs && comm,
    };
    let nets = part.nets.as_ref().is_none_or(|nets| {
        nets.iter().any(|(net, prefix)| {
            let cidr = crate::filter::cidr::Cidr::parse(&format!("{net}/{prefix}")).unwrap();
            ends.iter().any(|ip| cidr.contains(*ip))
        })
    });
    procs && comm && nets
}

/// xorshift64*: deterministic, so a failure reproduces.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`; `n` must be non-zero.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}
