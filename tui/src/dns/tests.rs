use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::message::*;
use crate::model::dns_names::{qtype_name, rcode_name};

// `dig example.com A` as dig 9.18 lays it out: RD and AD set, one question and an EDNS OPT
// record (UDP size 1232) carrying a client cookie. The id and cookie are made up.
const DIG_QUERY: [u8; 52] = [
    0x8a, 0x3f, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // header
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, // name
    0x00, 0x01, 0x00, 0x01, // type A, class IN
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, // OPT
    0x00, 0x0a, 0x00, 0x08, 0x5d, 0x1c, 0x4e, 0x3a, 0x90, 0x11, 0xa2, 0x7f, // cookie
];

// An answer to it as a recursive resolver lays it out: QR, RD, RA and AD set, one A record
// (owner name a pointer to the question's) and the server's OPT record, here without a cookie.
const DIG_RESPONSE: [u8; 56] = [
    0x8a, 0x3f, 0x81, 0xa0, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // header
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, // name
    0x00, 0x01, 0x00, 0x01, // type A, class IN
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0b, 0x7e, 0x00, 0x04, // A, TTL 2942
    0x5d, 0xb8, 0xd7, 0x0e, // 93.184.215.14
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OPT
];

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;

/// Builds a DNS message field by field, so tests can say where compression pointers point.
struct Packet(Vec<u8>);

impl Packet {
    fn new(id: u16, flags: u16, counts: [u16; 4]) -> Self {
        let mut packet = Self(Vec::new());
        packet.u16(id).u16(flags);
        for count in counts {
            packet.u16(count);
        }
        packet
    }

    fn u16(&mut self, value: u16) -> &mut Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// The offset the next byte goes to, for a pointer to it.
    fn here(&self) -> u16 {
        u16::try_from(self.0.len()).expect("test packets are small")
    }

    /// Writes labels, but not the zero byte that would end the name.
    fn labels(&mut self, dotted: &str) -> &mut Self {
        for label in dotted.split('.').filter(|label| !label.is_empty()) {
            self.0.push(u8::try_from(label.len()).expect("short label"));
            self.0.extend_from_slice(label.as_bytes());
        }
        self
    }

    fn name(&mut self, dotted: &str) -> &mut Self {
        self.labels(dotted).end_name()
    }

    fn end_name(&mut self) -> &mut Self {
        self.0.push(0);
        self
    }

    fn pointer(&mut self, offset: u16) -> &mut Self {
        self.u16(0xc000 | offset)
    }

    fn question(&mut self, dotted: &str, qtype: u16) -> &mut Self {
        self.name(dotted).u16(qtype).u16(1)
    }

    /// A record's fields after its owner name; returns the offset of its RDATA.
    fn record_fields(&mut self, rtype: u16, rdata_len: u16) -> u16 {
        self.u16(rtype).u16(1).u16(0).u16(300).u16(rdata_len);
        self.here()
    }

    /// A CNAME record owned by the name at `owner`, its RDATA written by `target`; returns the
    /// RDATA's offset.
    fn cname(&mut self, owner: u16, target: impl FnOnce(&mut Self)) -> u16 {
        self.pointer(owner);
        let rdata = self.record_fields(TYPE_CNAME, 0);
        target(self);
        let rdata_len = (self.here() - rdata).to_be_bytes();
        let at = usize::from(rdata) - 2;
        self.0[at..at + 2].copy_from_slice(&rdata_len);
        rdata
    }

    fn a(&mut self, owner: u16, address: Ipv4Addr) -> &mut Self {
        self.pointer(owner).record_fields(TYPE_A, 4);
        self.0.extend_from_slice(&address.octets());
        self
    }

