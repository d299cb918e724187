variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "region" {
  description = "AWS region (log driver)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the worker tasks."
  type        = list(string)
}

variable "worker_security_group_id" {
  description = "The worker tasks' security group (network module)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster running the service."
  type        = string
}

variable "cluster_name" {
  description = "Name of that cluster (autoscaling resource id and task-count metric)."
  type        = string
}

variable "image" {
  description = "The Turnpike image, or one built FROM it with the function modules copied in."
  type        = string
}

variable "execution_role_arn" {
  description = "ECS task execution role."
  type        = string
}

variable "task_role_arn" {
  description = "Role the worker and its functions run as."
  type        = string
}

variable "functions_dir" {
  description = "Directory in the image whose modules are registered as functions (--functions); null for none."
  type        = string
  default     = null
}

variable "concurrency" {
  description = "Host processes per function per task (--concurrency); null for the worker's default (2 per CPU)."
  type        = number
  default     = null
}

variable "lock_ms" {
  description = "How soon another worker takes over the queued jobs of a dead one (--lock-ms)."
  type        = number
  default     = 30000
}

variable "stop_timeout_seconds" {
  description = "How long a stopping worker may finish its running invocations (Fargate allows 120 at most)."
  type        = number
  default     = 120
}

variable "cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 2048
}

variable "memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 4096
}

variable "min_tasks" {
  description = "Fewest worker tasks."
  type        = number
  default     = 2
}

variable "max_tasks" {
  description = "Most worker tasks."
  type        = number
  default     = 50
}

variable "cpu_target_percent" {
  description = "Average CPU the service scales to hold."
  type        = number
  default     = 70
}

variable "queue_depth_metric" {
  description = "The queue-depth gauge the workers publish (CloudWatch namespace, name, service dimension)."
  type = object({
    namespace    = string
    metric_name  = string
    service_name = string
  })
  default = {
    namespace    = "Turnpike"
    metric_name  = "turnpike_function_queue_depth"
    service_name = "turnpike-worker"
  }
}

variable "backlog_per_task_target" {
  description = "Queued invocations per running task the service scales to hold."
  type        = number
  default     = 50
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
  description = "OTEL_EXPORTER_OTLP_ENDPOINT of the worker (the sidecar)."
  type        = string
}

variable "log_group" {
  description = "Log group of the workers' logs."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
