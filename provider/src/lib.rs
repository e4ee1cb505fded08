//! terraform-provider-trench: composite Azure hub–spoke resources served
//! over Terraform plugin protocol 6. See ARCHITECTURE.md for the map.
#![warn(missing_docs)]

pub mod arm;
pub mod config;
pub use trench_conventions as conventions;
pub mod data_sources;
pub mod framework;
pub mod functions;
pub mod logging;
pub mod plugin;
pub mod resources;
mod tfplugin;
pub mod value;

use framework::Provider;

/// The provider with everything it offers registered.
pub fn provider() -> Provider {
    Provider::new()
        .with_resource(resources::hub::Hub)
        .with_resource(resources::spoke::Spoke)
        .with_resource(resources::aks::PrivateAks)
        .with_resource(resources::identity::WorkloadIdentity)
        .with_resource(resources::paas::PaasBundle)
        .with_data_source(data_sources::conventions::Conventions)
        .with_data_source(data_sources::hub::HubLookup)
        .with_function(functions::Name)
        .with_function(functions::CompactName)
}

/// Version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
