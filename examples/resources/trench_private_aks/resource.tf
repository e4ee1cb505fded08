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

# A private cluster egressing through the hub firewall (userDefinedRouting):
# trench checks the route table and the firewall policy before creating it.
resource "trench_private_aks" "main" {
  environment        = "dev"
  location           = "westeurope"
  subnet_id          = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id = trench_hub.core.firewall_policy_id
  kubernetes_version = "1.33"

  system_pool = { node_count = 2 }
  node_pools = {
    user = { vm_size = "Standard_D4s_v5", min_count = 1, max_count = 3, labels = { workload = "apps" } }
  }
}

output "oidc_issuer_url" {
  value = trench_private_aks.main.oidc_issuer_url
}