    fn aaaa(&mut self, owner: u16, address: Ipv6Addr) -> &mut Self {
        self.pointer(owner).record_fields(TYPE_AAAA, 16);
        self.0.extend_from_slice(&address.octets());
        self
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
}

const QUESTION_AT: u16 = 12;

/// `www.shop.example` is a CNAME for `shop.cdn.example`, itself a CNAME for `e1.cdn.example`,
/// which has two addresses. Every name after the question's is compressed.
fn cname_chain() -> Vec<u8> {
    let mut packet = Packet::new(0x4242, 0x8180, [1, 4, 0, 0]);
    packet.question("www.shop.example", TYPE_A);
    // The "example" of the question, after "www" and "shop".
    let example = QUESTION_AT + 4 + 5;
    let first_target = packet.cname(QUESTION_AT, |p| {
        p.labels("shop.cdn").pointer(example);
    });
    // The "cdn" of that target, after "shop".
    let cdn_example = first_target + 5;
    let second_target = packet.cname(first_target, |p| {
        p.labels("e1").pointer(cdn_example);
    });
    packet
        .a(second_target, Ipv4Addr::new(192, 0, 2, 1))
        .a(second_target, Ipv4Addr::new(192, 0, 2, 2));
    packet.bytes()
}

fn cname_chain_answers() -> Vec<Answer> {
    vec![
        Answer::Cname("shop.cdn.example".to_owned()),
        Answer::Cname("e1.cdn.example".to_owned()),
        Answer::Address(Ipv4Addr::new(192, 0, 2, 1).into()),
        Answer::Address(Ipv4Addr::new(192, 0, 2, 2).into()),
    ]
}

fn aaaa_response() -> Vec<u8> {
    let mut packet = Packet::new(7, 0x8180, [1, 1, 0, 0]);
    packet
        .question("v6.example", TYPE_AAAA)
        .aaaa(QUESTION_AT, "2001:db8::53".parse().expect("address"));
    packet.bytes()
}

fn nxdomain_response() -> Vec<u8> {
    let mut packet = Packet::new(9, 0x8183, [1, 0, 1, 0]);
    packet.question("nothing.example", TYPE_A);
    // The authority section's SOA, which the parser does not read.
    packet.pointer(QUESTION_AT + 8);
    packet.record_fields(6, 2);
    packet.u16(0);
    packet.bytes()
}

fn question_name(message: &Message) -> &str {
    message.question.as_ref().map_or("", |q| q.name.as_str())
}

#[test]
fn dig_query_for_example_com() {
    let message = parse(&DIG_QUERY).expect("parses");
    assert_eq!(
        message,
        Message {
            id: 0x8a3f,
            is_response: false,
            opcode: 0,
            rcode: 0,
            truncated_flag: false,
            question: Some(Question {
                name: "example.com".to_owned(),
                qtype: TYPE_A,
            }),
            answers: Vec::new(),
            answers_cut: false,
        }
    );
}

#[test]
fn dig_response_for_example_com() {
    let message = parse(&DIG_RESPONSE).expect("parses");
    assert_eq!(message.id, 0x8a3f);
    assert!(message.is_response);
    assert_eq!(message.rcode, 0);
    assert_eq!(question_name(&message), "example.com");
    assert_eq!(
        message.answers,
        [Answer::Address(Ipv4Addr::new(93, 184, 215, 14).into())]
    );
    assert!(!message.answers_cut);
}

#[test]
fn cname_chain_through_compression_pointers() {
    let message = parse(&cname_chain()).expect("parses");
    assert_eq!(message.id, 0x4242);
    assert_eq!(question_name(&message), "www.shop.example");
    assert_eq!(message.answers, cname_chain_answers());
    assert!(!message.answers_cut);
}

#[test]
fn aaaa_answer() {
    let message = parse(&aaaa_response()).expect("parses");
    let question = message.question.expect("a question");
    assert_eq!(question.name, "v6.example");
    assert_eq!(qtype_name(question.qtype), Some("AAAA"));
    let expected: IpAddr = "2001:db8::53".parse().expect("address");
    assert_eq!(message.answers, [Answer::Address(expected)]);
}

#[test]
fn nxdomain() {
    let message = parse(&nxdomain_response()).expect("parses");
    assert_eq!(message.rcode, 3);
    assert_eq!(rcode_name(message.rcode), Some("NXDOMAIN"));
    assert!(message.answers.is_empty());
    assert!(!message.answers_cut);
}

#[test]
fn header_flags() {
    // Opcode 5 (UPDATE), TC and RCODE 5 (REFUSED) in a response.
    let mut packet = Packet::new(1, 0x8000 | (5 << 11) | 0x0200 | 5, [1, 0, 0, 0]);
    packet.question("example", 6);
    let message = parse(&packet.bytes()).expect("parses");
    assert!(message.is_response);
    assert_eq!(message.opcode, 5);
    assert!(message.truncated_flag);
    assert_eq!(rcode_name(message.rcode), Some("REFUSED"));
    assert!(!parse(&DIG_RESPONSE).expect("parses").truncated_flag);
}

#[test]
fn copy_cut_inside_the_answers_keeps_the_whole_ones() {
    let full = cname_chain();
    let all = cname_chain_answers();
    let question_end = 12 + 18 + 4;
    for len in question_end..full.len() {
        let message = parse(&full[..len]).unwrap_or_else(|error| panic!("cut at {len}: {error}"));
        assert_eq!(question_name(&message), "www.shop.example");
        assert!(message.answers_cut, "cut at {len}");
        assert!(message.answers.len() < all.len(), "cut at {len}");
        assert_eq!(
            message.answers,
            all[..message.answers.len()],
            "cut at {len}"
        );
    }
    // Each answer is there as soon as its last byte is: the first CNAME is a pointer, 10 bytes
    // of fields and 11 of RDATA; the last A record 16 bytes in all.
    let kept = |len: usize| parse(&full[..len]).expect("parses").answers.len();
    assert_eq!(kept(question_end + 23), 1);
    assert_eq!(kept(question_end + 22), 0);
    assert_eq!(kept(full.len() - 16), 3);
    assert_eq!(kept(full.len() - 1), 3);
}

#[test]
fn copy_cut_after_the_answers_is_whole() {
    // The OPT record after the answer is not read, so losing it loses nothing.
    for len in DIG_RESPONSE.len() - 11..=DIG_RESPONSE.len() {
        let message = parse(&DIG_RESPONSE[..len]).expect("parses");
        assert_eq!(message.answers.len(), 1);
        assert!(!message.answers_cut);
    }
}

#[test]
fn copy_cut_before_the_question_ends_is_an_error() {
    let full = cname_chain();
    for len in 0..12 {
        assert_eq!(parse(&full[..len]), Err(MalformedDns::ShortHeader));
    }
    for len in 12..30 {
        assert_eq!(
            parse(&full[..len]),
            Err(MalformedDns::QuestionName(NameError::Cut)),
            "cut at {len}"
        );
    }
    for len in 30..34 {
        assert_eq!(parse(&full[..len]), Err(MalformedDns::QuestionCut));
    }
}

#[test]
fn error_messages() {
    assert_eq!(
        MalformedDns::ShortHeader.to_string(),
        "dns header shorter than 12 bytes"
    );
    assert_eq!(
        MalformedDns::QuestionName(NameError::CompressionLoop).to_string(),
        "dns question name: compression loop"
    );
    let error: Box<dyn std::error::Error> = Box::new(MalformedDns::QuestionCut);
    assert_eq!(
        error.to_string(),
        "dns question runs past the end of the copy"
    );
}

#[test]
fn compression_loop_in_the_question() {
    // A pointer to itself.
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.pointer(QUESTION_AT).u16(1).u16(1);
    assert_eq!(
        parse(&packet.bytes()),
        Err(MalformedDns::QuestionName(NameError::CompressionLoop))
    );

    // Two labels and two pointers that point at each other.
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.labels("a").pointer(QUESTION_AT + 4);
    packet.labels("b").pointer(QUESTION_AT);
    packet.u16(1).u16(1);
    assert_eq!(
        parse(&packet.bytes()),
        Err(MalformedDns::QuestionName(NameError::CompressionLoop))
    );
}

#[test]
fn pointer_chain_limit() {
    // The question's name is a pointer to the last of `jumps - 1` more pointers after it, each
    // to the one before, the first to a root name.
    let chain = |jumps: u16| {
        let root = QUESTION_AT + 6;
        let last = if jumps == 1 {
            root
        } else {
            root + 1 + 2 * (jumps - 2)
        };
        let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
        packet.pointer(last).u16(1).u16(1).end_name();
        let mut target = root;
        for _ in 1..jumps {
            target = {
                let here = packet.here();
                packet.pointer(target);
                here
            };
        }
        assert_eq!(target, last);
        parse(&packet.bytes())
    };
    let limit = u16::try_from(MAX_POINTER_JUMPS).expect("small");
    assert_eq!(question_name(&chain(limit).expect("parses")), ".");
    assert_eq!(
        chain(limit + 1),
        Err(MalformedDns::QuestionName(NameError::CompressionLoop))
    );
}

#[test]
fn compression_loop_in_an_answer_keeps_earlier_answers() {
    let mut packet = Packet::new(1, 0x8180, [1, 2, 0, 0]);
    packet
        .question("loop.example", TYPE_A)
        .a(QUESTION_AT, Ipv4Addr::new(192, 0, 2, 7));
    let looping = packet.here();
    packet.pointer(looping);
    packet.record_fields(TYPE_A, 4);
    packet.0.extend_from_slice(&[192, 0, 2, 8]);
    let message = parse(&packet.bytes()).expect("parses");
    assert_eq!(
        message.answers,
        [Answer::Address(Ipv4Addr::new(192, 0, 2, 7).into())]
    );
    assert!(message.answers_cut);
}

#[test]
fn bad_label_types_and_pointers() {
    for first in [0x40, 0x80, 0xbf] {
        let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
        packet.0.extend_from_slice(&[first, 0, 0, 1, 0, 1]);
        assert_eq!(
            parse(&packet.bytes()),
            Err(MalformedDns::QuestionName(NameError::BadLabelType))
        );
    }
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.pointer(0x3fff).u16(1).u16(1);
    assert_eq!(
        parse(&packet.bytes()),
        Err(MalformedDns::QuestionName(NameError::PointerPastEnd))
    );
    // A pointer cut in half.
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.0.push(0xc0);
    assert_eq!(
        parse(&packet.bytes()),
        Err(MalformedDns::QuestionName(NameError::Cut))
    );
}

#[test]
fn name_length_limit() {
    let name = |labels: &[usize]| {
        let dotted: Vec<String> = labels.iter().map(|&len| "x".repeat(len)).collect();
        let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
        packet.question(&dotted.join("."), TYPE_A);
        parse(&packet.bytes())
    };
    // 3 × (1 + 63) + (1 + 62) + 1 = 256 bytes on the wire; one fewer is the most allowed.
    assert_eq!(
        name(&[63, 63, 63, 62]),
        Err(MalformedDns::QuestionName(NameError::TooLong))
    );
    let longest = name(&[63, 63, 63, 61]).expect("parses");
    assert_eq!(question_name(&longest).len(), 3 * 64 + 61);
}

#[test]
fn names_too_long_through_pointers() {
    // Each label of 63 is followed by a pointer to the one before; the fifth makes 321 bytes.
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.pointer(0).u16(1).u16(1);
    let mut previous = None;
    for _ in 0..5 {
        let here = packet.here();
        packet.labels(&"y".repeat(63));
        match previous {
            Some(offset) => packet.pointer(offset),
            None => packet.end_name(),
        };
        previous = Some(here);
    }
    let mut bytes = packet.bytes();
    let last = previous.expect("five labels");
    bytes[12..14].copy_from_slice(&(0xc000 | last).to_be_bytes());
    assert_eq!(
        parse(&bytes),
        Err(MalformedDns::QuestionName(NameError::TooLong))
    );
}

#[test]
fn labels_are_escaped_as_dig_escapes_them() {
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    packet.0.extend_from_slice(&[3, b'a', b'.', b'b']);
    packet
        .0
        .extend_from_slice(&[6, b'\\', b' ', 0, 0xff, 0x7f, b'~']);
    packet.0.extend_from_slice(&[3, b'C', b'o', b'M', 0]);
    packet.u16(TYPE_A).u16(1);
    let message = parse(&packet.bytes()).expect("parses");
    assert_eq!(question_name(&message), r"a\046b.\092\032\000\255\127~.CoM");
}

#[test]
fn the_longest_name_escaped_stays_printable() {
    let mut packet = Packet::new(1, 0, [1, 0, 0, 0]);
    // Labels as long as fit in 255 wire bytes, every byte escaped: the longest a name renders.
    for label in [63, 63, 63, 61] {
        packet.0.push(label);
        packet
            .0
            .extend(std::iter::repeat_n(0x01, usize::from(label)));
    }
    packet.end_name().u16(TYPE_A).u16(1);
    let message = parse(&packet.bytes()).expect("parses");
    let name = question_name(&message);
    assert_eq!(name.len(), 250 * 4 + 3);
    assert!(name.bytes().all(|b| b.is_ascii_graphic()));
}

#[test]
fn root_name_and_no_question() {
    let mut packet = Packet::new(1, 0x8180, [1, 0, 0, 0]);
    packet.question("", 2);
    let bytes = packet.bytes();
    assert_eq!(bytes.len(), 12 + 1 + 4);
    let message = parse(&bytes).expect("parses");
    assert_eq!(question_name(&message), ".");
    assert_eq!(qtype_name(2), Some("NS"));

    // A response without a question still has its answers read.
    let mut packet = Packet::new(1, 0x8180, [0, 1, 0, 0]);
    packet.name("bare.example");
    packet.record_fields(TYPE_A, 4);
    packet.0.extend_from_slice(&[10, 0, 0, 1]);
    let message = parse(&packet.bytes()).expect("parses");
    assert_eq!(message.question, None);
    assert_eq!(
        message.answers,
        [Answer::Address(Ipv4Addr::new(10, 0, 0, 1).into())]
    );
}

#[test]
fn answers_follow_every_question() {
    let mut packet = Packet::new(1, 0x8180, [2, 1, 0, 0]);
    packet
        .question("first.example", TYPE_A)
        .question("second.example", TYPE_A)
        .a(QUESTION_AT, Ipv4Addr::new(192, 0, 2, 9));
    let message = parse(&packet.bytes()).expect("parses");
    assert_eq!(question_name(&message), "first.example");
    assert_eq!(message.answers.len(), 1);

    // A second question cut short leaves the answers cut.
    let bytes = packet.bytes();
    let message = parse(&bytes[..12 + 19 + 5]).expect("parses");
    assert_eq!(question_name(&message), "first.example");
    assert!(message.answers.is_empty());
    assert!(message.answers_cut);
}

#[test]
fn other_types_and_odd_lengths_are_walked_past() {
    let mut packet = Packet::new(1, 0x8180, [1, 3, 0, 0]);
    packet.question("mail.example", TYPE_MX);
    // An MX record, then an A record with 5 bytes of RDATA, then a good A record.
    packet.pointer(QUESTION_AT);
    packet.record_fields(TYPE_MX, 4);
    packet.u16(10).pointer(QUESTION_AT);
    packet.pointer(QUESTION_AT);
    packet.record_fields(TYPE_A, 5);
    packet.0.extend_from_slice(&[1, 2, 3, 4, 5]);
    packet.a(QUESTION_AT, Ipv4Addr::new(192, 0, 2, 25));
    let message = parse(&packet.bytes()).expect("parses");
    assert_eq!(
        message.answers,
        [Answer::Address(Ipv4Addr::new(192, 0, 2, 25).into())]
    );
    assert!(!message.answers_cut);
}

#[test]
fn type_and_rcode_names() {
    let types = [
        (1, "A"),
        (2, "NS"),
        (5, "CNAME"),
        (6, "SOA"),
        (12, "PTR"),
        (15, "MX"),
        (16, "TXT"),
        (28, "AAAA"),
        (33, "SRV"),
        (35, "NAPTR"),
        (41, "OPT"),
        (43, "DS"),
        (46, "RRSIG"),
        (47, "NSEC"),
        (48, "DNSKEY"),
        (64, "SVCB"),
        (65, "HTTPS"),
        (252, "AXFR"),
        (255, "ANY"),
        (257, "CAA"),
    ];
    for (qtype, name) in types {
        assert_eq!(qtype_name(qtype), Some(name));
    }
    assert_eq!(qtype_name(0), None);
    assert_eq!(qtype_name(999), None);
    let rcodes = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    for (rcode, name) in (0..).zip(rcodes) {
        assert_eq!(rcode_name(rcode), Some(name));
    }
    assert_eq!(rcode_name(11), None);
    assert_eq!(rcode_name(15), None);
}

/// xorshift64: deterministic, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).expect("below a usize")
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Parses `bytes` (a panic fails the test) and checks every name that comes back.
fn parse_and_check(bytes: &[u8]) {
    let Ok(message) = parse(bytes) else {
        return;
    };
    let cnames = message.answers.iter().filter_map(|answer| match answer {
        Answer::Cname(name) => Some(name.as_str()),
        Answer::Address(_) => None,
    });
    for name in message
        .question
        .iter()
        .map(|q| q.name.as_str())
        .chain(cnames)
    {
        assert!(name.len() <= 1024, "{} chars from {bytes:02x?}", name.len());
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            "{name:?} from {bytes:02x?}"
        );
    }
}

