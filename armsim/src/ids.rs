//! Deterministic identifiers: every GUID the simulator invents is a hash of the seed and what it names,
//! so the same request history gives the same ids whatever the interleaving.

use aws_lc_rs::digest;

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seeded(seed: u64, parts: &[&str]) -> [u8; 32] {
    let mut buf = seed.to_le_bytes().to_vec();
    for p in parts {
        buf.extend_from_slice(p.as_bytes());
        buf.push(0);
    }
    sha256(&buf)
}

/// A version-4-shaped GUID derived from the seed and `parts`.
pub(crate) fn guid(seed: u64, parts: &[&str]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&seeded(seed, parts)[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().hyphenated().to_string()
}

/// `n` lower-case hex characters derived from the seed and `parts`.
pub(crate) fn hexid(seed: u64, parts: &[&str], n: usize) -> String {
    let mut s = hex(&seeded(seed, parts));
    while s.len() < n {
        s.push_str(&hex(&seeded(seed, &[&s])));
    }
    s.truncate(n);
    s
}

/// Bytes derived from the seed and `parts`.
pub(crate) fn bytes(seed: u64, parts: &[&str]) -> [u8; 32] {
    seeded(seed, parts)
}

/// Cheap per-request ids (not security relevant): splitmix64 over a counter.
pub(crate) fn request_guid(seed: u64, counter: u64) -> String {
    let mut x = seed ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&next().to_le_bytes());
    b[8..].copy_from_slice(&next().to_le_bytes());
    uuid::Builder::from_random_bytes(b).into_uuid().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_depend_on_seed_and_parts_only() {
        assert_eq!(guid(1, &["a", "b"]), guid(1, &["a", "b"]));
        assert_ne!(guid(1, &["a", "b"]), guid(2, &["a", "b"]));
        assert_ne!(guid(1, &["ab"]), guid(1, &["a", "b"]));
        assert_eq!(guid(1, &["x"]).len(), 36);
        assert_eq!(hexid(3, &["y"], 80).len(), 80);
        assert_ne!(request_guid(0, 1), request_guid(0, 2));
    }
}
