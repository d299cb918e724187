# A production Turnpike: NLB (TLS, ACM) -> edge tasks -> Redis (ElastiCache, TLS, multi-AZ) <- workers,
# with an OpenTelemetry collector beside every task. See infra/README.md.

locals {
  config_yaml = file("${path.root}/${var.config_file}")
  # The ports the config file binds; the edge's --port/--management-port repeat them so they cannot drift.
  config          = yamldecode(local.config_yaml)
  api_port        = try(local.config.gateway.listen.port, 8080)
  management_port = try(local.config.gateway.management.port, 9090)
  shutdown_grace  = ceil(try(local.config.gateway.shutdownGraceMs, 10000) / 1000)
}

module "network" {
  source          = "../../modules/network"
  name            = var.name
  vpc_cidr        = var.vpc_cidr
  az_count        = var.az_count
  api_port        = local.api_port
  management_port = local.management_port
  tags            = var.tags
}

module "redis" {
  source             = "../../modules/redis"
  name               = var.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.redis_security_group_id]
  node_type          = var.redis_node_type
  replicas           = var.redis_replicas
  kms_key_arn        = var.kms_key_arn
  tags               = var.tags
}

module "config" {
  source      = "../../modules/config"
  name        = var.name
  config_yaml = local.config_yaml
  image       = var.image
  kms_key_arn = var.kms_key_arn
  tags        = var.tags
}

module "observability" {
  source        = "../../modules/observability"
  name          = var.name
  region        = var.region
  destination   = var.telemetry_destination
  otlp_endpoint = var.otlp_endpoint
  kms_key_arn   = var.kms_key_arn
  tags          = var.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  # RunningTaskCount, which the worker's backlog policy divides by, comes from Container Insights.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

module "edge" {
  source                 = "../../modules/edge"
  name                   = var.name
  region                 = var.region
  vpc_id                 = module.network.vpc_id
  public_subnet_ids      = module.network.public_subnet_ids
  private_subnet_ids     = module.network.private_subnet_ids
  nlb_security_group_id  = module.network.nlb_security_group_id
  edge_security_group_id = module.network.edge_security_group_id
  cluster_arn            = aws_ecs_cluster.this.arn
  cluster_name           = aws_ecs_cluster.this.name
  image                  = var.image
  execution_role_arn     = aws_iam_role.execution.arn
  task_role_arn          = aws_iam_role.edge_task.arn
  certificate_arn        = var.certificate_arn
  api_port               = local.api_port
  management_port        = local.management_port
  shutdown_grace_seconds = local.shutdown_grace
  cpu                    = var.edge_cpu
  memory                 = var.edge_memory
  min_tasks              = var.edge_min_tasks
  max_tasks              = var.edge_max_tasks
  config                 = module.config
  redis_url_secret_arn   = module.redis.url_secret_arn
  collector_container    = module.observability.collector_container
  otlp_endpoint          = module.observability.otlp_endpoint
  log_group              = module.observability.edge_log_group
  tags                   = var.tags
}

module "worker" {
  source                   = "../../modules/worker"
  name                     = var.name
  region                   = var.region
  private_subnet_ids       = module.network.private_subnet_ids
  worker_security_group_id = module.network.worker_security_group_id
  cluster_arn              = aws_ecs_cluster.this.arn
  cluster_name             = aws_ecs_cluster.this.name
  image                    = var.image
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.worker_task.arn
  functions_dir            = var.functions_dir
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  min_tasks                = var.worker_min_tasks
  max_tasks                = var.worker_max_tasks
  queue_depth_metric = {
    namespace    = module.observability.metric_namespace
    metric_name  = "turnpike_function_queue_depth"
    service_name = "turnpike-worker"
  }
  config               = module.config
  redis_url_secret_arn = module.redis.url_secret_arn
  collector_container  = module.observability.collector_container
  otlp_endpoint        = module.observability.otlp_endpoint
  log_group            = module.observability.worker_log_group
  tags                 = var.tags
}

resource "aws_route53_record" "api" {
  count   = var.route53_zone_id == null ? 0 : 1
  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"
  alias {
    name                   = module.edge.nlb_dns_name
    zone_id                = module.edge.nlb_zone_id
    evaluate_target_health = true
  }
}
