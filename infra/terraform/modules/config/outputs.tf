output "parameter_arn" {
  description = "The SSM parameter holding the config (the execution role must read it)."
  value       = aws_ssm_parameter.config.arn
}

output "init_container" {
  description = "Container definition that writes the config file; run it before the service container (dependsOn SUCCESS)."
  value       = local.init_container
}

output "volume_name" {
  description = "Task volume the config file is written to."
  value       = local.volume_name
}

output "config_path" {
  description = "Where the service containers find the config file."
  value       = local.config_path
}

output "sha256" {
  description = "Hash of the config; a change rolls the services."
  value       = sha256(var.config_yaml)
}
