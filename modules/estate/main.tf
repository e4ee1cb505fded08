# One environment of the hub–spoke estate: the hub (firewall, egress policy,
# optional jump host), the AKS spoke peered with it, the PaaS bundle, the
# private AKS cluster and one workload identity per workload.
#
# The order Azure needs comes from the references between the resources:
# the spoke routes through the hub firewall's private IP, the bundle puts
# its private endpoints in the spoke and links its DNS zones to both VNets,
# the cluster needs the spoke's routed subnet, the hub's egress policy and
# the bundle's registry and workspace, and the identities need the
# cluster's OIDC issuer and the bundle's objects as role scopes.

locals {
  # Which bundle object each workload role is granted on. The keys are the
  # roles var.workloads accepts (its validation reads this map).
  workload_role_targets = {
    "Key Vault Secrets User"          = "key_vault"
    "Key Vault Secrets Officer"       = "key_vault"
    "Azure Service Bus Data Sender"   = "service_bus"
    "Azure Service Bus Data Receiver" = "service_bus"
    "Azure Service Bus Data Owner"    = "service_bus"
    "AcrPull"                         = "acr"
    "Storage Blob Data Reader"        = "storage_account"
    "Storage Blob Data Contributor"   = "storage_account"
  }

  workload_role_scopes = {
    key_vault       = trench_paas_bundle.this.key_vault_id
    service_bus     = trench_paas_bundle.this.service_bus_id
    acr             = trench_paas_bundle.this.acr_id
    storage_account = trench_paas_bundle.this.storage_account_id
  }

  # The bundle's registry and workspace, by their conventional names in the hub's group.
  acr_id                     = "${trench_hub.this.resource_group_id}/providers/Microsoft.ContainerRegistry/registries/${provider::trench::compact_name("core", "acr", var.environment)}"
  log_analytics_workspace_id = "${trench_hub.this.resource_group_id}/providers/Microsoft.OperationalInsights/workspaces/${provider::trench::name("core", "law", var.environment)}"

  # Egress the estate's own services need through the hub firewall, derived from what it contains:
  # a registry without dedicated data endpoints (Basic, Standard) serves image layers from Azure
  # Storage, and Container Insights sends to Azure Monitor. The operator's rules follow.
  derived_application_rules = concat(
    var.paas.acr_sku == "Premium" ? [] : [{
      name             = "acr-data-storage"
      source_addresses = var.spoke.address_space
      target_fqdns     = ["*.blob.core.windows.net"]
      protocols        = ["Https:443"]
    }],
    [{
      name             = "service-bus"
      source_addresses = var.spoke.address_space
      target_fqdns     = [local.service_bus_host]
      protocols        = ["Https:443"]
      }, {
      name             = "azure-monitor"
      source_addresses = var.spoke.address_space
      target_fqdns     = ["*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com", "dc.services.visualstudio.com", "*.monitoring.azure.com", "global.handler.control.monitor.azure.com", "${var.location}.handler.control.monitor.azure.com", "*.ingest.monitor.azure.com"]
      protocols        = ["Https:443"]
    }],
  )
  hub_application_rules = concat(local.derived_application_rules, var.hub.application_rules)
  # Service Bus (Standard has no private endpoint): HTTPS and AMQP over WebSockets on 443 by name,
  # AMQP on 5671-5672 to the service tag.
  service_bus_host = "${provider::trench::name("core", "sb", var.environment)}.servicebus.windows.net"
  derived_network_rules = [{
    name                  = "service-bus-amqp"
    protocols             = ["TCP"]
    source_addresses      = var.spoke.address_space
    destination_addresses = ["ServiceBus.${var.location}"]
    destination_ports     = ["5671-5672"]
  }]
  hub_network_rules = concat(local.derived_network_rules, var.hub.network_rules)

  # Empty collections are passed as null: "not configured" to the provider.
  hub_admin_cidrs = length(var.hub.admin_cidrs) > 0 ? var.hub.admin_cidrs : null
  tags            = length(var.tags) > 0 ? var.tags : null
}

resource "trench_hub" "this" {
  environment       = var.environment
  location          = var.location
  address_space     = var.hub.address_space
  subnets           = var.hub.subnets
  firewall_sku_tier = var.hub.firewall_sku_tier
  threat_intel_mode = var.hub.threat_intel_mode
  egress_mode       = var.hub.egress_mode
  admin_cidrs       = local.hub_admin_cidrs
  application_rules = local.hub_application_rules
  network_rules     = local.hub_network_rules
  jump_host         = var.hub.jump_host
  tags              = local.tags
}

