//! The protocol boundary: the only module that knows protobuf types.
//!
//! `proto` and `goplugin` are generated from our own `.proto` files;
//! `convert` maps them to and from the framework's types; `service`
//! answers every tfplugin6 RPC; `controller` holds go-plugin's auxiliary
//! services. The plugin layer gets a ready [`tonic::service::Routes`].

mod controller;
mod convert;
mod service;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[allow(missing_docs, dead_code, clippy::all, clippy::pedantic)]
pub(crate) mod proto {
    tonic::include_proto!("tfplugin6");
}

#[allow(missing_docs, dead_code, clippy::all, clippy::pedantic)]
pub(crate) mod goplugin {
    tonic::include_proto!("plugin");
}

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::framework::Provider;

/// Largest message either side may send: Terraform's own plugin servers use
/// 256 MiB (tonic's default of 4 MiB is too small for big plans).
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// All gRPC services a Terraform plugin process serves: tfplugin6.Provider,
/// go-plugin's controller (Shutdown) and stdio, and grpc.health.v1 with
/// service "plugin" SERVING. `shutdown` receives one message when Terraform
/// asks the process to exit.
pub async fn routes(provider: Arc<Provider>, shutdown: mpsc::Sender<()>) -> tonic::service::Routes {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
    let provider_svc = proto::provider_server::ProviderServer::new(service::ProviderService::new(provider))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    tonic::service::Routes::new(provider_svc)
        .add_service(goplugin::grpc_controller_server::GrpcControllerServer::new(controller::Controller { shutdown }))
        .add_service(goplugin::grpc_stdio_server::GrpcStdioServer::new(controller::Stdio))
        .add_service(health)
}

#[cfg(test)]
mod tests;
