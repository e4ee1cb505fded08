variable "environment" {
  description = "Environment of the hub to attach to."
  type        = string
  default     = "dev"
}
