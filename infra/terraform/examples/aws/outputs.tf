output "endpoint_url" {
  description = "The API's URL (HTTPS; WebSocket APIs at wss:// on the same host)."
  value       = "https://${var.domain_name}"
}

output "nlb_dns_name" {
  description = "Point domain_name here (CNAME or alias) when route53_zone_id is null."
  value       = module.edge.nlb_dns_name
}

output "admin_endpoint" {
  description = "The admin CLI as a one-off task in the private subnets; append a turnpike command, e.g. keys list."
  value = join(" ", [
    "aws ecs run-task --region ${var.region} --cluster ${aws_ecs_cluster.this.name} --launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.admin.family}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", module.network.private_subnet_ids)}],securityGroups=[${module.network.worker_security_group_id}]}'",
    "--overrides '{\"containerOverrides\":[{\"name\":\"admin\",\"command\":[...]}]}'",
  ])
}

output "redis_endpoint" {
  description = "Redis primary endpoint (TLS; AUTH token in redis_auth_token_secret_arn)."
  value       = "${module.redis.primary_endpoint}:${module.redis.port}"
}

output "redis_auth_token_secret_arn" {
  description = "Secrets Manager secret with the Redis AUTH token."
  value       = module.redis.auth_token_secret_arn
}

output "edge_service" {
  description = "ECS service of the edges (for aws ecs update-service)."
  value       = module.edge.service_name
}

output "worker_service" {
  description = "ECS service of the workers."
  value       = module.worker.service_name
}
