# The operator REST API behind TLS: an internal Application Load Balancer terminates HTTPS with an ACM
# certificate (renewed by AWS, no private key on any instance) and forwards to gslbdns-api.service on
# the instances' private addresses. Reachable only from operator_cidrs; nothing of it is public.
locals {
  listen_port = 8080
  hosts       = { for i in range(var.instance_count) : "api-${i + 1}" => var.subnet_ids[i % length(var.subnet_ids)] }
}

resource "aws_security_group" "lb" {
  name        = "${var.name}-api-lb"
  description = "API load balancer: HTTPS from the operator networks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-api-lb" })
}

resource "aws_vpc_security_group_ingress_rule" "lb_https" {
  for_each          = toset(var.operator_cidrs)
  security_group_id = aws_security_group.lb.id
  description       = "HTTPS from operators"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "lb_to_api" {
  security_group_id            = aws_security_group.lb.id
  description                  = "to the API instances"
  ip_protocol                  = "tcp"
  from_port                    = local.listen_port
  to_port                      = local.listen_port
  referenced_security_group_id = module.host.security_group_id
}

module "host" {
  source                     = "../fleet_host"
  name                       = "${var.name}-api"
  host_name_prefix           = var.name
  role                       = "api"
  vpc_id                     = var.vpc_id
  hosts                      = { for key, subnet_id in local.hosts : key => { subnet_id = subnet_id } }
  instance_type              = var.instance_type
  ami_id                     = var.ami_id
  security_group_description = "API instances: plain HTTP only from the load balancer"
  ingress = [
    { key = "from-lb", description = "HTTP from the load balancer", protocol = "tcp", from_port = local.listen_port, source_security_group_id = aws_security_group.lb.id }
  ]
  egress_description = "Consul, artifacts, SSM"
  secret_parameters = {
    "consul-token" = var.consul_token_parameter
    "api-tokens"   = var.api_tokens_parameter
  }
  service = "gslbdns-api"
  environment = {
    GSLBDNS_LISTEN_ARGS = "--listen 0.0.0.0:${local.listen_port}"
    GSLBDNS_CONSUL_ARGS = join(" ", concat([for url in var.common.consul_addresses : "--consul ${url}"], ["--consul-ca-file /etc/gslbdns/consul-ca.pem"]))
  }
  common = var.common
  tags   = var.tags
}

resource "aws_lb" "api" {
  name                       = "${var.name}-api"
  internal                   = true
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.lb.id]
  subnets                    = var.subnet_ids
  drop_invalid_header_fields = true
  tags                       = var.tags
}

resource "aws_lb_target_group" "api" {
  name     = "${var.name}-api"
  port     = local.listen_port
  protocol = "HTTP"
  vpc_id   = var.vpc_id

  health_check {
    path    = "/healthz"
    matcher = "200"
  }

  tags = var.tags
}

resource "aws_lb_target_group_attachment" "api" {
  for_each         = local.hosts
  target_group_arn = aws_lb_target_group.api.arn
  target_id        = module.host.instance_ids[each.key]
  port             = local.listen_port
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}
