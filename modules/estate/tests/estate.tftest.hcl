# Plan-only tests of modules/estate with a mocked trench provider: no Azure,
# no simulator. The real provider binary still answers the schema and
# validation calls, so the mocked ids below are shaped like real ARM ids.

mock_provider "trench" {
  override_during = plan

  mock_resource "trench_hub" {
    defaults = {
      id                   = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev"
      resource_group_name  = "rg-trench-core-dev"
      resource_group_id    = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev"
      firewall_id          = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/azureFirewalls/trench-core-fw-dev"
      firewall_policy_id   = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/firewallPolicies/trench-core-fwpolicy-dev"
      firewall_private_ip  = "10.0.0.4"
      firewall_public_ip   = "20.50.60.70"
      jump_host_public_ip  = null
      jump_host_private_ip = null
      jump_host_id         = null
      subnet_ids = {
        "AzureFirewallSubnet" = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev/subnets/AzureFirewallSubnet"
        "shared-services"     = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev/subnets/shared-services"
      }
    }
  }

  mock_resource "trench_spoke" {
    defaults = {
      id                      = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev"
      resource_group_name     = "rg-trench-aks-dev"
      route_table_id          = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/routeTables/rt-aks-nodes-dev"
      hub_to_spoke_peering_id = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev/virtualNetworkPeerings/trench-hub-to-aks-dev"
      spoke_to_hub_peering_id = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/virtualNetworkPeerings/trench-aks-to-hub-dev"
      subnet_ids = {
        "aks-nodes"         = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes"
        "private-endpoints" = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/private-endpoints"
      }
    }
  }

  mock_resource "trench_paas_bundle" {
    defaults = {
      id                         = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev"
      key_vault_id               = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev"
      acr_id                     = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.ContainerRegistry/registries/trenchacrcoredev"
      service_bus_id             = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.ServiceBus/namespaces/trench-core-sb-dev"
      log_analytics_workspace_id = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.OperationalInsights/workspaces/trench-core-law-dev"
      storage_account_id         = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Storage/storageAccounts/trenchtfstatecoredev"
      acr_login_server           = "trenchacrcoredev.azurecr.io"
      vault_uri                  = "https://trench-core-kv-dev.vault.azure.net/"
      postgresql_fqdn            = "trench-data-pg-dev.postgres.database.azure.com"
      service_bus_endpoint       = "https://trench-core-sb-dev.servicebus.windows.net:443/"
    }
  }

  mock_resource "trench_private_aks" {
    defaults = {
      id              = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.ContainerService/managedClusters/trench-aks-cluster-dev"
      oidc_issuer_url = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-4000-8000-000000000001/11111111-2222-4333-8444-555555555555/"
      private_fqdn    = "trench-aks-cluster-dev-abc123.privatelink.westeurope.azmk8s.io"
    }
  }

  mock_resource "trench_workload_identity" {
    defaults = {
      client_id    = "33333333-3333-4333-8333-333333333333"
      principal_id = "44444444-4444-4444-8444-444444444444"
    }
  }
}

variables {
  environment = "dev"
  location    = "westeurope"
  tags = {
    owner         = "platform"
    "cost-center" = "cc-1234"
    purpose       = "trench"
  }

  hub = {
    address_space = ["10.0.0.0/16"]
    egress_mode   = "loose"
    admin_cidrs   = ["203.0.113.0/24"]
    network_rules = [{
      name                  = "dns"
      protocols             = ["UDP"]
      source_addresses      = ["10.1.0.0/16"]
      destination_addresses = ["168.63.129.16"]
      destination_ports     = ["53"]
    }]
    jump_host = {
      ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPERATORKEYOPERATORKEY op@laptop"
    }
  }

  spoke = {
    address_space = ["10.1.0.0/16"]
  }

  aks = {
    node_pools = {
      user = {
        vm_size   = "Standard_D4s_v5"
        min_count = 1
        max_count = 3
        labels    = { workload = "apps" }
      }
    }
  }

  paas = {
    acr_admin_enabled = true
    cosmos_db         = true
  }

  postgresql_administrator_password = "Tr3nch-Dev-Passw0rd!"

  workloads = {
    "catalog-api" = {
      namespace       = "catalog"
      service_account = "api"
      roles = [
        "Key Vault Secrets User",
        "Azure Service Bus Data Sender",
        "Azure Service Bus Data Receiver",
        "AcrPull",
        "Storage Blob Data Reader",
      ]
    }
    "orders-worker" = {
      namespace       = "orders"
      service_account = "worker"
      roles           = ["Azure Service Bus Data Receiver"]
    }
  }
}

