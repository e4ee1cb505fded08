# A spoke attached to a hub that another configuration (repository,
# workspace) owns: the hub is found through the trench_hub data source, and
# this spoke adds its own resource group, VNet, peerings in both directions
# and a route table sending 0.0.0.0/0 to the hub firewall.

data "trench_hub" "hub" {
  environment         = var.environment
  resource_group_name = var.hub_resource_group_name
}

resource "trench_spoke" "this" {
  environment         = var.environment
  name                = var.name
  resource_group_name = var.resource_group_name
  location            = data.trench_hub.hub.location
  hub_id              = data.trench_hub.hub.id
  hub_address_space   = data.trench_hub.hub.address_space
  firewall_private_ip = data.trench_hub.hub.firewall_private_ip
  address_space       = var.address_space
  subnets             = var.subnets
  tags                = length(var.tags) > 0 ? var.tags : null
}

# trench_paas_bundle creates and owns rg-trench-data-<env>: a spoke named
# "data" in its conventional resource group would share it (and rewrite its
# tags, which the bundle then reports as drift).
check "resource_group_not_shared_with_the_paas_bundle" {
  assert {
    condition     = var.resource_group_name != null || var.name != "data"
    error_message = "A spoke named \"data\" defaults to rg-trench-data-${var.environment}, the PaaS bundle's data resource group; set resource_group_name to give the spoke its own."
  }
}
