//! Terraform's msgpack against every resource's implied type: malformed
//! bytes are an error, never a panic, and what decodes re-encodes to a
//! value that decodes the same.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use trench_plugin::value::{Type, decode_msgpack, encode_msgpack};

static TYPES: LazyLock<Vec<Type>> = LazyLock::new(|| {
    let p = trench_provider::provider();
    let mut v: Vec<Type> = p.resources().map(|r| r.schema().block.implied_type()).collect();
    v.extend(p.data_sources().map(|d| d.schema().block.implied_type()));
    v.push(Type::Dynamic);
    v
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let ty = &TYPES[pick as usize % TYPES.len()];
    if let Ok(v) = decode_msgpack(bytes, ty) {
        let again = encode_msgpack(&v, ty).expect("a decoded value encodes");
        assert_eq!(decode_msgpack(&again, ty).expect("re-encoded bytes decode"), v);
    }
});
