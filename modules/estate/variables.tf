variable "environment" {
  description = "Environment name (dev, prod): part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "The environment must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "location" {
  description = "Azure location of the estate, as ARM spells it (westeurope)."
  type        = string
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "Locations are lowercase without spaces, e.g. westeurope."
  }
}

variable "tags" {
  description = "Tags for every resource: owner, cost-center and purpose (environment is set from var.environment)."
  type        = map(string)
  default     = {}
}

variable "hub" {
  description = "The hub: address space, firewall and egress policy, admin access and an optional jump host."
  type = object({
    address_space     = list(string)
    subnets           = optional(map(string))
    firewall_sku_tier = optional(string, "Standard")
    threat_intel_mode = optional(string, "Alert")
    egress_mode       = optional(string, "strict")
    admin_cidrs       = optional(list(string), [])
    application_rules = optional(list(object({
      name             = string
      source_addresses = list(string)
      target_fqdns     = list(string)
      protocols        = list(string)
    })), [])
    network_rules = optional(list(object({
      name                  = string
      protocols             = list(string)
      source_addresses      = list(string)
      destination_addresses = list(string)
      destination_ports     = list(string)
    })), [])
    jump_host = optional(object({
      size           = optional(string, "Standard_B2s")
      admin_username = optional(string, "azureuser")
      ssh_public_key = string
      public_ip      = optional(bool, true)
    }))
  })

  validation {
    condition     = contains(["strict", "loose"], var.hub.egress_mode)
    error_message = "hub.egress_mode is strict (AKS, registries and your rules) or loose (allow all, for bring-up)."
  }

  validation {
    condition     = alltrue([for c in var.hub.address_space : can(cidrhost(c, 0))])
    error_message = "hub.address_space entries must be CIDRs such as 10.0.0.0/16."
  }

  validation {
    condition     = contains(["Standard", "Premium"], var.hub.firewall_sku_tier)
    error_message = "hub.firewall_sku_tier is Standard or Premium."
  }

  validation {
    condition     = contains(["Alert", "Deny", "Off"], var.hub.threat_intel_mode)
    error_message = "hub.threat_intel_mode is Alert, Deny or Off."
  }

  validation {
    condition     = alltrue([for c in var.hub.admin_cidrs : can(cidrhost(c, 0)) && strcontains(c, "/")])
    error_message = "hub.admin_cidrs entries must be CIDRs such as 203.0.113.0/24 or 198.51.100.7/32."
  }

  validation {
    condition     = var.hub.jump_host == null || length(var.hub.admin_cidrs) > 0
    error_message = "A jump host only accepts SSH from hub.admin_cidrs: give at least one."
  }
}

variable "spoke" {
  description = "The AKS spoke: address space (disjoint from the hub's) and optional subnet layout."
  type = object({
    address_space = list(string)
    subnets       = optional(map(string))
  })

  validation {
    condition     = alltrue([for c in var.spoke.address_space : can(cidrhost(c, 0))])
    error_message = "spoke.address_space entries must be CIDRs such as 10.1.0.0/16."
  }

  validation {
    condition     = var.spoke.subnets == null || alltrue([for s in ["aks-nodes", "private-endpoints"] : contains(keys(coalesce(var.spoke.subnets, {})), s)])
    error_message = "spoke.subnets, when given, must include aks-nodes (the cluster) and private-endpoints (the PaaS endpoints)."
  }
}

variable "aks" {
  description = "The private AKS cluster: version, SKU tier, the system pool and more pools (user, infra)."
  type = object({
    kubernetes_version = optional(string)
    sku_tier           = optional(string, "Free")
    system_pool = optional(object({
      vm_size    = optional(string, "Standard_D2s_v5")
      node_count = optional(number, 2)
    }), {})
    node_pools = optional(map(object({
      vm_size    = string
      node_count = optional(number)
      min_count  = optional(number)
      max_count  = optional(number)
      labels     = optional(map(string))
      taints     = optional(list(string))
    })), {})
    admin_group_object_ids = optional(list(string), [])
  })
  default = {}

  validation {
    condition     = contains(["Free", "Standard", "Premium"], var.aks.sku_tier)
    error_message = "aks.sku_tier is Free, Standard or Premium."
  }
}

