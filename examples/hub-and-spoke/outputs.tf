output "hub_id" {
  description = "Hub VNet id."
  value       = trench_hub.core.id
}

output "firewall_private_ip" {
  description = "Firewall private IP, the spoke's next hop for 0.0.0.0/0."
  value       = trench_hub.core.firewall_private_ip
}

output "firewall_public_ip" {
  description = "Firewall public IP."
  value       = trench_hub.core.firewall_public_ip
}

output "jump_host_public_ip" {
  description = "Jump host public IP (SSH from admin_cidrs only); null without a jump host."
  value       = trench_hub.core.jump_host_public_ip
}

output "spoke_id" {
  description = "AKS spoke VNet id."
  value       = trench_spoke.aks.id
}

output "spoke_subnet_ids" {
  description = "Spoke subnet ids by name (aks-nodes, private-endpoints)."
  value       = trench_spoke.aks.subnet_ids
}

output "route_table_id" {
  description = "Route table sending the spoke's egress to the firewall."
  value       = trench_spoke.aks.route_table_id
}

output "peering_state" {
  description = "Connected once both peerings exist."
  value       = trench_spoke.aks.peering_state
}
