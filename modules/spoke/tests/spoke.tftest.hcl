# Plan-only tests of modules/spoke with a mocked trench provider: no Azure,
# no simulator. The hub comes from the mocked trench_hub data source; the
# real provider binary still validates the configuration, so the mocked
# values are shaped like the real ones.

mock_provider "trench" {
  override_during = plan

  mock_data "trench_hub" {
    defaults = {
      id                  = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev"
      resource_group_name = "rg-trench-core-dev"
      vnet_name           = "trench-core-vnet-dev"
      location            = "westeurope"
      address_space       = ["10.0.0.0/16"]
      firewall_id         = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/azureFirewalls/trench-core-fw-dev"
      firewall_policy_id  = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/firewallPolicies/trench-core-fwpolicy-dev"
      firewall_private_ip = "10.0.0.4"
      firewall_public_ip  = "20.50.60.70"
    }
  }

  mock_resource "trench_spoke" {
    defaults = {
      id                      = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-spoke-dev/providers/Microsoft.Network/virtualNetworks/trench-data-vnet-dev"
      resource_group_name     = "rg-trench-data-spoke-dev"
      route_table_id          = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-spoke-dev/providers/Microsoft.Network/routeTables/rt-data-nodes-dev"
      hub_to_spoke_peering_id = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev/virtualNetworkPeerings/trench-hub-to-data-dev"
      spoke_to_hub_peering_id = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-spoke-dev/providers/Microsoft.Network/virtualNetworks/trench-data-vnet-dev/virtualNetworkPeerings/trench-data-to-hub-dev"
      peering_state           = "Connected"
      subnet_ids = {
        "aks-nodes"         = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-spoke-dev/providers/Microsoft.Network/virtualNetworks/trench-data-vnet-dev/subnets/aks-nodes"
        "private-endpoints" = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-spoke-dev/providers/Microsoft.Network/virtualNetworks/trench-data-vnet-dev/subnets/private-endpoints"
      }
    }
  }
}

variables {
  environment         = "dev"
  name                = "data"
  address_space       = ["10.3.0.0/16"]
  resource_group_name = "rg-trench-data-spoke-dev"
  tags = {
    owner         = "data-team"
    "cost-center" = "cc-5678"
  }
}

run "wiring" {
  command = plan

  assert {
    condition     = data.trench_hub.hub.environment == "dev" && data.trench_hub.hub.resource_group_name == "rg-trench-core-dev"
    error_message = "The hub is looked up by environment, in its conventional resource group."
  }

  assert {
    condition     = trench_spoke.this.hub_id == data.trench_hub.hub.id
    error_message = "The spoke peers with the hub the data source found."
  }

  assert {
    condition     = trench_spoke.this.firewall_private_ip == data.trench_hub.hub.firewall_private_ip && trench_spoke.this.firewall_private_ip == "10.0.0.4"
    error_message = "The spoke's default route must use the hub firewall's private IP."
  }

  assert {
    condition     = trench_spoke.this.hub_address_space == tolist(["10.0.0.0/16"]) && trench_spoke.this.location == "westeurope"
    error_message = "The spoke gets the hub's address space (overlap check) and location."
  }

  assert {
    condition     = trench_spoke.this.name == "data" && trench_spoke.this.environment == "dev" && trench_spoke.this.address_space == tolist(["10.3.0.0/16"])
    error_message = "var.name, var.environment and var.address_space reach the spoke."
  }

  assert {
    condition     = trench_spoke.this.tags == tomap(var.tags)
    error_message = "Tags reach the spoke."
  }

  assert {
    condition     = output.id == trench_spoke.this.id && output.route_table_id == trench_spoke.this.route_table_id && output.resource_group_name == "rg-trench-data-spoke-dev" && trench_spoke.this.resource_group_name == var.resource_group_name
    error_message = "The outputs expose the spoke's ids."
  }

  assert {
    condition     = output.subnet_ids["aks-nodes"] == trench_spoke.this.subnet_ids["aks-nodes"] && output.hub_to_spoke_peering_id == trench_spoke.this.hub_to_spoke_peering_id && output.spoke_to_hub_peering_id == trench_spoke.this.spoke_to_hub_peering_id
    error_message = "The outputs expose the subnets and both peerings."
  }
}

run "hub_in_a_custom_resource_group" {
  command = plan

  variables {
    hub_resource_group_name = "rg-network-hub"
    subnets                 = { "apps" = "10.3.0.0/22", "private-endpoints" = "10.3.4.0/24", "aks-nodes" = "10.3.8.0/22" }
    tags                    = {}
  }

  assert {
    condition     = data.trench_hub.hub.resource_group_name == "rg-network-hub"
    error_message = "hub_resource_group_name reaches the data source."
  }

  assert {
    condition     = trench_spoke.this.subnets["apps"] == "10.3.0.0/22" && trench_spoke.this.tags == null
    error_message = "Custom subnets reach the spoke; empty tags reach it as null."
  }
}

run "conventional_resource_group" {
  command = plan

  variables {
    name                = "apps"
    resource_group_name = null
  }

  assert {
    condition     = trench_spoke.this.name == "apps" && trench_spoke.this.resource_group_name != null
    error_message = "Without resource_group_name the provider picks rg-trench-<name>-<env>."
  }
}

run "warns_when_a_data_spoke_would_share_the_bundles_resource_group" {
  command = plan

  variables {
    resource_group_name = null
  }

  expect_failures = [check.resource_group_not_shared_with_the_paas_bundle]
}

run "rejects_bad_environment" {
  command = plan
  variables { environment = "Prod" }
  expect_failures = [var.environment]
}

run "rejects_bad_name" {
  command = plan
  variables { name = "data-spoke" }
  expect_failures = [var.name]
}

run "rejects_bad_cidr" {
  command = plan
  variables { address_space = ["10.3.0.0/40"] }
  expect_failures = [var.address_space]
}

run "rejects_empty_address_space" {
  command = plan
  variables { address_space = [] }
  expect_failures = [var.address_space]
}

run "rejects_bad_subnet_prefix" {
  command = plan
  variables {
    subnets = { "aks-nodes" = "10.3.0.0" }
  }
  expect_failures = [var.subnets]
}

run "rejects_bad_hub_resource_group_name" {
  command = plan
  variables { hub_resource_group_name = "rg/hub." }
  expect_failures = [var.hub_resource_group_name]
}

run "rejects_bad_resource_group_name" {
  command = plan
  variables { resource_group_name = "rg-spoke." }
  expect_failures = [var.resource_group_name]
}
