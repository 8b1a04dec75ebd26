//! DNS over UDP, watched at the network device rather than at system calls: a query is seen as
//! it leaves for port 53 (`net_dev_queue`, in the sender's thread, so with its stacks), a
//! response as it arrives from port 53 (`netif_receive_skb`, in softirq).
//!
//! Watching packets instead of `sendto`/`sendmsg`/`sendmmsg`/`write` catches every way a
//! resolver sends, and costs a write to a file nothing at all: only packets pay, a few reads of
//! their headers each. Userspace pairs each response with its query.

use aya_ebpf::programs::RawTracePointContext;
use ringside_common::{
    AF_INET, AF_INET6, DNS_PAYLOAD_MAX, DNS_PORT, DNS_RESPONSE_KIND, DnsRecord, DnsResponseRecord,
    EventKind, SockAddrs, StackHead,
};

use crate::{
    DNS_SCRATCH, EVENTS,
    draft::{Draft, StackKind, wakeup},
    kernel::{
        addrs_pass, config, count_drop, current_ids, fill_header, passes_filter, read_kernel,
        wanted,
    },
};

const IPPROTO_UDP: u8 = 17;
const UDP_HEADER_LEN: u64 = 8;

/// A UDP datagram's ends and where its payload lies.
struct Datagram {
    /// Source as local, destination as remote; [`Datagram::client_side`] turns a response round.
    addrs: SockAddrs,
    /// Kernel address of the payload.
    payload: u64,
    /// The payload's length on the wire.
    wire_len: u32,
    /// Bytes of the payload in the linear part of the packet: what can be copied.
    linear_len: u32,
}

impl Datagram {
    /// Bounds the payload to what lies in the packet's linear part, before `linear_end`.
    fn linear_to(&mut self, linear_end: u64) {
        let linear = linear_end.saturating_sub(self.payload);
        self.linear_len = linear.min(u64::from(self.wire_len)) as u32;
    }

    /// The ends as the client sees them: for a response, the destination is the client.
    fn client_side(&mut self) {
        core::mem::swap(&mut self.addrs.laddr, &mut self.addrs.raddr);
        core::mem::swap(&mut self.addrs.lport, &mut self.addrs.rport);
    }
}

/// `net_dev_queue`: a packet about to be sent. Queries to port 53 become records.
#[inline(always)]
pub fn sent(ctx: &RawTracePointContext) -> u32 {
    if !wanted(EventKind::Dns.wire()) {
        return 0;
    }
    let skb: u64 = ctx.arg(0);
    let k = &config().kernel;
    let (Some(head), Some(network)) = (
        read_kernel::<u64>(skb, k.skb_head),
        read_kernel::<u16>(skb, k.skb_network_header),
    ) else {
        return 0;
    };
    let Some(mut datagram) = udp_datagram(head + u64::from(network)) else {
        return 0;
    };
    if datagram.addrs.rport != DNS_PORT {
        return 0;
    }
    let Some(tail) = read_kernel::<u32>(skb, k.skb_tail) else {
        return 0;
    };
    datagram.linear_to(head + u64::from(tail));
    let (pid, _) = current_ids();
    if !passes_filter(pid) || !addrs_pass(&datagram.addrs) {
        return 0;
    }
    send_query(ctx, &datagram);
    0
}

#[inline(always)]
fn send_query(ctx: &RawTracePointContext, datagram: &Datagram) {
    let kind = EventKind::Dns.wire();
    let snapshot = crate::user_stack::send();
    let Some((mut draft, record)) = Draft::start_in::<DnsRecord>(&DNS_SCRATCH) else {
        count_drop(kind);
        return;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let kstack = draft.push_stack(ctx, StackKind::Kernel);
    let len = (datagram.linear_len as usize).min(DNS_PAYLOAD_MAX);
    let payload_len = if draft.push_kernel(datagram.payload as *const u8, len) {
        len as u32
    } else {
        0
    };
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, kind, 0);
        (*record).addrs = datagram.addrs;
        (*record).wire_len = datagram.wire_len;
        (*record).payload_len = payload_len;
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(kind);
}

