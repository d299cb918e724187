# Log groups for the services (the edge's access log is a JSON line per request on stdout, next to its
# process log), and an OpenTelemetry collector run as a sidecar in every edge and worker task: the
# services export OTLP to 127.0.0.1:4318 (OTEL_EXPORTER_OTLP_ENDPOINT) and the collector batches and
# forwards to CloudWatch/X-Ray or any OTLP backend. A sidecar needs no service discovery and no ingress.
resource "aws_cloudwatch_log_group" "edge" {
  name              = "/turnpike/${var.name}/edge"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/turnpike/${var.name}/worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "collector" {
  name              = "/turnpike/${var.name}/otel-collector"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

locals {
  otlp_auth = var.otlp_headers_secret_arn == null ? {} : { headers = { Authorization = "$${env:OTLP_AUTHORIZATION}" } }
  exporters = var.destination == "cloudwatch" ? {
    awsemf = {
      region                  = var.region
      namespace               = var.metric_namespace
      log_group_name          = "/turnpike/${var.name}/metrics"
      dimension_rollup_option = "NoDimensionRollup"
      # One dimension, the service (turnpike-edge, turnpike-worker): what the autoscaling policies read.
      resource_to_telemetry_conversion = { enabled = true }
      metric_declarations              = [{ dimensions = [["service.name"]], metric_name_selectors = ["^turnpike_"] }]
    }
    awsxray = { region = var.region }
  } : { otlphttp = merge({ endpoint = var.otlp_endpoint }, local.otlp_auth) }
  collector_config = {
    receivers = { otlp = { protocols = { http = { endpoint = "127.0.0.1:4318" } } } }
    processors = {
      batch          = { timeout = "10s" }
      memory_limiter = { check_interval = "1s", limit_percentage = 80, spike_limit_percentage = 20 }
    }
    exporters = local.exporters
    service = {
      pipelines = {
        metrics = { receivers = ["otlp"], processors = ["memory_limiter", "batch"], exporters = [var.destination == "cloudwatch" ? "awsemf" : "otlphttp"] }
        traces  = { receivers = ["otlp"], processors = ["memory_limiter", "batch"], exporters = [var.destination == "cloudwatch" ? "awsxray" : "otlphttp"] }
      }
    }
  }
}

resource "aws_ssm_parameter" "collector_config" {
  name        = "/${var.name}/otel-collector.yaml"
  description = "OpenTelemetry collector config of ${var.name}"
  type        = "String"
  value       = yamlencode(local.collector_config)
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = var.destination == "cloudwatch" || var.otlp_endpoint != null
      error_message = "destination = \"otlp\" needs otlp_endpoint."
    }
  }
}

locals {
  collector_secrets = concat(
    [{ name = "AOT_CONFIG_CONTENT", valueFrom = aws_ssm_parameter.collector_config.arn }],
    var.otlp_headers_secret_arn == null ? [] : [{ name = "OTLP_AUTHORIZATION", valueFrom = var.otlp_headers_secret_arn }],
  )
  collector_container = {
    name      = "otel-collector"
    image     = var.collector_image
    essential = false
    command   = ["--config=env:AOT_CONFIG_CONTENT"]
    secrets   = local.collector_secrets
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.collector.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "collector"
      }
    }
  }
}

# What the task roles need for the collector's exporters.
data "aws_iam_policy_document" "export" {
  statement {
    sid       = "Metrics"
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream", "logs:CreateLogGroup", "logs:DescribeLogStreams", "logs:DescribeLogGroups"]
    resources = ["arn:aws:logs:${var.region}:*:log-group:/turnpike/${var.name}/metrics*"]
  }
  statement {
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "export" {
  name_prefix = "${var.name}-telemetry-"
  description = "Lets the OpenTelemetry collector sidecar export metrics (EMF) and traces (X-Ray)"
  policy      = data.aws_iam_policy_document.export.json
  tags        = var.tags
}
