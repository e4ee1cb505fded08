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

# The AKS spoke: its resource group and VNet (aks-nodes /22 and
# private-endpoints /24), peered both ways with the hub, and the route table
# sending 0.0.0.0/0 to the hub firewall on aks-nodes.
resource "trench_spoke" "aks" {
  environment         = "dev"
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
}

output "subnet_ids" {
  value = trench_spoke.aks.subnet_ids
}
