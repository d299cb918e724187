# ElastiCache for Redis: a primary and replicas in different zones, automatic failover, TLS in transit,
# encryption at rest, an AUTH token generated here and kept in Secrets Manager.
#
# Cluster mode (sharding) is off on purpose: Turnpike's services connect with one ioredis connection per
# role (shared/redis/src/connection.ts), not a Cluster client, so a sharded cluster would answer MOVED.
# The keys are already hash-tagged for Cluster (every Lua script is tested on a 3-node cluster), so
# sharding needs only the client change; until then scale Redis up (node_type), not out.

# ElastiCache allows printable ASCII but / " @ in a token; letters and digits also keep it URL-safe.
resource "random_password" "auth_token" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "auth_token" {
  name_prefix = "${var.name}-redis-auth-"
  description = "AUTH token of ${var.name}'s Redis"
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  secret_id     = aws_secretsmanager_secret.auth_token.id
  secret_string = random_password.auth_token.result
}

# What the services read as REDIS_URL: rediss:// (TLS) with the token, pointing at the primary endpoint,
# which follows the primary through failovers.
resource "aws_secretsmanager_secret" "url" {
  name_prefix = "${var.name}-redis-url-"
  description = "REDIS_URL of ${var.name}'s services (rediss://, with the AUTH token)"
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id     = aws_secretsmanager_secret.url.id
  secret_string = "rediss://:${random_password.auth_token.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${var.port}"
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-redis7"
  family = "redis7"
  # BullMQ loses jobs if Redis evicts keys; a full Redis must refuse writes instead.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = "${var.name}-redis"
  description                = "Turnpike shared state: throttles, keys, policy cache, queues, WebSocket registry"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  port                       = var.port
  num_cache_clusters         = var.replicas + 1
  automatic_failover_enabled = true
  multi_az_enabled           = true
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  auth_token                 = random_password.auth_token.result
  auth_token_update_strategy = "ROTATE"
  parameter_group_name       = aws_elasticache_parameter_group.this.name
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = var.security_group_ids
  snapshot_retention_limit   = var.snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false
  tags                       = var.tags
}
