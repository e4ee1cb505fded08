terraform {
  required_version = ">= 1.11"

  required_providers {
    trench = {
      source = "trench-lab/trench"
    }
  }
}
