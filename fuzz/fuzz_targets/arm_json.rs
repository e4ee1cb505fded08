//! What ARM sends back, mapped the way every composite maps it: error
//! envelopes, operation status, drift comparison, subnets, address spaces
//! and tags. Arbitrary JSON never panics, and a body always matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trench_arm::error::ErrorDetail;
use trench_arm::lro::is_terminal_success;
use trench_arm::reconcile;
use trench_provider::resources::network;

fuzz_target!(|data: &[u8]| {
    let _ = ErrorDetail::from_body(data);
    let Ok(j) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let _ = is_terminal_success(&j);
    let _ = reconcile::in_flight(&j);
    assert!(reconcile::matches(&j, &j), "a body matches itself");
    let _ = network::read_subnets(&j);
    let _ = network::read_space(&j);
    let tags = network::read_tags(&j);
    assert_eq!(network::tag_drift("x", &j, &tags), None, "a body's own tags are no drift");
});
