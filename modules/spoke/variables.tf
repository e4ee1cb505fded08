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
}

variable "hub_resource_group_name" {
  description = "Resource group of the hub, when not the conventional rg-trench-core-<env>."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the spoke's resources."
  type        = map(string)
  default     = {}
}
