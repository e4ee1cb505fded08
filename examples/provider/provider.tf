terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}

# Credentials and the subscription come from the environment, as azurerm's do
# (ARM_TENANT_ID, ARM_SUBSCRIPTION_ID, ARM_CLIENT_ID with ARM_USE_OIDC=true in
# GitHub Actions, or `az login`). Tags here go on every object trench creates.
provider "trench" {
  default_tags = {
    owner         = "platform-team"
    "cost-center" = "trench-lab"
  }
}
