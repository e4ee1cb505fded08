terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

# The core resource group, hub VNet (AzureFirewallSubnet /26 and
# shared-services /24 carved from the address space), Azure Firewall with its
# public IP and a strict egress policy, and a jump host reachable over SSH from
# the admin network only.
resource "trench_hub" "core" {
  environment   = "dev"
  location      = "westeurope"
  address_space = ["10.0.0.0/16"]
  egress_mode   = "strict"
  admin_cidrs   = ["203.0.113.0/24"]

  application_rules = [{
    name             = "github"
    source_addresses = ["10.1.0.0/16"]
    target_fqdns     = ["github.com", "*.githubusercontent.com"]
    protocols        = ["Https:443"]
  }]

  jump_host = {
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheDocs0000000000000000000 ops@example"
  }

  # Over trench's conventional tags (owner, environment, cost-center, purpose).
  tags = { team = "network" }
}

output "firewall_private_ip" {
  value = trench_hub.core.firewall_private_ip
}
