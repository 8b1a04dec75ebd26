//! A DNS server on a UDP socket for the kernel tests, which make lookups against it and check
//! what ringside reports of them.
//!
//! It answers from a fixed table: A and AAAA queries for a listed name get that name's
//! addresses (TTL 60), CNAMEs added with [`DnsResponder::with_cname`] are answered with the
//! CNAME record followed by what its target resolves to, a listed name asked for a type it has
//! no record of gets NOERROR with no answers, and any other name gets NXDOMAIN. Names match
//! without regard to ASCII case; the question goes back as it was sent. Owner names are
//! compression pointers (the first to the question, 0xC00C), as real servers write them.
//!
//! It reads no EDNS, sends no OPT record and does not truncate to 512 bytes, so a table should
//! hold only a few addresses per name. Datagrams that are not a query with a plain
//! (uncompressed) question name are dropped unanswered.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the server thread blocks on its socket before it looks whether to stop.
const POLL: Duration = Duration::from_millis(100);
const TTL_SECONDS: u32 = 60;
/// The most CNAMEs followed for one query, so a CNAME loop in a table still gets an answer.
const MAX_CNAME_CHAIN: usize = 8;

const HEADER_LEN: usize = 12;
/// Where a response's question name starts: what the pointer 0xC00C points at.
const QUESTION_NAME_OFFSET: u16 = 12;
const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

const FLAG_QR: u16 = 0x8000;
const OPCODE_MASK: u16 = 0x7800;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const RCODE_NOERROR: u16 = 0;
const RCODE_NXDOMAIN: u16 = 3;
const RCODE_NOTIMP: u16 = 4;

/// A DNS server answering from a table on a thread of its own, until it is dropped.
pub struct DnsResponder {
    addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsResponder {
    /// Serves `records` on a port of 127.0.0.1 the system picks. A name may be listed more
    /// than once, with IPv4 and IPv6 addresses alike.
    pub fn start(records: &[(&str, IpAddr)]) -> io::Result<Self> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), records)
    }

    /// Serves `records` on `addr`: 127.0.0.1:53 for lookups through glibc's resolver.
    pub fn start_on(addr: SocketAddr, records: &[(&str, IpAddr)]) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(POLL))?;
        let addr = socket.local_addr()?;
        let zone = Arc::new(Mutex::new(Zone::new(records)));
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            socket,
            zone: Arc::clone(&zone),
            queries: Arc::clone(&queries),
            stop: Arc::clone(&stop),
        };
        let thread = thread::Builder::new()
            .name("dns-responder".to_owned())
            .spawn(move || server.run())?;
        Ok(Self {
            addr,
            zone,
            queries,
            stop,
            thread: Some(thread),
        })
    }

    /// Makes `alias` a CNAME for `target`, which may be listed, another alias or neither (then
    /// a lookup of `alias` gets the CNAME and NXDOMAIN).
    ///
    /// # Panics
    ///
    /// If `target` is not a name that can be written on the wire.
    pub fn with_cname(self, alias: &str, target: &str) -> Self {
        assert!(
            encode_name(target).is_some(),
            "{target:?} is not a DNS name: labels of 1 to 63 bytes, at most 255 in all"
        );
        self.zone()
            .cnames
            .push((normalize(alias), target.to_owned()));
        self
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many queries it has answered. A query is counted before its answer is sent, so the
    /// count includes every answer a client has received.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    fn zone(&self) -> MutexGuard<'_, Zone> {
        self.zone.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been printed; a drop cannot report it
            // better.
            let _ = thread.join();
        }
    }
}

/// The names the server knows. Names are kept in lower case for matching; CNAME targets as
/// given, since they are written into answers.
struct Zone {
    addresses: Vec<(String, IpAddr)>,
    cnames: Vec<(String, String)>,
}

impl Zone {
    fn new(records: &[(&str, IpAddr)]) -> Self {
        let addresses = records
            .iter()
            .map(|&(name, addr)| (normalize(name), addr))
            .collect();
        Self {
            addresses,
            cnames: Vec::new(),
        }
    }

    /// `name`'s addresses of the family `qtype` asks for.
    fn addresses(&self, name: &str, qtype: u16) -> Vec<IpAddr> {
        self.addresses
            .iter()
            .filter(|(listed, addr)| listed == name && qtype == address_type(*addr))
            .map(|&(_, addr)| addr)
            .collect()
    }

    fn lists(&self, name: &str) -> bool {
        self.addresses.iter().any(|(listed, _)| listed == name)
    }

    fn cname(&self, name: &str) -> Option<&str> {
        self.cnames
            .iter()
            .find(|(alias, _)| alias == name)
            .map(|(_, target)| target.as_str())
    }
}

/// A name as the table keeps it: lower case, no trailing dot.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn address_type(addr: IpAddr) -> u16 {
    match addr {
        IpAddr::V4(_) => TYPE_A,
        IpAddr::V6(_) => TYPE_AAAA,
    }
}