run "wiring" {
  command = plan

  # Hub → spoke: the spoke routes through the hub's firewall and peers with its VNet.
  assert {
    condition     = trench_spoke.aks.firewall_private_ip == trench_hub.this.firewall_private_ip && trench_spoke.aks.firewall_private_ip == "10.0.0.4"
    error_message = "The spoke's default route must use the hub firewall's private IP."
  }

  assert {
    condition     = trench_spoke.aks.hub_id == trench_hub.this.id
    error_message = "The spoke must peer with the hub VNet."
  }

  assert {
    condition     = trench_spoke.aks.hub_address_space == tolist(["10.0.0.0/16"]) && trench_spoke.aks.address_space == tolist(["10.1.0.0/16"])
    error_message = "The spoke gets the hub's address space (overlap check) and its own."
  }

  assert {
    condition     = trench_hub.this.egress_mode == "loose" && trench_hub.this.admin_cidrs == tolist(["203.0.113.0/24"]) && trench_hub.this.jump_host.ssh_public_key == var.hub.jump_host.ssh_public_key
    error_message = "var.hub settings must reach the hub."
  }

  # The PaaS bundle: endpoints in the spoke, zones linked to both VNets.
  assert {
    condition     = trench_paas_bundle.this.private_endpoint_subnet_id == trench_spoke.aks.subnet_ids["private-endpoints"]
    error_message = "Private endpoints must sit in the spoke's private-endpoints subnet."
  }

  assert {
    condition     = length(trench_paas_bundle.this.dns_zone_vnet_ids) == 2 && contains(trench_paas_bundle.this.dns_zone_vnet_ids, trench_hub.this.id) && contains(trench_paas_bundle.this.dns_zone_vnet_ids, trench_spoke.aks.id)
    error_message = "The private DNS zones must be linked to the hub and the spoke VNets."
  }

  assert {
    condition     = trench_paas_bundle.this.resource_group_name == trench_hub.this.resource_group_name && trench_paas_bundle.this.firewall_public_ip == "20.50.60.70"
    error_message = "The bundle lives in the hub's resource group and admits the firewall's public IP."
  }

  assert {
    condition     = trench_paas_bundle.this.admin_cidrs == toset(["203.0.113.0/24"])
    error_message = "Service Bus admits the hub's admin CIDRs."
  }

  assert {
    condition     = trench_paas_bundle.this.cosmos_db_enabled == true && trench_paas_bundle.this.acr_admin_enabled == true && trench_paas_bundle.this.key_vault_on_soft_deleted == "recover"
    error_message = "var.paas settings must map to the bundle's attributes (cosmos_db → cosmos_db_enabled)."
  }

  assert {
    condition     = trench_paas_bundle.this.postgresql_administrator_password_wo == null && trench_paas_bundle.this.postgresql_administrator_password_wo_version == 1
    error_message = "The password is write-only (never in the plan); its version is."
  }

  # The cluster: routed node subnet, egress policy checked, registry and workspace from the bundle.
  assert {
    condition     = trench_private_aks.this.subnet_id == trench_spoke.aks.subnet_ids["aks-nodes"] && trench_private_aks.this.resource_group_name == trench_spoke.aks.resource_group_name
    error_message = "The cluster must run on the spoke's aks-nodes subnet, in the spoke's resource group."
  }

  assert {
    condition     = trench_private_aks.this.firewall_policy_id == trench_hub.this.firewall_policy_id
    error_message = "The cluster's egress pre-check must use the hub's firewall policy."
  }

  assert {
    condition     = trench_private_aks.this.acr_id == trench_paas_bundle.this.acr_id && trench_private_aks.this.log_analytics_workspace_id == trench_paas_bundle.this.log_analytics_workspace_id
    error_message = "The cluster pulls from the bundle's registry and logs to its workspace."
  }

  assert {
    condition     = trench_private_aks.this.node_pools["user"].max_count == 3 && trench_private_aks.this.system_pool.vm_size == "Standard_D2s_v5" && trench_private_aks.this.system_pool.node_count == 2
    error_message = "var.aks pools must reach the cluster, with the module's system pool defaults."
  }

  # Workload identities: one per workload, federated on the cluster's issuer, roles on the bundle's objects.
  assert {
    condition     = length(trench_workload_identity.this) == 2 && trench_workload_identity.this["catalog-api"].name == "catalog-api"
    error_message = "One identity per workload, named after it."
  }

  assert {
    condition     = trench_workload_identity.this["catalog-api"].oidc_issuer_url == trench_private_aks.this.oidc_issuer_url
    error_message = "Federated credentials must trust the cluster's OIDC issuer."
  }

  assert {
    condition     = trench_workload_identity.this["catalog-api"].resource_group_name == trench_hub.this.resource_group_name
    error_message = "Identities live in the hub's resource group."
  }

  assert {
    condition     = trench_workload_identity.this["catalog-api"].service_accounts == toset([{ namespace = "catalog", name = "api" }])
    error_message = "The federated credential is for system:serviceaccount:catalog:api."
  }

  assert {
    condition = trench_workload_identity.this["catalog-api"].role_assignments == toset([
      { role = "Key Vault Secrets User", scope = trench_paas_bundle.this.key_vault_id },
      { role = "Azure Service Bus Data Sender", scope = trench_paas_bundle.this.service_bus_id },
      { role = "Azure Service Bus Data Receiver", scope = trench_paas_bundle.this.service_bus_id },
      { role = "AcrPull", scope = trench_paas_bundle.this.acr_id },
      { role = "Storage Blob Data Reader", scope = trench_paas_bundle.this.storage_account_id },
    ])
    error_message = "Each role must be assigned on the bundle object it is for."
  }

  assert {
    condition     = trench_workload_identity.this["orders-worker"].role_assignments == toset([{ role = "Azure Service Bus Data Receiver", scope = trench_paas_bundle.this.service_bus_id }])
    error_message = "orders-worker receives from Service Bus only."
  }

  # Tags on every resource.
  assert {
    condition = alltrue([
      for t in [trench_hub.this.tags, trench_spoke.aks.tags, trench_paas_bundle.this.tags, trench_private_aks.this.tags, trench_workload_identity.this["catalog-api"].tags] :
      t == tomap(var.tags)
    ])
    error_message = "Every resource carries var.tags."
  }

  # Outputs.
  assert {
    condition     = length(output.workload_client_ids) == 2 && output.workload_client_ids["catalog-api"] == "33333333-3333-4333-8333-333333333333" && output.workload_client_ids["orders-worker"] == trench_workload_identity.this["orders-worker"].client_id
    error_message = "workload_client_ids maps each workload to its identity's client id."
  }

  assert {
    condition     = output.firewall_private_ip == "10.0.0.4" && output.key_vault_uri == "https://trench-core-kv-dev.vault.azure.net/" && output.aks_oidc_issuer_url == trench_private_aks.this.oidc_issuer_url
    error_message = "Outputs expose the hub, bundle and cluster attributes."
  }
}

