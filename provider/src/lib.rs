//! terraform-provider-trench: composite Azure hub–spoke resources served
//! over Terraform plugin protocol 6. See ARCHITECTURE.md for the map.
//!
//! Built on two crates that know nothing of each other: `trench-plugin`
//! (the protocol and the framework) and `trench-arm` (the Azure Resource
//! Manager client).
#![warn(missing_docs)]

pub mod config;
pub use trench_conventions as conventions;
pub mod data_sources;
pub mod functions;
pub mod resources;

use trench_plugin::framework::{Identity, Provider};

/// Version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Who the provider is, to Terraform, go-plugin and the log.
pub const IDENTITY: Identity = Identity {
    name: "trench",
    binary: "terraform-provider-trench",
    source_address: "registry.terraform.io/trench-lab/trench",
    version: VERSION,
    log_crates: &["trench_provider", "trench_arm", "trench_plugin", "terraform_provider_trench"],
};

/// The provider with everything it offers registered.
pub fn provider() -> Provider {
    use resources::driver::Composed;
    Provider::new(IDENTITY, config::Block)
        .with_resource(Composed::<resources::hub::Hub>::new())
        .with_resource(Composed::<resources::spoke::Spoke>::new())
        .with_resource(Composed::<resources::aks::PrivateAks>::new())
        .with_resource(Composed::<resources::identity::WorkloadIdentity>::new())
        .with_resource(Composed::<resources::paas::PaasBundle>::new())
        .with_data_source(data_sources::conventions::Conventions)
        .with_data_source(data_sources::hub::HubLookup)
        .with_function(functions::Name)
        .with_function(functions::CompactName)
}
