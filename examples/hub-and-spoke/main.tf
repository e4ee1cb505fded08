terraform {
  required_version = ">= 1.11"

  required_providers {
    trench = {
      source = "trench-lab/trench"
    }
  }
}

# Configured from the environment: ARM_* for Azure, plus TRENCH_ARM_ENDPOINT,
# TRENCH_AUTHORITY_HOST and TRENCH_CA_CERT_FILE against armsim.
provider "trench" {}

# The network of the estate: the hub (firewall, egress policy, optional jump
# host) and the AKS spoke peered with it, its nodes' default route going
# through the hub firewall.
resource "trench_hub" "core" {
  environment   = var.environment
  location      = var.location
  address_space = ["10.0.0.0/16"]
  egress_mode   = var.egress_mode
  admin_cidrs   = var.admin_cidrs

  # Extra egress the workloads need, on top of AKS and the registries.
  application_rules = [{
    name             = "github"
    source_addresses = ["10.1.0.0/16"]
    target_fqdns     = ["github.com", "*.githubusercontent.com"]
    protocols        = ["Https:443"]
  }]

  jump_host = var.jump_host_ssh_public_key == null ? null : {
    ssh_public_key = var.jump_host_ssh_public_key
  }

  tags = var.tags
}

resource "trench_spoke" "aks" {
  environment         = var.environment
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
  tags                = var.tags
}