run "minimal_estate_passes_empty_collections_as_null" {
  command = plan

  variables {
    tags      = {}
    hub       = { address_space = ["10.0.0.0/16"] }
    aks       = {}
    paas      = {}
    workloads = {}
  }

  assert {
    condition     = trench_hub.this.admin_cidrs == null && trench_hub.this.jump_host == null
    error_message = "Unset hub options must reach the provider as null."
  }

  assert {
    condition     = [for r in trench_hub.this.application_rules : r.name] == ["acr-data-storage", "service-bus", "azure-monitor"] && [for r in trench_hub.this.network_rules : r.name] == ["service-bus-amqp"]
    error_message = "Without operator rules the hub still gets the egress the estate's own services need."
  }

  assert {
    condition     = trench_hub.this.egress_mode == "strict" && trench_hub.this.firewall_sku_tier == "Standard" && trench_hub.this.threat_intel_mode == "Alert"
    error_message = "The module's hub defaults are strict egress, Standard firewall, threat intel Alert."
  }

  assert {
    condition     = trench_paas_bundle.this.admin_cidrs == null && trench_paas_bundle.this.cosmos_db_enabled == false && trench_paas_bundle.this.postgresql_databases == toset(["catalog", "orders"])
    error_message = "The bundle defaults: no admin CIDRs, no Cosmos DB, databases catalog and orders."
  }

  assert {
    condition     = trench_private_aks.this.node_pools == null && trench_private_aks.this.admin_group_object_ids == null && trench_private_aks.this.sku_tier == "Free"
    error_message = "No extra pools and no admin groups unless asked for."
  }

  assert {
    condition     = length(trench_workload_identity.this) == 0 && trench_hub.this.tags == null
    error_message = "No workloads, no identities; no tags, null tags."
  }
}

run "extra_spokes_route_through_the_same_firewall" {
  command = plan
  variables {
    extra_spokes = {
      batch = { address_space = ["10.5.0.0/16"] }
    }
  }

  assert {
    condition     = trench_spoke.extra["batch"].name == "batch" && trench_spoke.extra["batch"].firewall_private_ip == "10.0.0.4"
    error_message = "An extra spoke takes its name from the key and routes through the hub firewall."
  }

  assert {
    condition     = trench_spoke.extra["batch"].hub_id == trench_hub.this.id && trench_spoke.extra["batch"].address_space == tolist(["10.5.0.0/16"])
    error_message = "An extra spoke peers with the hub and keeps its own address space."
  }
}

# Every validation block rejects bad input at plan.

run "rejects_extra_spoke_named_like_the_estates_own" {
  command = plan
  variables {
    extra_spokes = {
      data = { address_space = ["10.5.0.0/16"] }
    }
  }
  expect_failures = [var.extra_spokes]
}

