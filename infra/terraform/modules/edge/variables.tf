variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "region" {
  description = "AWS region (log driver)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing NLB, one per zone."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the edge tasks."
  type        = list(string)
}

variable "nlb_security_group_id" {
  description = "The NLB's security group (network module)."
  type        = string
}

variable "edge_security_group_id" {
  description = "The edge tasks' security group (network module)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster running the service."
  type        = string
}

variable "cluster_name" {
  description = "Name of that cluster (autoscaling resource id)."
  type        = string
}

variable "image" {
  description = "The Turnpike image (infra/container/Dockerfile)."
  type        = string
}

variable "execution_role_arn" {
  description = "ECS task execution role: pulls the image, writes logs, reads the config parameter and the Redis URL secret."
  type        = string
}

variable "task_role_arn" {
  description = "Role the edge's code runs as."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the TLS listener."
  type        = string
}

variable "listener_port" {
  description = "Public TLS port."
  type        = number
  default     = 443
}

variable "api_port" {
  description = "gateway.listen.port of the config (passed as --port too)."
  type        = number
  default     = 8080
}

variable "management_port" {
  description = "gateway.management.port of the config (passed as --management-port too); health checks hit /readyz here."
  type        = number
  default     = 9090
}

variable "shutdown_grace_seconds" {
  description = "gateway.shutdownGraceMs / 1000: how long a stopping edge lets in-flight requests finish."
  type        = number
  default     = 10
}

variable "deregistration_delay_seconds" {
  description = "How long the NLB keeps a leaving task's connections before ECS stops it; at least the shutdown grace."
  type        = number
  default     = 30
}

variable "cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 2048
}

variable "min_tasks" {
  description = "Fewest edge tasks; at least one per zone."
  type        = number
  default     = 3
}

variable "max_tasks" {
  description = "Most edge tasks."
  type        = number
  default     = 30
}

variable "cpu_target_percent" {
  description = "Average CPU the service scales to hold."
  type        = number
  default     = 60
}

variable "connections_per_task_target" {
  description = "Active NLB flows (HTTP keep-alive and WebSocket connections) per healthy task the service scales to hold."
  type        = number
  default     = 20000
}

variable "config" {
  description = "The config module's outputs: init_container, volume_name, config_path, sha256."
  type = object({
    init_container = any
    volume_name    = string
    config_path    = string
    sha256         = string
  })
}

variable "redis_url_secret_arn" {
  description = "Secrets Manager secret holding REDIS_URL (redis module)."
  type        = string
}

variable "collector_container" {
  description = "The observability module's collector sidecar."
  type        = any
}

variable "otlp_endpoint" {
  description = "OTEL_EXPORTER_OTLP_ENDPOINT of the edge (the sidecar)."
  type        = string
}

variable "log_group" {
  description = "Log group of the edge's access and process logs."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
