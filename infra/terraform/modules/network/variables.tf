variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's address range; split into one public and one private /20 per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread subnets over; Redis failover and the NLB need at least 2."
  type        = number
  default     = 3
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6: multi-AZ Redis and a zonal NLB need at least two zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, but a zone outage cuts egress for the others)."
  type        = bool
  default     = false
}

variable "listener_port" {
  description = "The public port of the NLB's TLS listener: the only ingress open to the internet."
  type        = number
  default     = 443
}

variable "api_port" {
  description = "The edge's API port (gateway.listen.port)."
  type        = number
  default     = 8080
}

variable "management_port" {
  description = "The edge's management port (gateway.management.port): /healthz /readyz /metrics, reached by NLB health checks only."
  type        = number
  default     = 9090
}

variable "redis_port" {
  description = "The port Redis listens on."
  type        = number
  default     = 6379
}

variable "public_ingress_cidrs" {
  description = "Who may reach the NLB listener; the whole internet by default."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
