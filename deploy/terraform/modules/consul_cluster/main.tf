# Three Consul servers (Raft quorum of two) in private subnets of the hub region: TLS on every
# connection (RPC verified both ways, HTTPS API on 8501, plain HTTP off), gossip encryption, ACLs with
# default deny. The fleet talks to the HTTPS API over the peered networks; no Consul port is public.
data "aws_region" "current" {}

module "image" {
  source    = "../debian_image"
  pinned_id = var.ami_id
}

locals {
  ami_id         = module.image.id
}

module "role" {
  source                = "../instance_role"
  name                  = "${var.name}-consul-${data.aws_region.current.name}"
  secret_parameters     = [var.server_key_parameter, var.gossip_key_parameter]
  tags                  = var.tags
}

resource "aws_security_group" "consul" {
  name        = "${var.name}-consul"
  description = "Consul servers: RPC and gossip among themselves, HTTPS API for the fleet; nothing public"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-consul" })
}

resource "aws_vpc_security_group_ingress_rule" "rpc_and_gossip_tcp" {
  security_group_id            = aws_security_group.consul.id
  description                  = "server RPC 8300, LAN gossip 8301, WAN gossip 8302 (tcp), servers only"
  ip_protocol                  = "tcp"
  from_port                    = 8300
  to_port                      = 8302
  referenced_security_group_id = aws_security_group.consul.id
}

resource "aws_vpc_security_group_ingress_rule" "gossip_udp" {
  security_group_id            = aws_security_group.consul.id
  description                  = "gossip 8301-8302 (udp), servers only"
  ip_protocol                  = "udp"
  from_port                    = 8301
  to_port                      = 8302
  referenced_security_group_id = aws_security_group.consul.id
}

resource "aws_vpc_security_group_ingress_rule" "https_api" {
  for_each          = toset(var.client_cidrs)
  security_group_id = aws_security_group.consul.id
  description       = "HTTPS API (ACL token required) from the fleet's private networks"
  ip_protocol       = "tcp"
  from_port         = 8501
  to_port           = 8501
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.consul.id
  description       = "packages, SSM, peers"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "server" {
  count                  = 3
  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_ids[count.index % length(var.subnet_ids)]
  private_ip             = var.server_ips[count.index]
  vpc_security_group_ids = [aws_security_group.consul.id]
  iam_instance_profile   = module.role.instance_profile_name
  user_data = templatefile("${path.module}/consul-server.sh.tftpl", {
    datacenter           = var.datacenter
    node_name            = "${var.name}-consul-${count.index + 1}"
    bind_ip              = var.server_ips[count.index]
    retry_join           = jsonencode(var.server_ips)
    ca_cert_pem          = var.ca_cert_pem
    server_cert_pem      = var.server_cert_pem
    server_key_parameter = var.server_key_parameter
    gossip_key_parameter = var.gossip_key_parameter
    consul_version       = var.consul_version
    region               = data.aws_region.current.name
  })
  user_data_replace_on_change = false

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_size = 20
  }

  tags = merge(var.tags, { Name = "${var.name}-consul-${count.index + 1}", Role = "consul-server" })
}
