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

# The whole dev estate: hub, AKS spoke, PaaS bundle, private AKS and the
# catalog-api workload identity.
module "estate" {
  source = "../../modules/estate"

  environment = "dev"
  location    = "westeurope"

  tags = {
    owner         = "platform"
    "cost-center" = "cc-1234"
    purpose       = "trench-estate"
  }

  hub = {
    address_space = ["10.0.0.0/16"]
    # Phase-1 bring-up allows all egress; switch to "strict" once the
    # workloads' rules are in place.
    egress_mode = "loose"
    admin_cidrs = var.admin_cidrs
    jump_host = {
      ssh_public_key = var.jump_host_ssh_public_key
    }
  }

  spoke = {
    address_space = ["10.1.0.0/16"]
  }

  aks = {
    system_pool = { node_count = 2 }
    node_pools = {
      user = {
        vm_size   = "Standard_D4s_v5"
        min_count = 1
        max_count = 3
      }
    }
  }

  paas = {
    acr_admin_enabled = true
  }

  postgresql_administrator_password         = var.postgresql_administrator_password
  postgresql_administrator_password_version = 1

  workloads = {
    "catalog-api" = {
      namespace       = "catalog"
      service_account = "catalog-api"
      roles           = ["Key Vault Secrets User", "Azure Service Bus Data Sender", "Azure Service Bus Data Receiver"]
    }
  }
}
