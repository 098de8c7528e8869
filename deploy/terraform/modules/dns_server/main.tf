# Authoritative name servers of one region: each with an Elastic IP (a stable address for the glue
# records at the registrar), answering 53/udp and 53/tcp to the world and nothing else. The server
# runs as gslbdns.service from deploy/systemd (own user, CAP_NET_BIND_SERVICE only).
data "aws_region" "current" {}

module "image" {
  source    = "../debian_image"
  pinned_id = var.ami_id
}

locals {
  ami_id  = module.image.id
  servers = { for s in var.servers : s.name => s }
}

module "role" {
  source                = "../instance_role"
  name                  = "${var.name}-dns"
  secret_parameters     = [var.consul_token_parameter]
  artifact_bucket_arn   = var.artifact_bucket_arn
  tags                  = var.tags
}

resource "aws_security_group" "dns" {
  name        = "${var.name}-dns"
  description = "Authoritative DNS: 53/udp and 53/tcp from anywhere, metrics from the monitoring networks"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dns" })
}

resource "aws_vpc_security_group_ingress_rule" "dns" {
  for_each = {
    "udp-ipv4" = { protocol = "udp", cidr_ipv4 = "0.0.0.0/0", cidr_ipv6 = null }
    "tcp-ipv4" = { protocol = "tcp", cidr_ipv4 = "0.0.0.0/0", cidr_ipv6 = null }
    "udp-ipv6" = { protocol = "udp", cidr_ipv4 = null, cidr_ipv6 = "::/0" }
    "tcp-ipv6" = { protocol = "tcp", cidr_ipv4 = null, cidr_ipv6 = "::/0" }
  }
  security_group_id = aws_security_group.dns.id
  description       = "DNS ${each.key}"
  ip_protocol       = each.value.protocol
  from_port         = 53
  to_port           = 53
  cidr_ipv4         = each.value.cidr_ipv4
  cidr_ipv6         = each.value.cidr_ipv6
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  for_each          = toset(var.metrics_cidrs)
  security_group_id = aws_security_group.dns.id
  description       = "Prometheus /metrics"
  ip_protocol       = "tcp"
  from_port         = 9153
  to_port           = 9153
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.dns.id
  description       = "Consul over the peering, artifacts, SSM"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

module "bootstrap" {
  source   = "../host_bootstrap"
  for_each = local.servers

  service = "gslbdns"
  region  = data.aws_region.current.name
  environment = {
    GSLBDNS_DNS_ARGS     = "--dns 0.0.0.0:53"
    GSLBDNS_BACKEND_ARGS = join(" ", [for url in var.consul_addresses : "--consul ${url}"])
    GSLBDNS_METRICS      = "0.0.0.0:9153"
    GSLBDNS_NSID         = "${each.key}.${var.ns_domain}"
  }
  credentials        = { "consul-token" = var.consul_token_parameter }
  artifact_url       = var.artifact_url
  zones_artifact_url = var.zones_artifact_url
  consul_ca_cert_pem = var.consul_ca_cert_pem
}

resource "aws_instance" "dns" {
  for_each               = local.servers
  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_ids[each.value.subnet_index]
  vpc_security_group_ids = [aws_security_group.dns.id]
  iam_instance_profile   = module.role.instance_profile_name
  user_data              = module.bootstrap[each.key].user_data

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_size = 20
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", Role = "dns-server" })
}

# Allocated apart from the instance, so replacing the instance keeps the address the registrar has.
resource "aws_eip" "dns" {
  for_each = local.servers
  domain   = "vpc"
  tags     = merge(var.tags, { Name = "${each.key}.${var.ns_domain}" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_eip_association" "dns" {
  for_each      = local.servers
  allocation_id = aws_eip.dns[each.key].id
  instance_id   = aws_instance.dns[each.key].id
}
