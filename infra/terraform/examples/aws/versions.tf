terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
  # State holds the Redis AUTH token: keep it in an encrypted, access-controlled backend, e.g.
  # backend "s3" { bucket = "...", key = "turnpike.tfstate", region = "...", encrypt = true, use_lockfile = true }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}
