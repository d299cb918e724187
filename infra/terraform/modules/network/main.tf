# VPC, public subnets (NLB, NAT) and private subnets (edge and worker tasks, Redis) in az_count zones,
# and the security groups that say who talks to whom:
#   internet -> nlb (listener_port)        the only ingress from outside the VPC
#   nlb      -> edge (api_port)            client traffic; client IPs are preserved (see infra/README.md)
#   nlb      -> edge (management_port)     health checks on /readyz; the management listener is never public
#   edge, worker -> redis (redis_port)     Redis accepts nobody else
data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  # /20s: public ones first, private ones after, so adding a zone never renumbers an existing subnet.
  public_cidrs  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i)]
  private_cidrs = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i + 8)]
  nat_count     = var.single_nat_gateway ? 1 : var.az_count
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  count             = var.az_count
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.public_cidrs[count.index]
  availability_zone = local.azs[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-public-${local.azs[count.index]}", "kubernetes.io/role/elb" = "1" })
}

resource "aws_subnet" "private" {
  count             = var.az_count
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_cidrs[count.index]
  availability_zone = local.azs[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}", "kubernetes.io/role/internal-elb" = "1" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table_association" "public" {
  count          = var.az_count
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat-${count.index}" })
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(var.tags, { Name = "${var.name}-${local.azs[count.index]}" })
  depends_on    = [aws_internet_gateway.this]
}

# Tasks pull images, reach upstreams and send telemetry through NAT; nothing routes in.
resource "aws_route_table" "private" {
  count  = var.az_count
  vpc_id = aws_vpc.this.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
  }
  tags = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count          = var.az_count
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# ---- security groups ----------------------------------------------------------------------------

resource "aws_security_group" "nlb" {
  name        = "${var.name}-nlb"
  description = "Turnpike NLB: the public TLS listener"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-nlb" })
}

resource "aws_security_group" "edge" {
  name        = "${var.name}-edge"
  description = "Turnpike edge tasks: API and management ports from the NLB only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-edge" })
}

resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "Turnpike function workers: no ingress"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-worker" })
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Turnpike Redis: edges and workers only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-redis" })
}

# The NLB listener: the one ingress open to the internet (public_ingress_cidrs).
resource "aws_vpc_security_group_ingress_rule" "nlb_listener" {
  for_each          = toset(var.public_ingress_cidrs)
  security_group_id = aws_security_group.nlb.id
  description       = "clients to the TLS listener"
  ip_protocol       = "tcp"
  from_port         = var.listener_port
  to_port           = var.listener_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_edge_api" {
  security_group_id            = aws_security_group.nlb.id
  description                  = "forward to the edge's API port"
  ip_protocol                  = "tcp"
  from_port                    = var.api_port
  to_port                      = var.api_port
  referenced_security_group_id = aws_security_group.edge.id
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_edge_management" {
  security_group_id            = aws_security_group.nlb.id
  description                  = "health checks on the edge's management port"
  ip_protocol                  = "tcp"
  from_port                    = var.management_port
  to_port                      = var.management_port
  referenced_security_group_id = aws_security_group.edge.id
}

# With client IP preservation the packets carry the client's address, yet a rule naming the NLB's
# security group still matches them: that is why the NLB has one (targets need no 0.0.0.0/0 rule).
resource "aws_vpc_security_group_ingress_rule" "edge_api_from_nlb" {
  security_group_id            = aws_security_group.edge.id
  description                  = "client traffic through the NLB"
  ip_protocol                  = "tcp"
  from_port                    = var.api_port
  to_port                      = var.api_port
  referenced_security_group_id = aws_security_group.nlb.id
}

resource "aws_vpc_security_group_ingress_rule" "edge_management_from_nlb" {
  security_group_id            = aws_security_group.edge.id
  description                  = "NLB health checks on /readyz"
  ip_protocol                  = "tcp"
  from_port                    = var.management_port
  to_port                      = var.management_port
  referenced_security_group_id = aws_security_group.nlb.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_edge" {
  security_group_id            = aws_security_group.redis.id
  description                  = "edges"
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = aws_security_group.edge.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_worker" {
  security_group_id            = aws_security_group.redis.id
  description                  = "function workers"
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = aws_security_group.worker.id
}

# Edges and workers call upstreams, Redis, the image registry and telemetry backends.
resource "aws_vpc_security_group_egress_rule" "edge_out" {
  security_group_id = aws_security_group.edge.id
  description       = "upstreams, Redis, registry, telemetry"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "worker_out" {
  security_group_id = aws_security_group.worker.id
  description       = "Redis, registry, telemetry, whatever functions call"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
