variable "name" {
  description = "Name of this Turnpike deployment; prefixes every resource."
  type        = string
  default     = "turnpike"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name is 2 to 21 lower-case letters, digits and -, starting with a letter (it prefixes NLB and ElastiCache names, which are short)."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "az_count" {
  description = "Availability zones used (at least 2)."
  type        = number
  default     = 3
}

variable "vpc_cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "image" {
  description = "The Turnpike image (built from infra/container/Dockerfile and pushed to ECR), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/turnpike:0.1.0."
  type        = string
}

variable "config_file" {
  description = "Path of the Turnpike config file to deploy."
  type        = string
  default     = "turnpike.yaml"
}

variable "domain_name" {
  description = "The API's host name, e.g. api.example.com."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, in this region."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 zone to create domain_name in; null to point DNS at the NLB yourself."
  type        = string
  default     = null
}

variable "edge_cpu" {
  description = "Fargate CPU units per edge task."
  type        = number
  default     = 1024
}

variable "edge_memory" {
  description = "Fargate memory (MiB) per edge task."
  type        = number
  default     = 2048
}

variable "edge_min_tasks" {
  description = "Fewest edge tasks."
  type        = number
  default     = 3
}

variable "edge_max_tasks" {
  description = "Most edge tasks."
  type        = number
  default     = 30
}

variable "worker_cpu" {
  description = "Fargate CPU units per worker task."
  type        = number
  default     = 2048
}

variable "worker_memory" {
  description = "Fargate memory (MiB) per worker task."
  type        = number
  default     = 4096
}

variable "worker_min_tasks" {
  description = "Fewest worker tasks."
  type        = number
  default     = 2
}

variable "worker_max_tasks" {
  description = "Most worker tasks."
  type        = number
  default     = 50
}

variable "functions_dir" {
  description = "Directory of function modules inside the worker image (--functions); null for none."
  type        = string
  default     = null
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_replicas" {
  description = "Redis replicas besides the primary."
  type        = number
  default     = 1
}

variable "telemetry_destination" {
  description = "\"cloudwatch\" or \"otlp\"."
  type        = string
  default     = "cloudwatch"
}

variable "otlp_endpoint" {
  description = "OTLP/HTTP endpoint when telemetry_destination = \"otlp\"."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for Redis, secrets, the config and logs; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = { Application = "turnpike" }
}
