//! Terraform plugin protocol 6 for Rust providers, without Go: go-plugin
//! serving with AutoMTLS, our own `tfplugin6.proto`, cty values and their
//! wire codecs, diagnostics with attribute paths, and the framework a
//! provider implements (resources, data sources, functions, the provider
//! block). It knows nothing of Azure: `trench-provider` is built on it.
//!
//! Layers, each using only those after it: [`serve`] (process, socket,
//! TLS) → `tfplugin` (the only module that knows protobuf types) →
//! [`framework`] → [`value`].
#![warn(missing_docs)]

pub mod framework;
pub mod logging;
pub mod serve;
mod tfplugin;
pub mod value;

#[cfg(any(test, feature = "testing"))]
pub use tfplugin::testing;
