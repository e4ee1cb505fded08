terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

output "acr_name" {
  value = provider::trench::compact_name("core", "acr", "dev") # "trenchacrcoredev"
}
