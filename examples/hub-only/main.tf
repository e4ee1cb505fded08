terraform {
  required_version = ">= 1.11"

  required_providers {
    trench = {
      source = "trench-lab/trench"
    }
  }
}

# Configured from the environment: ARM_SUBSCRIPTION_ID, ARM_TENANT_ID,
# ARM_CLIENT_ID, ARM_CLIENT_SECRET (or ARM_USE_OIDC / ARM_USE_MSI /
# ARM_USE_CLI) and, against armsim, TRENCH_ARM_ENDPOINT,
# TRENCH_AUTHORITY_HOST and TRENCH_CA_CERT_FILE.
provider "trench" {}

# The core of the estate on its own: resource group rg-trench-core-<env>,
# hub VNet with AzureFirewallSubnet and shared-services, the firewall with
# its public IP and egress policy. Spokes can attach to it later from other
# configurations (see ../spoke-from-another-repo).
resource "trench_hub" "core" {
  environment   = var.environment
  location      = var.location
  address_space = var.address_space
  egress_mode   = var.egress_mode
  tags          = var.tags
}
