//! armsim: a local Azure Resource Manager for trench's estate.
//!
//! It answers like ARM for every resource type the estate uses (long-running operations, computed
//! read-only properties, the refusals operators meet), issues Entra tokens for configured service
//! principals, throttles like ARM's token buckets and injects faults on request. Build the HTTP app
//! with [`app`] (tests drive it with `tower::ServiceExt::oneshot`) or bind it with [`serve`].
#![warn(missing_docs)]

mod admin;
mod armpath;
mod auth;
pub mod bench;
mod check;
mod clock;
mod config;
mod engine;
mod error;
mod faults;
mod ids;
mod ipam;
mod journal;
mod jpath;
mod ops;
mod persist;
mod providers;
mod regions;
mod reply;
mod server;
mod sim;
mod spec;
mod state;
mod throttle;
mod tls;
mod types;
mod writes;

use axum::Router;
use axum::routing::{get, post};

pub use clock::Clock;
pub use config::{
    DEFAULT_SUBSCRIPTION, DEFAULT_TENANT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Principal, RegisteredNamespaces, SimConfig, ThrottleMode,
};
pub use error::{Error, Result};
pub use faults::{FaultKind, FaultRule, parse_fault_spec};
pub use server::{RunningSim, serve};
pub use sim::Sim;

/// The simulator's HTTP application: ARM, the Entra token endpoint and the `/_sim/` admin API.
pub fn app(sim: Sim) -> Router {
    sim.start_flusher();
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(auth::openid_configuration))
        .route("/{tenant}/discovery/v2.0/keys", get(auth::keys))
        .route("/common/discovery/instance", get(auth::instance_discovery))
        .nest("/_sim", admin::router())
        .fallback(arm)
        .with_state(sim)
}

async fn arm(axum::extract::State(sim): axum::extract::State<Sim>, req: axum::extract::Request) -> axum::response::Response {
    sim::handle_arm(sim, req).await
}
