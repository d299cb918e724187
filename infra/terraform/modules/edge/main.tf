# Edge nodes on ECS Fargate behind an internet-facing Network Load Balancer.
#
# The NLB terminates TLS (ACM) and forwards TCP, so WebSockets and long responses pass untouched. A TLS
# listener's idle timeout is fixed at 350 s; the edge pings idle WebSockets far more often than that.
# Client IPs: the target group preserves them (preserve_client_ip), so the edge's socket address is the
# client's and identity.sourceIp, per-IP throttling and X-Forwarded-For need nothing from the edge; the
# reasons over PROXY protocol v2 are in infra/README.md.
#
# Rolling upgrade: ECS starts new tasks, waits for /readyz on the management port, then deregisters an
# old task (the NLB sends it no new connections and gives the open ones deregistration_delay_seconds),
# and then sends SIGTERM: the edge stops accepting, lets in-flight requests run for shutdownGraceMs and
# exits 0 before stopTimeout.

resource "aws_lb" "edge" {
  name                             = "${var.name}-edge"
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = var.public_subnet_ids
  security_groups                  = [var.nlb_security_group_id]
  enable_cross_zone_load_balancing = true
  tags                             = var.tags
}

resource "aws_lb_target_group" "edge" {
  name                 = "${var.name}-edge"
  port                 = var.api_port
  protocol             = "TCP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  preserve_client_ip   = "true"
  deregistration_delay = var.deregistration_delay_seconds
  # After the delay the NLB resets what is left, so a draining task cannot hold a deployment forever.
  connection_termination = true

  health_check {
    protocol            = "HTTP"
    port                = tostring(var.management_port)
    path                = "/readyz"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.deregistration_delay_seconds >= var.shutdown_grace_seconds
      error_message = "deregistration_delay_seconds must be at least shutdown_grace_seconds, or the NLB cuts requests the edge is still finishing."
    }
  }
}

resource "aws_lb_listener" "tls" {
  load_balancer_arn = aws_lb.edge.arn
  port              = var.listener_port
  protocol          = "TLS"
  certificate_arn   = var.certificate_arn
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  # The edge speaks HTTP/1.1 (and WebSocket upgrades over it): never let a client negotiate h2.
  alpn_policy = "HTTP1Only"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.edge.arn
  }

  tags = var.tags
}

locals {
  command = ["edge", "--config", var.config.config_path, "--port", tostring(var.api_port), "--management-port", tostring(var.management_port)]
  edge_container = {
    name        = "edge"
    image       = var.image
    essential   = true
    command     = local.command
    stopTimeout = min(120, var.shutdown_grace_seconds + 10)
    portMappings = [
      { containerPort = var.api_port, protocol = "tcp" },
      { containerPort = var.management_port, protocol = "tcp" },
    ]
    environment = [
      { name = "NODE_ENV", value = "production" },
      { name = "OTEL_SERVICE_NAME", value = "turnpike-edge" },
      { name = "OTEL_EXPORTER_OTLP_ENDPOINT", value = var.otlp_endpoint },
      { name = "TURNPIKE_CONFIG_SHA256", value = var.config.sha256 },
    ]
    secrets     = [{ name = "REDIS_URL", valueFrom = var.redis_url_secret_arn }]
    mountPoints = [{ sourceVolume = var.config.volume_name, containerPath = "/etc/turnpike", readOnly = true }]
    dependsOn   = [{ containerName = var.config.init_container.name, condition = "SUCCESS" }]
    ulimits     = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = "edge"
      }
    }
  }
}

resource "aws_ecs_task_definition" "edge" {
  family                   = "${var.name}-edge"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  container_definitions    = jsonencode([var.config.init_container, local.edge_container, var.collector_container])

  volume {
    name = var.config.volume_name
  }

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  tags = var.tags
}

resource "aws_ecs_service" "edge" {
  name                               = "${var.name}-edge"
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.edge.arn
  desired_count                      = var.min_tasks
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.edge_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.edge.arn
    container_name   = "edge"
    container_port   = var.api_port
  }

  # Autoscaling owns the task count after the first apply.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.tls]
  tags       = var.tags
}

# ---- autoscaling: CPU, and connections per task ----------------------------------------------------

resource "aws_appautoscaling_target" "edge" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.edge.name}"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-edge-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.edge.service_namespace
  scalable_dimension = aws_appautoscaling_target.edge.scalable_dimension
  resource_id        = aws_appautoscaling_target.edge.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# WebSockets cost memory and file descriptors, not CPU, while idle: scale on open flows per healthy task
# too. The NLB's own metrics, so this works before any telemetry backend is set up.
resource "aws_appautoscaling_policy" "connections" {
  name               = "${var.name}-edge-connections"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.edge.service_namespace
  scalable_dimension = aws_appautoscaling_target.edge.scalable_dimension
  resource_id        = aws_appautoscaling_target.edge.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.connections_per_task_target
    scale_out_cooldown = 60
    # Scaling in drops connections (after the deregistration delay): do it slowly.
    scale_in_cooldown = 900

    customized_metric_specification {
      metrics {
        id          = "flows"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/NetworkELB"
            metric_name = "ActiveFlowCount"
            dimensions {
              name  = "LoadBalancer"
              value = aws_lb.edge.arn_suffix
            }
          }
        }
      }
      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Minimum"
          metric {
            namespace   = "AWS/NetworkELB"
            metric_name = "HealthyHostCount"
            dimensions {
              name  = "LoadBalancer"
              value = aws_lb.edge.arn_suffix
            }
            dimensions {
              name  = "TargetGroup"
              value = aws_lb_target_group.edge.arn_suffix
            }
          }
        }
      }
      metrics {
        id          = "per_task"
        label       = "active flows per healthy edge task"
        expression  = "IF(tasks > 0, flows / tasks, flows)"
        return_data = true
      }
    }
  }
}
