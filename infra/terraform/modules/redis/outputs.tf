output "primary_endpoint" {
  description = "Host name of the primary (follows failovers)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = var.port
}

output "auth_token_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token."
  value       = aws_secretsmanager_secret.auth_token.arn
}

output "url_secret_arn" {
  description = "Secrets Manager secret holding the services' REDIS_URL."
  value       = aws_secretsmanager_secret.url.arn
}
