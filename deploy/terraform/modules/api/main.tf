# The operator REST API behind TLS: an internal Application Load Balancer terminates HTTPS with an ACM
# certificate (renewed by AWS, no private key on any instance) and forwards to gslbdns-api.service on
# the instances' private addresses. Reachable only from operator_cidrs; nothing of it is public.
data "aws_region" "current" {}

module "image" {
  source    = "../debian_image"
  pinned_id = var.ami_id
}

locals {
  ami_id      = module.image.id
  listen_port = 8080
}

module "role" {
  source                = "../instance_role"
  name                  = "${var.name}-api"
  secret_parameters     = [var.consul_token_parameter, var.api_tokens_parameter]
  artifact_bucket_arn   = var.artifact_bucket_arn
  tags                  = var.tags
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
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_security_group" "api" {
  name        = "${var.name}-api"
  description = "API instances: plain HTTP only from the load balancer"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-api" })
}

resource "aws_vpc_security_group_ingress_rule" "api_from_lb" {
  security_group_id            = aws_security_group.api.id
  description                  = "HTTP from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.listen_port
  to_port                      = local.listen_port
  referenced_security_group_id = aws_security_group.lb.id
}

resource "aws_vpc_security_group_egress_rule" "api_all" {
  security_group_id = aws_security_group.api.id
  description       = "Consul, artifacts, SSM"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

module "bootstrap" {
  source = "../host_bootstrap"

  service = "gslbdns-api"
  region  = data.aws_region.current.name
  environment = {
    GSLBDNS_LISTEN_ARGS = "--listen 0.0.0.0:${local.listen_port}"
    GSLBDNS_CONSUL_ARGS = join(" ", [for url in var.consul_addresses : "--consul ${url}"])
  }
  credentials = {
    "consul-token" = var.consul_token_parameter
    "api-tokens"   = var.api_tokens_parameter
  }
  artifact_url       = var.artifact_url
  zones_artifact_url = var.zones_artifact_url
  consul_ca_cert_pem = var.consul_ca_cert_pem
}

resource "aws_instance" "api" {
  count                  = var.instance_count
  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids = [aws_security_group.api.id]
  iam_instance_profile   = module.role.instance_profile_name
  user_data              = module.bootstrap.user_data

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_size = 20
  }

  tags = merge(var.tags, { Name = "${var.name}-api-${count.index + 1}", Role = "api" })
}

resource "aws_lb" "api" {
  name               = "${var.name}-api"
  internal           = true
  load_balancer_type = "application"
  security_groups    = [aws_security_group.lb.id]
  subnets            = var.subnet_ids
  drop_invalid_header_fields = true
  tags               = var.tags
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
  count            = var.instance_count
  target_group_arn = aws_lb_target_group.api.arn
  target_id        = aws_instance.api[count.index].id
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
