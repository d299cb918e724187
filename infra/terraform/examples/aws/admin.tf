# The admin API is the `turnpike` CLI (keys, plans, usage, credentials, dlq) talking to Redis. It is never
# exposed: operators run it as a one-off task inside the private subnets (see the admin_run_task output),
# with the same image, config and Redis URL as the services.
resource "aws_ecs_task_definition" "admin" {
  family                   = "${var.name}-admin"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.worker_task.arn
  container_definitions = jsonencode([module.config.init_container, {
    name        = "admin"
    image       = var.image
    essential   = true
    command     = ["validate", "--config", module.config.config_path]
    secrets     = [{ name = "REDIS_URL", valueFrom = module.redis.url_secret_arn }]
    mountPoints = [{ sourceVolume = module.config.volume_name, containerPath = "/etc/turnpike", readOnly = true }]
    dependsOn   = [{ containerName = module.config.init_container.name, condition = "SUCCESS" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.observability.worker_log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = "admin"
      }
    }
  }])

  volume {
    name = module.config.volume_name
  }
}