/// The server thread's half.
struct Server {
    socket: UdpSocket,
    zone: Arc<Mutex<Zone>>,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn run(self) {
        let mut buf = [0; 1500];
        while !self.stop.load(Ordering::SeqCst) {
            let (len, peer) = match self.socket.recv_from(&mut buf) {
                Ok(received) => received,
                Err(error) if is_timeout(&error) => continue,
                // Nothing a test could act on; wait rather than spin if it repeats.
                Err(_) => {
                    thread::sleep(POLL);
                    continue;
                }
            };
            let Some(query) = buf.get(..len).and_then(Query::parse) else {
                continue;
            };
            let response = {
                let zone = self.zone.lock().unwrap_or_else(PoisonError::into_inner);
                respond(&zone, &query)
            };
            self.queries.fetch_add(1, Ordering::SeqCst);
            // A client gone before its answer is the client's business.
            let _ = self.socket.send_to(&response, peer);
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// What the server reads of a query.
struct Query<'a> {
    id: u16,
    flags: u16,
    /// The question as sent: name, type and class.
    question: &'a [u8],
    /// The question's name, dotted, in lower case.
    name: String,
    qtype: u16,
}

impl<'a> Query<'a> {
    /// The query in `packet`; `None` for a response, no question, or a compressed name.
    fn parse(packet: &'a [u8]) -> Option<Self> {
        let field = |at: usize| Some(u16::from_be_bytes(packet.get(at..at + 2)?.try_into().ok()?));
        let flags = field(2)?;
        if flags & FLAG_QR != 0 || field(4)? == 0 {
            return None;
        }
        let (name, name_end) = read_plain_name(packet, HEADER_LEN)?;
        let qtype = field(name_end)?;
        field(name_end + 2)?;
        Some(Self {
            id: field(0)?,
            flags,
            question: packet.get(HEADER_LEN..name_end + 4)?,
            name,
            qtype,
        })
    }
}

/// The uncompressed name at `pos`, dotted and in lower case, and the offset past it.
fn read_plain_name(packet: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*packet.get(pos)?);
        if len == 0 {
            return Some((labels.join("."), pos + 1));
        }
        if len > 63 {
            return None;
        }
        let label = packet.get(pos + 1..pos + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += 1 + len;
    }
}

/// The response to `query`.
fn respond(zone: &Zone, query: &Query) -> Vec<u8> {
    let mut answers = Answers::after_question(query.question.len());
    let rcode = if query.flags & OPCODE_MASK != 0 {
        RCODE_NOTIMP
    } else {
        resolve(zone, query, &mut answers)
    };
    let flags = FLAG_QR | FLAG_RA | (query.flags & (OPCODE_MASK | FLAG_RD)) | rcode;
    let mut response = Vec::with_capacity(HEADER_LEN + query.question.len() + answers.bytes.len());
    for field in [query.id, flags, 1, answers.count, 0, 0] {
        response.extend_from_slice(&field.to_be_bytes());
    }
    response.extend_from_slice(query.question);
    response.extend_from_slice(&answers.bytes);
    response
}

/// Writes the answers to `query` and returns the RCODE: follows CNAMEs from the name asked
/// about, then gives the addresses of the name it ends at.
fn resolve(zone: &Zone, query: &Query, answers: &mut Answers) -> u16 {
    let mut name = query.name.clone();
    let mut owner = QUESTION_NAME_OFFSET;
    for _ in 0..MAX_CNAME_CHAIN {
        let Some(target) = zone.cname(&name) else {
            break;
        };
        owner = answers.cname(owner, target);
        if query.qtype == TYPE_CNAME {
            return RCODE_NOERROR;
        }
        name = normalize(target);
    }
    if !zone.lists(&name) {
        return RCODE_NXDOMAIN;
    }
    for addr in zone.addresses(&name, query.qtype) {
        answers.address(owner, addr);
    }
    RCODE_NOERROR
}

/// The answer section, written record by record.
struct Answers {
    bytes: Vec<u8>,
    count: u16,
    /// Where the section starts in the response, for pointers into it.
    start: usize,
}

impl Answers {
    fn after_question(question_len: usize) -> Self {
        Self {
            bytes: Vec::new(),
            count: 0,
            start: HEADER_LEN + question_len,
        }
    }

    /// Writes a CNAME record for the name at `owner`; returns the offset of its target's name.
    fn cname(&mut self, owner: u16, target: &str) -> u16 {
        // with_cname checked the target.
        let rdata = encode_name(target).unwrap_or_else(|| vec![0]);
        self.record(owner, TYPE_CNAME, &rdata)
    }

    fn address(&mut self, owner: u16, addr: IpAddr) {
        match addr {
            IpAddr::V4(v4) => self.record(owner, TYPE_A, &v4.octets()),
            IpAddr::V6(v6) => self.record(owner, TYPE_AAAA, &v6.octets()),
        };
    }

    /// Writes a record owned by the name at `owner`; returns the offset of its RDATA.
    fn record(&mut self, owner: u16, rtype: u16, rdata: &[u8]) -> u16 {
        let rdata_len = u16::try_from(rdata.len()).unwrap_or(u16::MAX);
        for field in [0xC000 | owner, rtype, CLASS_IN] {
            self.bytes.extend_from_slice(&field.to_be_bytes());
        }
        self.bytes.extend_from_slice(&TTL_SECONDS.to_be_bytes());
        self.bytes.extend_from_slice(&rdata_len.to_be_bytes());
        let rdata_offset = self.start + self.bytes.len();
        self.bytes.extend_from_slice(rdata);
        self.count += 1;
        // Pointers reach 14 bits; past that, point at the question (no test gets that far).
        u16::try_from(rdata_offset)
            .ok()
            .filter(|&offset| offset < 0x4000)
            .unwrap_or(QUESTION_NAME_OFFSET)
    }
}

/// `dotted` as a wire name (labels of 1 to 63 bytes, at most 255 bytes in all), or `None`.
fn encode_name(dotted: &str) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    for label in dotted.split('.').filter(|label| !label.is_empty()) {
        wire.push(u8::try_from(label.len()).ok().filter(|&len| len <= 63)?);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    (wire.len() <= 255).then_some(wire)
}

/// A DNS query for `name` (`qtype` 1 is A), recursion desired.
pub fn query_bytes(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    for field in [id, 0x0100, 1, 0, 0, 0] {
        bytes.extend_from_slice(&field.to_be_bytes());
    }
    for label in name.split('.') {
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&qtype.to_be_bytes());
    bytes.extend_from_slice(&1u16.to_be_bytes());
    bytes
}
