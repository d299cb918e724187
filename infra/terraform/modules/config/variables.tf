variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "config_yaml" {
  description = "The Turnpike config file's text (gateway.listen/management must bind 0.0.0.0, see examples/aws/turnpike.yaml)."
  type        = string
}

variable "image" {
  description = "The Turnpike image; its node writes the config file for the service containers."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the SecureString parameter; null uses the AWS-managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
