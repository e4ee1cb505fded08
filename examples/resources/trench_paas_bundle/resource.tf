terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

# Never stored: the password only ever travels to Azure.
variable "postgresql_administrator_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

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

# Registry, Key Vault, PostgreSQL (databases catalog and orders), Service Bus
# (queue orders, only the firewall's public IP admitted), Log Analytics and
# the state storage account, with private endpoints in the spoke and private
# DNS zones linked to both VNets.
resource "trench_paas_bundle" "this" {
  environment                = "dev"
  location                   = "westeurope"
  resource_group_name        = trench_hub.core.resource_group_name
  private_endpoint_subnet_id = trench_spoke.aks.subnet_ids["private-endpoints"]
  dns_zone_vnet_ids          = [trench_hub.core.id, trench_spoke.aks.id]
  firewall_public_ip         = trench_hub.core.firewall_public_ip

  acr_admin_enabled = true

  postgresql_administrator_password_wo         = var.postgresql_administrator_password
  postgresql_administrator_password_wo_version = 1
}

output "vault_uri" {
  value = trench_paas_bundle.this.vault_uri
}
