variable "environment" {
  description = "Environment name; part of every resource name."
  type        = string
  default     = "dev"
}

variable "location" {
  description = "Azure location, as ARM spells it."
  type        = string
  default     = "westeurope"
}

variable "address_space" {
  description = "Hub VNet address space."
  type        = list(string)
  default     = ["10.0.0.0/16"]
}

variable "egress_mode" {
  description = "strict (AKS, registries and extra rules only) or loose (allow all egress, for bring-up)."
  type        = string
  default     = "strict"
}

variable "tags" {
  description = "Tags for every object (environment is added by the provider)."
  type        = map(string)
  default = {
    owner         = "platform"
    "cost-center" = "cc-1234"
    purpose       = "trench-hub"
  }
}
