//! Parses the DNS messages that ringside's kernel probes copy out of UDP datagrams.
//!
//! A probe copies at most the first 512 bytes of a query's or response's payload, so the copy
//! can stop short of the packet on the wire. What ringside shows of a lookup comes first in a
//! message: the header (id, flags, RCODE) and the question, then the answer records in order. So
//! the parser insists on the header and the first question, and reads answers only as far as the
//! copy goes: a record that runs past its end, or one that does not parse, ends the answers and
//! is reported as `answers_cut` rather than as an error. The authority and additional sections
//! are not read.
//!
//! The input is whatever a traced program sent, so the parser never panics, never reads outside
//! the copy, follows at most [`MAX_POINTER_JUMPS`] compression pointers per name and rejects
//! names longer than 255 bytes on the wire. Names come back dotted and in the case they were
//! sent, with every byte that is not a graphic ASCII character, or is `.` or `\`, written as
//! `\DDD` (its decimal value, as dig writes it), so a name is always printable and at most 1,003
//! characters long.

use std::error::Error;
use std::fmt;
use std::net::IpAddr;

/// The most compression pointers followed while reading one name; more means a loop.
pub const MAX_POINTER_JUMPS: usize = 64;

/// The longest a name may be on the wire, length bytes and the final zero included (RFC 1035).
const MAX_NAME_WIRE_LEN: usize = 255;

const HEADER_LEN: usize = 12;
/// A record's type, class, TTL and RDATA length, which follow its owner name.
const RECORD_FIXED_LEN: usize = 10;
/// Where the RDATA length lies among those fields.
const RDLENGTH_OFFSET: usize = 8;

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;

const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;

/// A DNS message as far as ringside reads it: header fields, the first question, and the A,
/// AAAA and CNAME records of the answer section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The id that pairs a response with its query.
    pub id: u16,
    /// The QR bit: a response rather than a query.
    pub is_response: bool,
    /// The 4-bit OPCODE (0 is a standard query).
    pub opcode: u8,
    /// The 4-bit header RCODE (see [`crate::model::dns_names::rcode_name`]).
    pub rcode: u8,
    /// The TC bit: the server truncated the response to fit the datagram.
    pub truncated_flag: bool,
    /// The first question; `None` when the header counts no question.
    pub question: Option<Question>,
    /// The address and CNAME answers, in the order sent; other record types are left out.
    pub answers: Vec<Answer>,
    /// The answer section ended early: a record ran past the end of the copy or did not parse.
    pub answers_cut: bool,
}

/// A message's first question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Question {
    /// The name asked about, dotted, without a trailing dot (`.` for the root).
    pub name: String,
    /// The type asked for (see [`crate::model::dns_names::qtype_name`]).
    pub qtype: u16,
}

/// An answer record ringside shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An A or AAAA record's address.
    Address(IpAddr),
    /// A CNAME record's target name.
    Cname(String),
}

/// Why a copy is not a DNS message ringside can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedDns {
    /// Fewer than the 12 bytes of a header.
    ShortHeader,
    /// The first question's name does not parse.
    QuestionName(NameError),
    /// The first question's type and class run past the end of the copy.
    QuestionCut,
}

/// Why a name does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name runs past the end of the copy.
    Cut,
    /// A length byte starts with the reserved bits 01 or 10.
    BadLabelType,
    /// More than [`MAX_POINTER_JUMPS`] compression pointers.
    CompressionLoop,
    /// A compression pointer to an offset past the end of the copy.
    PointerPastEnd,
    /// Longer than 255 bytes on the wire.
    TooLong,
}

impl fmt::Display for MalformedDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortHeader => write!(f, "dns header shorter than {HEADER_LEN} bytes"),
            Self::QuestionName(error) => write!(f, "dns question name: {error}"),
            Self::QuestionCut => f.write_str("dns question runs past the end of the copy"),
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cut => "runs past the end of the copy",
            Self::BadLabelType => "bad label type",
            Self::CompressionLoop => "compression loop",
            Self::PointerPastEnd => "compression pointer past the end of the copy",
            Self::TooLong => "longer than 255 bytes",
        })
    }
}

impl Error for MalformedDns {}

impl Error for NameError {}

/// Parses a copy of a DNS message's first bytes; see the module documentation for how much of
/// it is read and what a short copy gives.
pub fn parse(bytes: &[u8]) -> Result<Message, MalformedDns> {
    let header = Header::parse(bytes)?;
    let mut message = Message {
        id: header.id,
        is_response: header.flags & FLAG_QR != 0,
        opcode: header.opcode(),
        rcode: header.rcode(),
        truncated_flag: header.flags & FLAG_TC != 0,
        question: None,
        answers: Vec::new(),
        answers_cut: false,
    };
    let mut pos = HEADER_LEN;
    if header.qdcount > 0 {
        let (question, next) = read_question(bytes, pos)?;
        message.question = Some(question);
        pos = next;
    }
    match skip_questions(bytes, pos, header.qdcount.saturating_sub(1)) {
        Some(answers_start) => read_answers(bytes, answers_start, header.ancount, &mut message),
        None => message.answers_cut = header.ancount > 0,
    }
    Ok(message)
}

/// The header fields the parser uses.
struct Header {
    id: u16,
    flags: u16,
    qdcount: u16,
    ancount: u16,
}

impl Header {
    fn parse(bytes: &[u8]) -> Result<Self, MalformedDns> {
        if bytes.len() < HEADER_LEN {
            return Err(MalformedDns::ShortHeader);
        }
        let field = |offset| read_u16(bytes, offset).ok_or(MalformedDns::ShortHeader);
        Ok(Self {
            id: field(0)?,
            flags: field(2)?,
            qdcount: field(4)?,
            ancount: field(6)?,
        })
    }

