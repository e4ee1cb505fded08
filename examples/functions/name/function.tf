terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

output "vnet_name" {
  value = provider::trench::name("core", "vnet", "dev") # "trench-core-vnet-dev"
}
