output "hub_id" {
  description = "Hub VNet id."
  value       = module.estate.hub_id
}

output "hub_resource_group_name" {
  description = "Hub resource group (spoke-from-another-repo's hub_resource_group_name)."
  value       = module.estate.hub_resource_group_name
}

output "firewall_private_ip" {
  description = "Firewall private IP."
  value       = module.estate.firewall_private_ip
}

output "firewall_public_ip" {
  description = "Firewall public IP."
  value       = module.estate.firewall_public_ip
}

output "jump_host_public_ip" {
  description = "Jump host public IP."
  value       = module.estate.jump_host_public_ip
}

output "aks_private_fqdn" {
  description = "Private FQDN of the AKS API server."
  value       = module.estate.aks_private_fqdn
}

output "acr_login_server" {
  description = "Container registry login server."
  value       = module.estate.acr_login_server
}

output "key_vault_uri" {
  description = "Key Vault URI."
  value       = module.estate.key_vault_uri
}

output "postgresql_fqdn" {
  description = "PostgreSQL FQDN (resolves to its private endpoint inside the estate)."
  value       = module.estate.postgresql_fqdn
}

output "service_bus_endpoint" {
  description = "Service Bus endpoint."
  value       = module.estate.service_bus_endpoint
}

output "workload_client_ids" {
  description = "Client id per workload, for the azure.workload.identity/client-id annotation."
  value       = module.estate.workload_client_ids
}
