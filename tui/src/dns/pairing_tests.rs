//! A query and its response become one event, whatever else is waiting; a query without one
//! ends as a timeout after five seconds, or unanswered when tracing ends.

use super::pairing::{DnsPairs, DnsResponse, TIMEOUT, WAITING_MAX};
use crate::clock::WallClock;
use crate::ingest::decode::{Record, decode_record};
use crate::ingest::test_records::{
    DnsFields, dns_bytes, dns_message, dns_query_record, dns_response_record,
};
use crate::ingest::text_arena::TextArena;
use crate::model::Event;
use crate::model::event::{Details, Dns, DnsOutcome};
use crate::model::user_stack::UserCopy;

fn query(fields: &DnsFields) -> Event {
    match decode_record(
        &dns_bytes(fields),
        &WallClock::now().unwrap(),
        &mut TextArena::default(),
    ) {
        Ok(Record::Event(event, _)) => event,
        other => panic!("not a query event: {other:?}"),
    }
}

fn response(fields: &DnsFields) -> DnsResponse {
    match decode_record(
        &dns_bytes(fields),
        &WallClock::now().unwrap(),
        &mut TextArena::default(),
    ) {
        Ok(Record::DnsResponse(response)) => response,
        other => panic!("not a response: {other:?}"),
    }
}

fn dns(event: &Event) -> &Dns {
    match &event.details {
        Details::Dns(dns) => dns,
        other => panic!("not a dns event: {other:?}"),
    }
}

#[test]
fn a_response_completes_its_query_with_answers_and_latency() {
    let mut pairs = DnsPairs::default();
    let sent = query(&dns_query_record());
    assert!(pairs.query(sent.clone(), UserCopy::NotTaken).is_none());
    let (event, _) = pairs
        .response(response(&dns_response_record(0, &[[93, 184, 216, 34]])))
        .expect("paired");
    let lookup = dns(&event);
    assert_eq!(lookup.query, "example.com");
    assert_eq!(lookup.qtype(), "A");
    assert_eq!(lookup.rcode(), "NOERROR");
    assert_eq!(lookup.answers, ["93.184.216.34"]);
    assert_eq!(lookup.latency_ns, Some(12_000_000));
    assert_eq!(lookup.server().as_deref(), Some("10.0.0.53:53"));
    assert_eq!(event.summary(), "A example.com → 93.184.216.34 (12 ms)");
    assert!(!event.details.failed());
    // Completed when the answer came; its stacks are still the sender's.
    assert_eq!(event.mono_ns, sent.mono_ns + 12_000_000);
    assert_eq!(event.stack_mono_ns, sent.stack_mono_ns);
    assert_eq!(event.ustack, sent.ustack);
    assert_eq!(event.pid, sent.pid);
    assert!(pairs.drain().is_empty(), "nothing left waiting");
}

#[test]
fn nxdomain_is_a_failure_named_in_the_summary() {
    let mut pairs = DnsPairs::default();
    pairs.query(query(&dns_query_record()), UserCopy::NotTaken);
    let (event, _) = pairs
        .response(response(&dns_response_record(3, &[])))
        .unwrap();
    assert_eq!(dns(&event).rcode(), "NXDOMAIN");
    assert!(event.details.failed());
    assert_eq!(event.summary(), "A example.com NXDOMAIN (12 ms)");
}

#[test]
fn a_response_to_another_id_or_port_answers_nothing() {
    let mut pairs = DnsPairs::default();
    pairs.query(query(&dns_query_record()), UserCopy::NotTaken);
    let mut other_id = dns_response_record(0, &[[1, 2, 3, 4]]);
    other_id.payload = dns_message(0x9999, "example.com", 1, Some((0, &[[1, 2, 3, 4]])));
    assert!(pairs.response(response(&other_id)).is_none());
    let mut other_port = dns_response_record(0, &[[1, 2, 3, 4]]);
    other_port.head.addrs.lport = 40001;
    assert!(pairs.response(response(&other_port)).is_none());
    assert_eq!(pairs.drain().len(), 1, "the query still waited");
}

#[test]
fn a_query_without_a_response_times_out_after_five_seconds() {
    let mut pairs = DnsPairs::default();
    let sent = query(&dns_query_record());
    pairs.query(sent.clone(), UserCopy::NotTaken);
    let timeout = TIMEOUT.as_nanos() as u64;
    assert!(pairs.timed_out(sent.mono_ns + timeout - 1).is_empty());
    let done = pairs.timed_out(sent.mono_ns + timeout);
    let [(event, _)] = done.as_slice() else {
        panic!("one timeout: {done:?}");
    };
    assert_eq!(dns(event).outcome, DnsOutcome::Timeout);
    assert_eq!(dns(event).rcode(), "timeout");
    assert_eq!(dns(event).latency_ns, None);
    assert_eq!(event.mono_ns, sent.mono_ns + timeout);
    assert!(event.details.failed());
    // A response after the timeout answers nothing.
    assert!(
        pairs
            .response(response(&dns_response_record(0, &[])))
            .is_none()
    );
}

#[test]
fn queries_still_waiting_at_the_end_are_reported_unanswered() {
    let mut pairs = DnsPairs::default();
    pairs.query(query(&dns_query_record()), UserCopy::NotTaken);
    let done = pairs.drain();
    assert_eq!(done.len(), 1);
    assert_eq!(dns(&done[0].0).rcode(), "unanswered");
}

#[test]
fn too_many_waiting_queries_give_way_oldest_first() {
    let mut pairs = DnsPairs::default();
    for port in 0..WAITING_MAX {
        let mut fields = dns_query_record();
        fields.head.addrs.lport = port as u16;
        assert!(pairs.query(query(&fields), UserCopy::NotTaken).is_none());
    }
    let mut newest = dns_query_record();
    newest.head.addrs.lport = 60_000;
    let (evicted, _) = pairs
        .query(query(&newest), UserCopy::NotTaken)
        .expect("the oldest gives way");
    assert_eq!(dns(&evicted).addrs.local.map(|(_, port)| port), Some(0));
    assert_eq!(dns(&evicted).outcome, DnsOutcome::Unanswered);
    assert_eq!(pairs.drain().len(), WAITING_MAX);
}
