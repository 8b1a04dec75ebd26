//! DNS lookups: the messages the probes copy, parsed, and each query paired with its response.

pub mod message;
pub mod pairing;
#[cfg(test)]
mod pairing_tests;
#[cfg(test)]
mod tests;
