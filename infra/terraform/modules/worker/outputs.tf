output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.worker.name
}

output "task_definition_family" {
  description = "Task definition family of the worker."
  value       = aws_ecs_task_definition.worker.family
}