#[test]
fn fuzz_random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = [0; 600];
    for _ in 0..200_000 {
        let bytes = &mut buf[..rng.below(600)];
        rng.fill(bytes);
        // Half the time, a header that claims one question and some answers, so the random
        // rest is read as names and records.
        if bytes.len() >= 12 && rng.below(2) == 0 {
            bytes[4..8].copy_from_slice(&[0, 1, 0, rng.byte() % 8]);
        }
        parse_and_check(bytes);
    }
}

/// Bytes that mean something in a name: ends, short labels, pointers and bad label types.
const TELLING_BYTES: [u8; 8] = [0x00, 0x01, 0x03, 0x3f, 0x40, 0x80, 0xc0, 0xff];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 | 1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = if rng.below(2) == 0 {
                    TELLING_BYTES[rng.below(TELLING_BYTES.len())]
                } else {
                    rng.byte()
                };
            }
            2 if !bytes.is_empty() => {
                // A pointer to anywhere in the packet, or just past it.
                let at = rng.below(bytes.len());
                let target = rng.below(bytes.len() + 2) as u16;
                let pointer = (0xc000 | target).to_be_bytes();
                bytes.splice(at..(at + 2).min(bytes.len()), pointer);
            }
            3 => bytes.truncate(rng.below(bytes.len() + 1)),
            _ => {
                // Splice a piece of another packet in at a random place.
                let other = &seeds[rng.below(seeds.len())];
                let start = rng.below(other.len());
                let end = start + rng.below(other.len() - start + 1);
                let at = rng.below(bytes.len() + 1);
                let replaced = at..(at + rng.below(8)).min(bytes.len());
                bytes.splice(replaced, other[start..end].iter().copied());
            }
        }
    }
    bytes
}

#[test]
fn fuzz_mutated_packets() {
    let seeds = vec![
        DIG_QUERY.to_vec(),
        DIG_RESPONSE.to_vec(),
        cname_chain(),
        aaaa_response(),
        nxdomain_response(),
    ];
    for seed in &seeds {
        assert!(parse(seed).is_ok());
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..200_000 {
        parse_and_check(&mutate(&mut rng, &seeds));
    }
}
