# The config file reaches the tasks through the ECS control plane: it is a SecureString parameter that
# ECS injects into a short-lived init container, which writes it to a task volume the edge and worker
# containers mount read-only at /etc/turnpike. Its hash is an environment variable of the service
# containers, so changing the config changes the task definition and ECS rolls a new deployment.
# (Advanced tier: config files larger than 4 KB are common.)
resource "aws_ssm_parameter" "config" {
  name        = "/${var.name}/turnpike.yaml"
  description = "Turnpike config of ${var.name}"
  type        = "SecureString"
  tier        = "Advanced"
  key_id      = var.kms_key_arn
  value       = var.config_yaml
  tags        = var.tags
}

locals {
  volume_name = "turnpike-config"
  config_path = "/etc/turnpike/turnpike.yaml"
  # Root only to write into the fresh task volume; the service containers run as the image's user.
  init_container = {
    name        = "config"
    image       = var.image
    essential   = false
    user        = "0"
    entryPoint  = ["node", "-e", "require('fs').writeFileSync(process.argv[1], process.env.TURNPIKE_CONFIG, { mode: 0o644 })", local.config_path]
    secrets     = [{ name = "TURNPIKE_CONFIG", valueFrom = aws_ssm_parameter.config.arn }]
    mountPoints = [{ sourceVolume = local.volume_name, containerPath = "/etc/turnpike", readOnly = false }]
  }
}
