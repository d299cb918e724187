output "nlb_dns_name" {
  description = "The NLB's DNS name (alias target of the API domain)."
  value       = aws_lb.edge.dns_name
}

output "nlb_zone_id" {
  description = "The NLB's hosted zone (for a Route 53 alias)."
  value       = aws_lb.edge.zone_id
}

output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.edge.name
}

output "task_definition_family" {
  description = "Task definition family of the edge."
  value       = aws_ecs_task_definition.edge.family
}

output "target_group_arn" {
  description = "The NLB target group."
  value       = aws_lb_target_group.edge.arn
}
