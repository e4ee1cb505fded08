//! Behaviour that is easier to state in Rust than as a request sequence: the token endpoint,
//! exact throttling, seeded faults, the admin API, persistence and a real TLS socket.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod faults;
mod persistence;
mod throttle;
mod tls;
mod token;
