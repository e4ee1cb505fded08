variable "environment" {
  description = "Environment of the hub to attach to (dev, prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "The environment must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "name" {
  description = "The spoke's service name, part of its names (trench-<name>-vnet-<env>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,19}$", var.name))
    error_message = "The spoke name is 1-20 lowercase letters or digits, starting with a letter."
  }
}

variable "address_space" {
  description = "The spoke's address space, disjoint from the hub's and the other spokes'."
  type        = list(string)

  validation {
    condition     = length(var.address_space) > 0 && alltrue([for c in var.address_space : can(cidrhost(c, 0))])
    error_message = "address_space needs at least one CIDR such as 10.2.0.0/16."
  }
}

variable "subnets" {
  description = "Subnets by name → prefix (default: aks-nodes /22 and private-endpoints /24)."
  type        = map(string)
  default     = null

  validation {
    condition     = var.subnets == null || alltrue([for name, prefix in coalesce(var.subnets, {}) : can(cidrhost(prefix, 0)) && strcontains(prefix, "/")])
    error_message = "subnets maps each subnet name to a CIDR prefix such as 10.2.0.0/22."
  }
}

variable "hub_resource_group_name" {
  description = "Resource group of the hub, when not the conventional rg-trench-core-<env>."
  type        = string
  default     = null

  validation {
    condition     = var.hub_resource_group_name == null || can(regex("^[-\\w._()]{0,89}[-\\w_()]$", coalesce(var.hub_resource_group_name, "x")))
    error_message = "hub_resource_group_name is 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'."
  }
}

variable "tags" {
  description = "Tags for the spoke's resources."
  type        = map(string)
  default     = {}
}

variable "resource_group_name" {
  description = "The spoke's own resource group, when not the conventional rg-trench-<name>-<env>. Set it when that name belongs to something else: a spoke named data would otherwise land in rg-trench-data-<env>, the PaaS bundle's data resource group."
  type        = string
  default     = null

  validation {
    condition     = var.resource_group_name == null || can(regex("^[-\\w._()]{0,89}[-\\w_()]$", coalesce(var.resource_group_name, "x")))
    error_message = "resource_group_name is 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'."
  }
}
