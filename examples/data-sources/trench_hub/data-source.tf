terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

# An existing hub (another workspace's), found by environment.
data "trench_hub" "core" {
  environment = "dev"
}

output "firewall_private_ip" {
  value = data.trench_hub.core.firewall_private_ip
}
