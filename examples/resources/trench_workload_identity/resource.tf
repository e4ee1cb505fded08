terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

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

resource "trench_private_aks" "main" {
  environment        = "dev"
  location           = "westeurope"
  subnet_id          = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id = trench_hub.core.firewall_policy_id
}

# catalog-api's identity: its Kubernetes service account signs in through the
# cluster's OIDC issuer and may read secrets in the hub resource group's vaults.
resource "trench_workload_identity" "catalog" {
  environment         = "dev"
  name                = "catalog-api"
  location            = "westeurope"
  resource_group_name = trench_hub.core.resource_group_name
  oidc_issuer_url     = trench_private_aks.main.oidc_issuer_url

  service_accounts = [{ namespace = "catalog", name = "catalog-api" }]
  role_assignments = [{ scope = trench_hub.core.resource_group_id, role = "Key Vault Secrets User" }]
}

# The service account's azure.workload.identity/client-id annotation.
output "client_id" {
  value = trench_workload_identity.catalog.client_id
}
