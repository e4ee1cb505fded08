variable "postgresql_administrator_password" {
  description = "PostgreSQL administrator password (write-only: never stored in plan or state). Pass it as TF_VAR_postgresql_administrator_password."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "admin_cidrs" {
  description = "Administrators' networks: SSH to the jump host and access to Service Bus."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "jump_host_ssh_public_key" {
  description = "OpenSSH public key for the jump host."
  type        = string
  default     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLE operator@example"
}
