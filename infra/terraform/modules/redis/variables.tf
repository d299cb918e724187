variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two zones."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Multi-AZ Redis needs subnets in at least two zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the Redis nodes (the network module's redis group admits edges and workers only)."
  type        = list(string)
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "replicas" {
  description = "Read replicas besides the primary; at least 1 so a failover has somewhere to go."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be 1 to 5: automatic failover needs a replica."
  }
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "port" {
  description = "The port Redis listens on."
  type        = number
  default     = 6379
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for at-rest encryption and the secrets; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "snapshot_retention_days" {
  description = "Daily snapshots kept (0 disables them)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
