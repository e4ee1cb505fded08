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

output "hub_resource_group_name" {
  description = "Resource group of the hub and the PaaS bundle (a spoke module's hub_resource_group_name)."
  value       = trench_hub.this.resource_group_name
}

output "firewall_policy_id" {
  description = "Firewall policy id."
  value       = trench_hub.this.firewall_policy_id
}

output "spoke_resource_group_name" {
  description = "Resource group of the AKS spoke and the cluster."
  value       = trench_spoke.aks.resource_group_name
}

output "acr_id" {
  description = "Container registry id."
  value       = trench_paas_bundle.this.acr_id
}

output "key_vault_id" {
  description = "Key Vault id."
  value       = trench_paas_bundle.this.key_vault_id
}

output "service_bus_id" {
  description = "Service Bus namespace id."
  value       = trench_paas_bundle.this.service_bus_id
}

output "state_storage_account_id" {
  description = "Storage account holding Terraform state."
  value       = trench_paas_bundle.this.storage_account_id
}

output "private_endpoint_ips" {
  description = "Private IP of each PaaS private endpoint, by service."
  value       = trench_paas_bundle.this.private_endpoint_ips
}

output "workload_principal_ids" {
  description = "Principal (object) id of each workload's identity, by workload."
  value       = { for name, w in trench_workload_identity.this : name => w.principal_id }
}

output "extra_spoke_ids" {
  description = "Extra spoke VNet ids by name."
  value       = { for name, s in trench_spoke.extra : name => s.id }
}