/// `netif_receive_skb`: a packet arriving, its `data` at the network header. Responses from
/// port 53 become records; whose they are is for userspace to tell, by their query.
#[inline(always)]
pub fn received(ctx: &RawTracePointContext) -> u32 {
    if !wanted(EventKind::Dns.wire()) {
        return 0;
    }
    let skb: u64 = ctx.arg(0);
    let k = &config().kernel;
    let Some(data) = read_kernel::<u64>(skb, k.skb_data) else {
        return 0;
    };
    let Some(mut datagram) = udp_datagram(data) else {
        return 0;
    };
    if datagram.addrs.lport != DNS_PORT {
        return 0;
    }
    let (Some(len), Some(data_len)) = (
        read_kernel::<u32>(skb, k.skb_len),
        read_kernel::<u32>(skb, k.skb_data_len),
    ) else {
        return 0;
    };
    datagram.linear_to(data + u64::from(len.saturating_sub(data_len)));
    datagram.client_side();
    if !addrs_pass(&datagram.addrs) {
        return 0;
    }
    send_response(&datagram);
    0
}

/// Responses are rare and arrive in softirq, where no draft scratch is safe to share: each is
/// written straight into a ring reservation large enough for any payload.
#[inline(always)]
fn send_response(datagram: &Datagram) {
    let kind = EventKind::Dns.wire();
    let Some(mut entry) = EVENTS.reserve::<DnsResponseRecord>(0) else {
        count_drop(kind);
        return;
    };
    let record = entry.as_mut_ptr();
    let len = (datagram.linear_len as usize).min(DNS_PAYLOAD_MAX);
    // SAFETY: `record` is the reserved entry, valid for one DnsResponseRecord; the payload
    // read is bounded by the array's length and fails instead of faulting.
    unsafe {
        let head = &raw mut (*record).head;
        fill_header(&raw mut (*head).header, DNS_RESPONSE_KIND, 0);
        // Whichever thread the softirq interrupted is not the response's owner.
        (*head).header.pid = 0;
        (*head).header.tid = 0;
        (*head).header.ppid = 0;
        (*head).header.uid = 0;
        (*head).header.start_ns = 0;
        (*head).header.comm = [0; 16];
        (*head).header.cgroup_id = 0;
        (*head).addrs = datagram.addrs;
        (*head).wire_len = datagram.wire_len;
        (*head).ustack = StackHead::default();
        (*head).kstack = StackHead::default();
        let copied = len > 0
            && len <= DNS_PAYLOAD_MAX
            && aya_ebpf::helpers::generated::bpf_probe_read_kernel(
                (&raw mut (*record).payload).cast(),
                len as u32,
                datagram.payload as *const core::ffi::c_void,
            ) == 0;
        (*head).payload_len = if copied { len as u32 } else { 0 };
    }
    // Like every record: no wakeup unless it takes the unread data across the mark.
    entry.submit(wakeup(core::mem::size_of::<DnsResponseRecord>()));
}

/// The UDP datagram whose network header is at `network` (headers are always in the linear
/// part), or `None` for anything else. A TCP packet costs one read after finding its header.
#[inline(always)]
fn udp_datagram(network: u64) -> Option<Datagram> {
    let ipv4 = read_kernel::<[u8; 20]>(network, 0)?;
    let mut addrs = SockAddrs {
        family: 0,
        lport: 0,
        rport: 0,
        _reserved: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    };
    let udp = match ipv4[0] >> 4 {
        4 => {
            if ipv4[9] != IPPROTO_UDP {
                return None;
            }
            addrs.family = AF_INET;
            addrs.laddr[..4].copy_from_slice(&ipv4[12..16]);
            addrs.raddr[..4].copy_from_slice(&ipv4[16..20]);
            network + u64::from(ipv4[0] & 0x0f) * 4
        }
        6 => {
            let ip = read_kernel::<[u8; 40]>(network, 0)?;
            // Extension headers are not followed: DNS packets do not carry them.
            if ip[6] != IPPROTO_UDP {
                return None;
            }
            addrs.family = AF_INET6;
            addrs.laddr.copy_from_slice(&ip[8..24]);
            addrs.raddr.copy_from_slice(&ip[24..40]);
            network + 40
        }
        _ => return None,
    };
    let header = read_kernel::<[u8; 8]>(udp, 0)?;
    addrs.lport = u16::from_be_bytes([header[0], header[1]]);
    addrs.rport = u16::from_be_bytes([header[2], header[3]]);
    let udp_len = u64::from(u16::from_be_bytes([header[4], header[5]]));
    Some(Datagram {
        addrs,
        payload: udp + UDP_HEADER_LEN,
        wire_len: udp_len.saturating_sub(UDP_HEADER_LEN) as u32,
        linear_len: 0,
    })
}
