//! The estate the benchmarks and the reliability suites apply: hub, spoke,
//! PaaS bundle, private AKS and one workload identity, wired as
//! modules/estate wires them.

use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

pub const HEADER: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
provider "trench" {}
variable "pg_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
"#;

pub const NETWORK: &str = r#"
resource "trench_hub" "core" {
  environment   = "dev"
  location      = "westeurope"
  address_space = ["10.0.0.0/16"]
}
resource "trench_spoke" "aks" {
  environment         = "dev"
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
}
"#;

pub const REST: &str = r#"
resource "trench_paas_bundle" "this" {
  environment                          = "dev"
  location                             = "westeurope"
  resource_group_name                  = trench_hub.core.resource_group_name
  private_endpoint_subnet_id           = trench_spoke.aks.subnet_ids["private-endpoints"]
  dns_zone_vnet_ids                    = [trench_hub.core.id, trench_spoke.aks.id]
  firewall_public_ip                   = trench_hub.core.firewall_public_ip
  postgresql_administrator_password_wo = var.pg_password
}
# As modules/estate does: the registry and workspace by id, so the cluster
# is created beside the bundle, not after it.
resource "trench_private_aks" "main" {
  environment                = "dev"
  location                   = "westeurope"
  subnet_id                  = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id         = trench_hub.core.firewall_policy_id
  acr_id                     = "${trench_hub.core.resource_group_id}/providers/Microsoft.ContainerRegistry/registries/trenchacrcoredev"
  log_analytics_workspace_id = "${trench_hub.core.resource_group_id}/providers/Microsoft.OperationalInsights/workspaces/trench-core-law-dev"
}
resource "trench_workload_identity" "catalog" {
  environment         = "dev"
  name                = "catalog-api"
  location            = "westeurope"
  resource_group_name = trench_hub.core.resource_group_name
  oidc_issuer_url     = trench_private_aks.main.oidc_issuer_url
  service_accounts    = [{ namespace = "catalog", name = "api" }]
  role_assignments = [
    { scope = trench_paas_bundle.this.key_vault_id, role = "Key Vault Secrets User" },
    { scope = trench_paas_bundle.this.service_bus_id, role = "Azure Service Bus Data Sender" },
  ]
}
"#;

/// The administrator password the estate is created with.
pub const PASSWORD: &str = "Bench-Passw0rd!";

/// The whole estate.
pub fn full() -> String {
    format!("{NETWORK}{REST}")
}

/// A workspace for `body` (after the header) against `sim`, initialised,
/// with the provider's defaults (no test-only polling or retry settings).
pub fn workspace(sim: &Sim, body: &str) -> Workspace {
    let mut ws = Workspace::new(&format!("{HEADER}{body}"));
    ws.env = sim.provider_env().into_iter().filter(|(k, _)| !k.starts_with("TRENCH_RETRY") && !k.starts_with("TRENCH_POLL")).collect();
    ws.env.push(("TF_VAR_pg_password".into(), PASSWORD.into()));
    ws.tf(&["init", "-input=false"]).ok();
    ws
}