    /// Bits 1-4 of the flags, counting from the left.
    fn opcode(&self) -> u8 {
        (self.flags.to_be_bytes()[0] >> 3) & 0xF
    }

    /// The flags' last 4 bits.
    fn rcode(&self) -> u8 {
        self.flags.to_be_bytes()[1] & 0xF
    }
}

/// Reads the question at `pos`; returns it and the offset just past it.
fn read_question(bytes: &[u8], pos: usize) -> Result<(Question, usize), MalformedDns> {
    let (name, pos) = read_name(bytes, pos).map_err(MalformedDns::QuestionName)?;
    let qtype = read_u16(bytes, pos).ok_or(MalformedDns::QuestionCut)?;
    // The class is not kept, but must be there for the question to be whole.
    read_u16(bytes, pos.saturating_add(2)).ok_or(MalformedDns::QuestionCut)?;
    Ok((Question { name, qtype }, pos.saturating_add(4)))
}

/// Walks past `count` further questions; `None` if one of them does not parse.
fn skip_questions(bytes: &[u8], mut pos: usize, count: u16) -> Option<usize> {
    for _ in 0..count {
        pos = read_question(bytes, pos).ok()?.1;
    }
    Some(pos)
}

/// Reads up to `count` answer records from `pos` into `message`, stopping at the first one that
/// runs past the end of the copy or does not parse.
fn read_answers(bytes: &[u8], mut pos: usize, count: u16, message: &mut Message) {
    for _ in 0..count {
        let Some((answer, next)) = read_record(bytes, pos) else {
            message.answers_cut = true;
            return;
        };
        message.answers.extend(answer);
        pos = next;
    }
}

/// Reads the record at `pos`; returns what ringside shows of it (nothing for other types) and
/// the offset just past it, or `None` if the record runs past the end of the copy or a name in
/// it does not parse.
fn read_record(bytes: &[u8], pos: usize) -> Option<(Option<Answer>, usize)> {
    let (_owner, pos) = read_name(bytes, pos).ok()?;
    let rtype = read_u16(bytes, pos)?;
    let rdata_len = usize::from(read_u16(bytes, pos.checked_add(RDLENGTH_OFFSET)?)?);
    let rdata_start = pos.checked_add(RECORD_FIXED_LEN)?;
    let rdata = slice(bytes, rdata_start, rdata_len)?;
    let answer = match rtype {
        TYPE_CNAME => Some(Answer::Cname(read_name(bytes, rdata_start).ok()?.0)),
        _ => address(rtype, rdata).map(Answer::Address),
    };
    Some((answer, rdata_start.checked_add(rdata_len)?))
}

/// The address in an A or AAAA record's RDATA; `None` for other types or a wrong length.
fn address(rtype: u16, rdata: &[u8]) -> Option<IpAddr> {
    match rtype {
        TYPE_A => <[u8; 4]>::try_from(rdata).ok().map(IpAddr::from),
        TYPE_AAAA => <[u8; 16]>::try_from(rdata).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Reads the possibly compressed name at `pos`; returns it rendered, and the offset just past
/// the part written at `pos` (its labels up to its first compression pointer, and that pointer).
fn read_name(bytes: &[u8], mut pos: usize) -> Result<(String, usize), NameError> {
    let mut name = String::new();
    let mut wire_len = 1; // the final zero length byte
    let mut jumps = 0;
    let mut end = None;
    loop {
        let len_byte = *bytes.get(pos).ok_or(NameError::Cut)?;
        match len_byte & 0xC0 {
            0x00 if len_byte == 0 => {
                let end = end.unwrap_or(pos.saturating_add(1));
                return Ok((finish_name(name), end));
            }
            0x00 => {
                let len = usize::from(len_byte);
                wire_len += len + 1;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(NameError::TooLong);
                }
                let start = pos.saturating_add(1);
                push_label(&mut name, slice(bytes, start, len).ok_or(NameError::Cut)?);
                pos = start.saturating_add(len);
            }
            0xC0 => {
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(NameError::CompressionLoop);
                }
                let low = *bytes.get(pos.saturating_add(1)).ok_or(NameError::Cut)?;
                end.get_or_insert(pos.saturating_add(2));
                pos = usize::from(u16::from_be_bytes([len_byte & 0x3F, low]));
                if pos >= bytes.len() {
                    return Err(NameError::PointerPastEnd);
                }
            }
            _ => return Err(NameError::BadLabelType),
        }
    }
}

fn finish_name(name: String) -> String {
    if name.is_empty() {
        ".".to_owned()
    } else {
        name
    }
}

/// Appends a label to a dotted name, escaping the bytes that would not print or would be read
/// as a separator or an escape.
fn push_label(name: &mut String, label: &[u8]) {
    if !name.is_empty() {
        name.push('.');
    }
    for &byte in label {
        if byte.is_ascii_graphic() && byte != b'.' && byte != b'\\' {
            name.push(char::from(byte));
        } else {
            push_decimal_escape(name, byte);
        }
    }
}

/// Appends `\DDD`, the byte's value in three decimal digits.
fn push_decimal_escape(name: &mut String, byte: u8) {
    name.push('\\');
    for digit in [byte / 100, byte / 10 % 10, byte % 10] {
        name.push(char::from(b'0' + digit));
    }
}

/// The big-endian u16 at `pos`, if the copy holds it.
fn read_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    let field = slice(bytes, pos, 2)?.try_into().ok()?;
    Some(u16::from_be_bytes(field))
}

/// The `len` bytes at `pos`, if the copy holds them all.
fn slice(bytes: &[u8], pos: usize, len: usize) -> Option<&[u8]> {
    bytes.get(pos..pos.checked_add(len)?)
}
