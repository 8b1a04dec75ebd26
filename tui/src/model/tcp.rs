//! TCP facts the probes report raw and a person wants corrected.

/// Kernel TCP states (`include/net/tcp_states.h`).
pub mod state {
    pub const CLOSE_WAIT: u32 = 8;
    pub const FIN_WAIT2: u32 = 5;
    pub const CLOSING: u32 = 11;
    pub const LAST_ACK: u32 = 9;
}

/// Payload bytes sent and received, from the kernel's sequence-space counters.
///
/// `bytes_acked` also counts our SYN (when we connected) and our FIN once the peer acknowledged
/// it; `bytes_received` counts the peer's FIN. The state the socket closed from says which FINs
/// went across: a normal close ends in FIN_WAIT2/CLOSING (we closed first) or LAST_ACK (the peer
/// did); a reset ends anywhere else.
pub fn payload_bytes(
    bytes_acked: u64,
    bytes_received: u64,
    oldstate: u32,
    active: bool,
) -> (u64, u64) {
    use state::{CLOSE_WAIT, CLOSING, FIN_WAIT2, LAST_ACK};
    let our_fin_acked = matches!(oldstate, FIN_WAIT2 | CLOSING | LAST_ACK);
    let their_fin_received = our_fin_acked || oldstate == CLOSE_WAIT;
    let syn = u64::from(active && bytes_acked > 0);
    let tx = bytes_acked.saturating_sub(syn + u64::from(our_fin_acked));
    let rx = bytes_received.saturating_sub(u64::from(their_fin_received));
    (tx, rx)
}

#[cfg(test)]
mod tests {
    use super::state::{CLOSE_WAIT, CLOSING, FIN_WAIT2, LAST_ACK};
    use super::*;

    const ESTABLISHED: u32 = 1;
    const SYN_SENT: u32 = 2;

    #[test]
    fn sequence_numbers_of_syn_and_fin_are_not_payload() {
        let cases = [
            // (acked, received, oldstate, active) -> (tx, rx); the first two measured on loopback.
            ((102, 51, FIN_WAIT2, true), (100, 50)), // we connected and closed first
            ((51, 101, LAST_ACK, false), (50, 100)), // we accepted and closed second
            ((101, 50, ESTABLISHED, true), (100, 50)), // reset: no FIN either way
            ((51, 101, CLOSE_WAIT, false), (51, 100)), // we reset after the peer's FIN
            ((0, 0, SYN_SENT, true), (0, 0)),        // refused
            ((2, 1, CLOSING, true), (0, 0)),         // simultaneous close, no payload
        ];
        for ((acked, received, oldstate, active), expected) in cases {
            assert_eq!(
                payload_bytes(acked, received, oldstate, active),
                expected,
                "acked {acked} received {received} from state {oldstate}"
            );
        }
    }
}
