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

# Another team's spoke, in its own repository and state: it finds the hub
# that ../full-estate (or ../hub-only) created through the trench_hub data
# source and peers with it. Nothing in the hub's configuration changes.
module "data_spoke" {
  source = "../../modules/spoke"

  environment   = var.environment
  name          = "data"
  address_space = ["10.3.0.0/16"]

  # The conventional rg-trench-data-<env> is the PaaS bundle's data resource
  # group (PostgreSQL): give this spoke its own.
  resource_group_name = "rg-trench-data-spoke-${var.environment}"

  tags = {
    owner         = "data-team"
    "cost-center" = "cc-5678"
    purpose       = "trench-data-spoke"
  }
}
