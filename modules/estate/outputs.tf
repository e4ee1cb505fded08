output "hub_id" {
  description = "Hub VNet id (a spoke's hub_id)."
  value       = trench_hub.this.id
}

output "hub_address_space" {
  description = "Hub address space."
  value       = trench_hub.this.address_space
}

output "firewall_private_ip" {
  description = "Firewall private IP: the next hop of every spoke's default route."
  value       = trench_hub.this.firewall_private_ip
}

output "firewall_public_ip" {
  description = "Firewall public IP: where the estate's egress comes from."
  value       = trench_hub.this.firewall_public_ip
}

output "jump_host_public_ip" {
  description = "Jump host public IP (null without a jump host)."
  value       = trench_hub.this.jump_host_public_ip
}

output "spoke_id" {
  description = "AKS spoke VNet id."
  value       = trench_spoke.aks.id
}

output "spoke_subnet_ids" {
  description = "AKS spoke subnet ids by name."
  value       = trench_spoke.aks.subnet_ids
}

output "aks_cluster_id" {
  description = "AKS cluster id."
  value       = trench_private_aks.this.id
}

output "aks_oidc_issuer_url" {
  description = "The cluster's OIDC issuer URL (for federated credentials)."
  value       = trench_private_aks.this.oidc_issuer_url
}

output "aks_private_fqdn" {
  description = "Private FQDN of the cluster's API server."
  value       = trench_private_aks.this.private_fqdn
}

output "acr_login_server" {
  description = "Container registry login server."
  value       = trench_paas_bundle.this.acr_login_server
}

output "key_vault_uri" {
  description = "Key Vault URI."
  value       = trench_paas_bundle.this.vault_uri
}

output "postgresql_fqdn" {
  description = "PostgreSQL server FQDN (resolves to its private endpoint inside the estate)."
  value       = trench_paas_bundle.this.postgresql_fqdn
}

output "service_bus_endpoint" {
  description = "Service Bus endpoint."
  value       = trench_paas_bundle.this.service_bus_endpoint
}

output "log_analytics_workspace_id" {
  description = "Log Analytics workspace id."
  value       = trench_paas_bundle.this.log_analytics_workspace_id
}

output "workload_client_ids" {
  description = "Client id of each workload's identity, by workload (for the Kubernetes service account annotation)."
  value       = { for name, w in trench_workload_identity.this : name => w.client_id }
}
