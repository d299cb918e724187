# Function workers on ECS Fargate. They only connect out (Redis, whatever functions call), so they have
# no load balancer and no ingress. On SIGTERM a worker stops taking jobs and lets running invocations
# finish (stopTimeout); a worker that dies has its queued jobs taken over after --lock-ms.

locals {
  command = concat(
    ["worker", "--config", var.config.config_path, "--lock-ms", tostring(var.lock_ms)],
    var.functions_dir == null ? [] : ["--functions", var.functions_dir],
    var.concurrency == null ? [] : ["--concurrency", tostring(var.concurrency)],
  )
  worker_container = {
    name        = "worker"
    image       = var.image
    essential   = true
    command     = local.command
    stopTimeout = min(120, var.stop_timeout_seconds)
    environment = [
      { name = "NODE_ENV", value = "production" },
      { name = "OTEL_SERVICE_NAME", value = var.queue_depth_metric.service_name },
      { name = "OTEL_EXPORTER_OTLP_ENDPOINT", value = var.otlp_endpoint },
      { name = "TURNPIKE_CONFIG_SHA256", value = var.config.sha256 },
    ]
    secrets     = [{ name = "REDIS_URL", valueFrom = var.redis_url_secret_arn }]
    mountPoints = [{ sourceVolume = var.config.volume_name, containerPath = "/etc/turnpike", readOnly = true }]
    dependsOn   = [{ containerName = var.config.init_container.name, condition = "SUCCESS" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = "worker"
      }
    }
  }
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  container_definitions    = jsonencode([var.config.init_container, local.worker_container, var.collector_container])

  volume {
    name = var.config.volume_name
  }

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  tags = var.tags
}

resource "aws_ecs_service" "worker" {
  name                               = "${var.name}-worker"
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.worker.arn
  desired_count                      = var.min_tasks
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.worker_security_group_id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  tags = var.tags
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.worker.name}"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Backlog per task: the queue depth gauge divided by the running tasks (Container Insights), the
# pattern AWS recommends for queue consumers. Functions that wait on I/O queue up without using CPU,
# which the CPU policy alone would never see.
resource "aws_appautoscaling_policy" "backlog" {
  name               = "${var.name}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "depth"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = var.queue_depth_metric.namespace
            metric_name = var.queue_depth_metric.metric_name
            dimensions {
              name  = "service.name"
              value = var.queue_depth_metric.service_name
            }
          }
        }
      }
      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = var.cluster_name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
      metrics {
        id          = "backlog_per_task"
        label       = "queued invocations per running worker task"
        expression  = "IF(tasks > 0, depth / tasks, depth)"
        return_data = true
      }
    }
  }
}
