output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "One public subnet per zone (NLB, NAT)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "One private subnet per zone (tasks, Redis)."
  value       = aws_subnet.private[*].id
}

output "nlb_security_group_id" {
  description = "The NLB's security group."
  value       = aws_security_group.nlb.id
}

output "edge_security_group_id" {
  description = "The edge tasks' security group."
  value       = aws_security_group.edge.id
}

output "worker_security_group_id" {
  description = "The worker tasks' security group."
  value       = aws_security_group.worker.id
}

output "redis_security_group_id" {
  description = "Redis's security group."
  value       = aws_security_group.redis.id
}
