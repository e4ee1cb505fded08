//! The composite resources, one folder each, and what they share.

#![allow(clippy::result_large_err)] // ArmError, see arm/mod.rs

pub mod aks;
pub mod checks;
pub mod cidr;
pub mod common;
pub mod composite;
pub mod driver;
pub mod hub;
pub mod identity;
pub mod network;
pub mod paas;
pub mod roles;
pub mod spoke;
#[cfg(test)]
mod testing;
