# One execution role (ECS itself: image, logs, the config parameter and secrets) and a task role per
# service (what the code may do: only export telemetry; functions needing AWS APIs get more here).
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution_managed" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    sid       = "ConfigAndCollectorConfig"
    actions   = ["ssm:GetParameters"]
    resources = [module.config.parameter_arn, module.observability.collector_config_parameter_arn]
  }
  statement {
    sid       = "RedisUrl"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [module.redis.url_secret_arn]
  }
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "Decrypt"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "config-and-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "edge_task" {
  name_prefix        = "${var.name}-edge-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role" "worker_task" {
  name_prefix        = "${var.name}-worker-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "edge_telemetry" {
  role       = aws_iam_role.edge_task.name
  policy_arn = module.observability.export_policy_arn
}

resource "aws_iam_role_policy_attachment" "worker_telemetry" {
  role       = aws_iam_role.worker_task.name
  policy_arn = module.observability.export_policy_arn
}
