terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

provider "trench" {}

# Every conventional name of the dev estate, the tag set and, per name,
# whether it fits Azure's naming rule. No Azure call is made.
data "trench_conventions" "dev" {
  environment = "dev"
  owner       = "platform-team"
}

output "key_vault_name" {
  value = data.trench_conventions.dev.names["key_vault"]
}