resource "trench_spoke" "aks" {
  environment         = var.environment
  name                = "aks"
  location            = var.location
  hub_id              = trench_hub.this.id
  hub_address_space   = trench_hub.this.address_space
  firewall_private_ip = trench_hub.this.firewall_private_ip
  address_space       = var.spoke.address_space
  subnets             = var.spoke.subnets
  tags                = local.tags
}

resource "trench_spoke" "extra" {
  for_each = var.extra_spokes

  environment         = var.environment
  name                = each.key
  location            = var.location
  hub_id              = trench_hub.this.id
  hub_address_space   = trench_hub.this.address_space
  firewall_private_ip = trench_hub.this.firewall_private_ip
  address_space       = each.value.address_space
  subnets             = each.value.subnets
  tags                = local.tags
}

resource "trench_paas_bundle" "this" {
  environment                = var.environment
  location                   = var.location
  resource_group_name        = trench_hub.this.resource_group_name
  private_endpoint_subnet_id = trench_spoke.aks.subnet_ids["private-endpoints"]
  dns_zone_vnet_ids          = [trench_hub.this.id, trench_spoke.aks.id]
  firewall_public_ip         = trench_hub.this.firewall_public_ip
  admin_cidrs                = local.hub_admin_cidrs

  acr_sku                              = var.paas.acr_sku
  acr_admin_enabled                    = var.paas.acr_admin_enabled
  key_vault_purge_protection           = var.paas.key_vault_purge_protection
  key_vault_soft_delete_retention_days = var.paas.key_vault_soft_delete_retention_days
  key_vault_on_soft_deleted            = var.paas.key_vault_on_soft_deleted
  postgresql_version                   = var.paas.postgresql_version
  postgresql_sku_name                  = var.paas.postgresql_sku_name
  postgresql_storage_gb                = var.paas.postgresql_storage_gb
  postgresql_databases                 = var.paas.postgresql_databases
  postgresql_administrator_login       = var.paas.postgresql_administrator_login
  service_bus_queues                   = var.paas.service_bus_queues
  log_analytics_retention_days         = var.paas.log_analytics_retention_days
  cosmos_db_enabled                    = var.paas.cosmos_db

  # Write-only: sent to Azure when the version changes, never stored.
  postgresql_administrator_password_wo         = var.postgresql_administrator_password
  postgresql_administrator_password_wo_version = var.postgresql_administrator_password_version

  tags = local.tags
}

resource "trench_private_aks" "this" {
  environment         = var.environment
  location            = var.location
  resource_group_name = trench_spoke.aks.resource_group_name
  subnet_id           = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id  = trench_hub.this.firewall_policy_id
  # The jump host (and runners) in the hub resolve the private API server.
  dns_link_virtual_network_ids = [trench_hub.this.id]

  kubernetes_version     = var.aks.kubernetes_version
  sku_tier               = var.aks.sku_tier
  system_pool            = var.aks.system_pool
  node_pools             = length(var.aks.node_pools) > 0 ? var.aks.node_pools : null
  admin_group_object_ids = length(var.aks.admin_group_object_ids) > 0 ? var.aks.admin_group_object_ids : null

  # Built from the conventional names, not read from the bundle, so the
  # cluster's long create runs beside the bundle's (PostgreSQL takes as
  # long) instead of after it; the cluster waits for the registry and the
  # workspace before it grants AcrPull and sends its logs.
  acr_id                     = local.acr_id
  log_analytics_workspace_id = local.log_analytics_workspace_id

  tags = local.tags
}

resource "trench_workload_identity" "this" {
  for_each = var.workloads

  environment         = var.environment
  name                = each.key
  location            = var.location
  resource_group_name = trench_hub.this.resource_group_name
  oidc_issuer_url     = trench_private_aks.this.oidc_issuer_url

  service_accounts = [{
    namespace = each.value.namespace
    name      = each.value.service_account
  }]

  role_assignments = length(each.value.roles) > 0 ? [
    for role in each.value.roles : {
      role  = role
      scope = local.workload_role_scopes[local.workload_role_targets[role]]
    }
  ] : null

  tags = local.tags
}
