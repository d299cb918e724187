variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "region" {
  description = "AWS region of the CloudWatch and X-Ray exporters."
  type        = string
}

variable "destination" {
  description = "Where metrics and traces go: \"cloudwatch\" (CloudWatch metrics via EMF, X-Ray traces) or \"otlp\" (any OTLP/HTTP backend)."
  type        = string
  default     = "cloudwatch"
  validation {
    condition     = contains(["cloudwatch", "otlp"], var.destination)
    error_message = "destination must be \"cloudwatch\" or \"otlp\"."
  }
}

variable "otlp_endpoint" {
  description = "destination = \"otlp\": the backend's OTLP/HTTP base URL (https://...)."
  type        = string
  default     = null
}

variable "otlp_headers_secret_arn" {
  description = "destination = \"otlp\": optional Secrets Manager secret with the backend's auth header value (sent as Authorization)."
  type        = string
  default     = null
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the services' metrics (autoscaling policies read it)."
  type        = string
  default     = "Turnpike"
}

variable "collector_image" {
  description = "The OpenTelemetry collector image (AWS Distro, which has the CloudWatch EMF and X-Ray exporters)."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps access and process logs."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log groups; null uses CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
