output "id" {
  description = "Spoke VNet id."
  value       = trench_spoke.this.id
}

output "subnet_ids" {
  description = "Spoke subnet ids by name (aks-nodes, private-endpoints, …)."
  value       = trench_spoke.this.subnet_ids
}

output "route_table_id" {
  description = "Id of the route table sending 0.0.0.0/0 to the hub firewall."
  value       = trench_spoke.this.route_table_id
}

output "resource_group_name" {
  description = "The spoke's resource group."
  value       = trench_spoke.this.resource_group_name
}

output "hub_to_spoke_peering_id" {
  description = "Id of the peering on the hub VNet."
  value       = trench_spoke.this.hub_to_spoke_peering_id
}

output "spoke_to_hub_peering_id" {
  description = "Id of the peering on the spoke VNet."
  value       = trench_spoke.this.spoke_to_hub_peering_id
}

output "peering_state" {
  description = "Peering state as Azure reports it (Connected once both sides exist)."
  value       = trench_spoke.this.peering_state
}

output "hub_id" {
  description = "The hub VNet the spoke is peered with."
  value       = data.trench_hub.hub.id
}
