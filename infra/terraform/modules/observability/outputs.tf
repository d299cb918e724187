output "collector_container" {
  description = "Sidecar container definition for edge and worker tasks."
  value       = local.collector_container
}

output "otlp_endpoint" {
  description = "What the services set as OTEL_EXPORTER_OTLP_ENDPOINT."
  value       = "http://127.0.0.1:4318"
}

output "collector_config_parameter_arn" {
  description = "The collector config parameter (the execution role must read it)."
  value       = aws_ssm_parameter.collector_config.arn
}

output "export_policy_arn" {
  description = "IAM policy the task roles attach for the collector's exporters."
  value       = aws_iam_policy.export.arn
}

output "edge_log_group" {
  description = "Log group of the edges' access and process logs."
  value       = aws_cloudwatch_log_group.edge.name
}

output "worker_log_group" {
  description = "Log group of the workers' logs."
  value       = aws_cloudwatch_log_group.worker.name
}

output "metric_namespace" {
  description = "CloudWatch namespace of the services' metrics."
  value       = var.metric_namespace
}