variable "paas" {
  description = "The PaaS bundle: registry, Key Vault, PostgreSQL, Service Bus, Log Analytics, state storage and optional Cosmos DB."
  type = object({
    acr_sku                              = optional(string, "Basic")
    acr_admin_enabled                    = optional(bool, false)
    key_vault_purge_protection           = optional(bool, false)
    key_vault_soft_delete_retention_days = optional(number, 7)
    key_vault_on_soft_deleted            = optional(string, "recover")
    postgresql_version                   = optional(string, "17")
    postgresql_sku_name                  = optional(string, "Standard_B1ms")
    postgresql_storage_gb                = optional(number, 32)
    postgresql_databases                 = optional(list(string), ["catalog", "orders"])
    postgresql_administrator_login       = optional(string, "trenchadmin")
    service_bus_queues                   = optional(list(string), ["orders"])
    log_analytics_retention_days         = optional(number, 30)
    cosmos_db                            = optional(bool, false)
  })
  default = {}

  validation {
    condition     = contains(["recover", "purge", "fail"], var.paas.key_vault_on_soft_deleted)
    error_message = "paas.key_vault_on_soft_deleted is recover, purge or fail."
  }

  validation {
    condition     = var.paas.key_vault_soft_delete_retention_days >= 7 && var.paas.key_vault_soft_delete_retention_days <= 90
    error_message = "paas.key_vault_soft_delete_retention_days is 7 to 90."
  }

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.paas.acr_sku)
    error_message = "paas.acr_sku is Basic, Standard or Premium."
  }

  validation {
    condition     = can(tonumber(var.paas.postgresql_version)) && try(tonumber(var.paas.postgresql_version) >= 11 && tonumber(var.paas.postgresql_version) <= 18, false)
    error_message = "paas.postgresql_version is a major version from 11 to 18."
  }

  validation {
    condition     = contains([32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767], var.paas.postgresql_storage_gb)
    error_message = "paas.postgresql_storage_gb is one of 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767."
  }

  validation {
    condition     = var.paas.log_analytics_retention_days >= 30 && var.paas.log_analytics_retention_days <= 730
    error_message = "paas.log_analytics_retention_days is 30 to 730."
  }
}

variable "postgresql_administrator_password" {
  description = "PostgreSQL administrator password. Write-only: never stored in state or plan. Pass it as TF_VAR_postgresql_administrator_password."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "postgresql_administrator_password_version" {
  description = "Bump to push a new administrator password (the password itself is never stored, so Terraform cannot see it change)."
  type        = number
  default     = 1

  validation {
    condition     = var.postgresql_administrator_password_version >= 0 && floor(var.postgresql_administrator_password_version) == var.postgresql_administrator_password_version
    error_message = "postgresql_administrator_password_version is a whole number, 0 or more."
  }
}

variable "workloads" {
  description = "Workloads that get a user-assigned identity federated with the cluster's OIDC issuer, by name (catalog-api)."
  type = map(object({
    namespace       = string
    service_account = string
    roles           = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue(flatten([for w in var.workloads : [for r in w.roles : contains(keys(local.workload_role_targets), r)]]))
    error_message = "Workload roles are Key Vault Secrets User/Officer, Azure Service Bus Data Sender/Receiver/Owner, AcrPull or Storage Blob Data Reader/Contributor."
  }

  validation {
    condition     = alltrue([for w in var.workloads : length(distinct(w.roles)) == length(w.roles)])
    error_message = "A workload lists each role once."
  }

  validation {
    condition     = alltrue([for name in keys(var.workloads) : can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", name)) && length(name) <= 24])
    error_message = "Workload names (the map keys) are 1-24 lowercase letters or digits joined by single hyphens, e.g. catalog-api."
  }

  validation {
    condition = alltrue(flatten([for w in var.workloads : [
      for label in [w.namespace, w.service_account] : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", label))
    ]]))
    error_message = "Workload namespace and service_account are Kubernetes names: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
  }
}

variable "extra_spokes" {
  description = "More spokes on the same hub, by name (trench-<name>-vnet-<env> in rg-trench-<name>-<env>), each with an address space disjoint from the others and optional subnets (default: aks-nodes /22 and private-endpoints /24)."
  type = map(object({
    address_space = list(string)
    subnets       = optional(map(string))
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.extra_spokes) : can(regex("^[a-z][a-z0-9]{0,19}$", name)) && !contains(["aks", "core", "data"], name)])
    error_message = "Extra spoke names are 1-20 lowercase letters or digits, starting with a letter; aks, core and data are taken by the estate's own resource groups."
  }

  validation {
    condition     = alltrue(flatten([for s in values(var.extra_spokes) : [for c in s.address_space : can(cidrhost(c, 0))]]))
    error_message = "extra_spokes address spaces must be CIDRs such as 10.2.0.0/16."
  }
}
