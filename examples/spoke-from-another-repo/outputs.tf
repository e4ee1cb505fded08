output "spoke_id" {
  description = "Spoke VNet id."
  value       = module.data_spoke.id
}

output "subnet_ids" {
  description = "Spoke subnet ids by name."
  value       = module.data_spoke.subnet_ids
}

output "route_table_id" {
  description = "Route table sending 0.0.0.0/0 to the hub firewall."
  value       = module.data_spoke.route_table_id
}

output "resource_group_name" {
  description = "The spoke's resource group."
  value       = module.data_spoke.resource_group_name
}

output "peering_state" {
  description = "Connected once both peerings exist."
  value       = module.data_spoke.peering_state
}
