output "hub_id" {
  description = "Hub VNet id (a spoke's hub_id)."
  value       = trench_hub.core.id
}

output "resource_group_name" {
  description = "The hub's resource group."
  value       = trench_hub.core.resource_group_name
}

output "firewall_private_ip" {
  description = "Firewall private IP: the next hop of every spoke's default route."
  value       = trench_hub.core.firewall_private_ip
}

output "firewall_public_ip" {
  description = "Firewall public IP: where the estate's egress comes from."
  value       = trench_hub.core.firewall_public_ip
}

output "subnet_ids" {
  description = "Hub subnet ids by name."
  value       = trench_hub.core.subnet_ids
}
