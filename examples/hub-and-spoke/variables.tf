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

variable "egress_mode" {
  description = "strict (AKS, registries and the extra rules only) or loose (allow all egress, for bring-up)."
  type        = string
  default     = "strict"
}

variable "admin_cidrs" {
  description = "Administrators' networks: the only sources that may SSH to the jump host."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "jump_host_ssh_public_key" {
  description = "OpenSSH public key for the jump host; null for no jump host."
  type        = string
  default     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLE operator@example"
}

variable "tags" {
  description = "Tags for every object (environment is added by the provider)."
  type        = map(string)
  default = {
    owner         = "platform"
    "cost-center" = "cc-1234"
    purpose       = "trench-network"
  }
}
