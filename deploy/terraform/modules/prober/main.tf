# Probers of one cloud region, each gslbdns-prober.service from deploy/systemd (own user, no
# capabilities). No inbound port but /metrics from the monitoring networks.
data "aws_region" "current" {}

module "image" {
  source    = "../debian_image"
  pinned_id = var.ami_id
}

locals {
  ami_id  = module.image.id
  probers = { for p in var.probers : p.id => p }
}

module "role" {
  source                = "../instance_role"
  name                  = "${var.name}-prober"
  secret_parameters     = [var.consul_token_parameter]
  artifact_bucket_arn   = var.artifact_bucket_arn
  tags                  = var.tags
}

resource "aws_security_group" "prober" {
  name        = "${var.name}-prober"
  description = "Probers: outbound probes and Consul; inbound only metrics from the monitoring networks"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-prober" })
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  for_each          = toset(var.metrics_cidrs)
  security_group_id = aws_security_group.prober.id
  description       = "Prometheus /metrics"
  ip_protocol       = "tcp"
  from_port         = 9154
  to_port           = 9154
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.prober.id
  description       = "probes to the endpoints, Consul over the peering, artifacts, SSM"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

module "bootstrap" {
  source   = "../host_bootstrap"
  for_each = local.probers

  service = "gslbdns-prober"
  region  = data.aws_region.current.name
  environment = {
    PROBER_ID           = each.key
    PROBER_REGION       = var.region_name
    PROBER_LAT          = tostring(each.value.lat)
    PROBER_LON          = tostring(each.value.lon)
    GSLBDNS_CONSUL_ARGS = join(" ", [for url in var.consul_addresses : "--consul ${url}"])
    GSLBDNS_METRICS     = "0.0.0.0:9154"
  }
  credentials        = { "consul-token" = var.consul_token_parameter }
  artifact_url       = var.artifact_url
  zones_artifact_url = var.zones_artifact_url
  consul_ca_cert_pem = var.consul_ca_cert_pem
}

resource "aws_instance" "prober" {
  for_each                    = local.probers
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[each.value.subnet_index]
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.prober.id]
  iam_instance_profile        = module.role.instance_profile_name
  user_data                   = module.bootstrap[each.key].user_data

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_size = 20
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", Role = "prober" })
}