run "rejects_bad_environment" {
  command = plan
  variables { environment = "Dev" }
  expect_failures = [var.environment]
}

run "rejects_bad_location" {
  command = plan
  variables { location = "West Europe" }
  expect_failures = [var.location]
}

run "rejects_bad_egress_mode" {
  command = plan
  variables {
    hub = { address_space = ["10.0.0.0/16"], egress_mode = "open" }
  }
  expect_failures = [var.hub]
}

run "rejects_bad_hub_cidr" {
  command = plan
  variables {
    hub = { address_space = ["10.0.0.0/33"] }
  }
  expect_failures = [var.hub]
}

run "rejects_bad_firewall_sku_tier" {
  command = plan
  variables {
    hub = { address_space = ["10.0.0.0/16"], firewall_sku_tier = "Basic" }
  }
  expect_failures = [var.hub]
}

run "rejects_bad_threat_intel_mode" {
  command = plan
  variables {
    hub = { address_space = ["10.0.0.0/16"], threat_intel_mode = "Block" }
  }
  expect_failures = [var.hub]
}

run "rejects_bad_admin_cidr" {
  command = plan
  variables {
    hub = { address_space = ["10.0.0.0/16"], admin_cidrs = ["203.0.113.7"] }
  }
  expect_failures = [var.hub]
}

run "rejects_jump_host_without_admin_cidrs" {
  command = plan
  variables {
    hub = {
      address_space = ["10.0.0.0/16"]
      jump_host     = { ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPERATORKEYOPERATORKEY op@laptop" }
    }
  }
  expect_failures = [var.hub]
}

run "rejects_bad_spoke_cidr" {
  command = plan
  variables {
    spoke = { address_space = ["10.1.0.0"] }
  }
  expect_failures = [var.spoke]
}

run "rejects_spoke_subnets_without_private_endpoints" {
  command = plan
  variables {
    spoke = { address_space = ["10.1.0.0/16"], subnets = { "aks-nodes" = "10.1.0.0/22" } }
  }
  expect_failures = [var.spoke]
}

run "rejects_bad_aks_sku_tier" {
  command = plan
  variables {
    aks = { sku_tier = "Paid" }
  }
  expect_failures = [var.aks]
}

run "rejects_bad_key_vault_on_soft_deleted" {
  command = plan
  variables {
    paas = { key_vault_on_soft_deleted = "ignore" }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_key_vault_retention" {
  command = plan
  variables {
    paas = { key_vault_soft_delete_retention_days = 3 }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_acr_sku" {
  command = plan
  variables {
    paas = { acr_sku = "Free" }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_postgresql_version" {
  command = plan
  variables {
    paas = { postgresql_version = "9.6" }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_postgresql_storage" {
  command = plan
  variables {
    paas = { postgresql_storage_gb = 100 }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_log_analytics_retention" {
  command = plan
  variables {
    paas = { log_analytics_retention_days = 7 }
  }
  expect_failures = [var.paas]
}

run "rejects_bad_password_version" {
  command = plan
  variables { postgresql_administrator_password_version = 1.5 }
  expect_failures = [var.postgresql_administrator_password_version]
}

run "rejects_bad_workload_role" {
  command = plan
  variables {
    workloads = {
      "catalog-api" = { namespace = "catalog", service_account = "api", roles = ["Owner"] }
    }
  }
  expect_failures = [var.workloads]
}

run "rejects_duplicate_workload_role" {
  command = plan
  variables {
    workloads = {
      "catalog-api" = { namespace = "catalog", service_account = "api", roles = ["AcrPull", "AcrPull"] }
    }
  }
  expect_failures = [var.workloads]
}

run "rejects_bad_workload_name" {
  command = plan
  variables {
    workloads = {
      "Catalog_API" = { namespace = "catalog", service_account = "api" }
    }
  }
  expect_failures = [var.workloads]
}

run "rejects_bad_service_account" {
  command = plan
  variables {
    workloads = {
      "catalog-api" = { namespace = "catalog", service_account = "API" }
    }
  }
  expect_failures = [var.workloads]
}

run "a_premium_registry_needs_no_storage_egress_and_operator_rules_follow_the_derived_ones" {
  command = plan

  variables {
    hub = {
      address_space     = ["10.0.0.0/16"]
      application_rules = [{ name = "github", source_addresses = ["10.1.0.0/16"], target_fqdns = ["github.com"], protocols = ["Https:443"] }]
    }
    paas = { acr_sku = "Premium" }
  }

  assert {
    condition     = [for r in trench_hub.this.application_rules : r.name] == ["service-bus", "azure-monitor", "github"]
    error_message = "A Premium registry serves data from its own endpoints; the operator's rules come after the derived ones."
  }
}
