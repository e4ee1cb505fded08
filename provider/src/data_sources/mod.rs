//! Data sources, one file each.

pub mod conventions;
pub mod hub;
