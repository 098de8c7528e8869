# The shape every GslbDns host fleet shares, once: the machine image, the instance role (its own SSM
# secrets, the artifacts, Session Manager instead of SSH), one security group with the ingress the
# caller lists and all egress, and one instance per host that boots its unit through host_bootstrap
# (or the caller's own user data: Consul). The role modules add only what is theirs: the DNS servers'
# public port 53 and Elastic IPs, the API's load balancer, the Consul servers' configuration.
data "aws_region" "current" {}

module "image" {
  source    = "../debian_image"
  pinned_id = var.ami_id
}

module "role" {
  source              = "../instance_role"
  name                = var.name
  secret_parameters   = values(var.secret_parameters)
  artifact_bucket_arn = var.common == null ? "" : var.common.artifact_bucket_arn
  tags                = var.tags
}

resource "aws_security_group" "this" {
  name        = var.name
  description = var.security_group_description
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = var.name })
}

# Private sources only (the variable's validation refuses 0.0.0.0/0 and ::/0): the one public ingress,
# DNS on 53, is declared apart in modules/dns_server, where a reviewer looks for it.
resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each                     = { for rule in var.ingress : rule.key => rule }
  security_group_id            = aws_security_group.this.id
  description                  = each.value.description
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.from_port
  to_port                      = coalesce(each.value.to_port, each.value.from_port)
  cidr_ipv4                    = each.value.cidr_ipv4
  referenced_security_group_id = each.value.from_own_group ? aws_security_group.this.id : each.value.source_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.this.id
  description       = var.egress_description
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

module "bootstrap" {
  source   = "../host_bootstrap"
  for_each = var.service == "" ? {} : var.hosts

  service            = var.service
  region             = data.aws_region.current.name
  environment        = merge(var.environment, each.value.environment)
  credentials        = var.secret_parameters
  artifact_url       = var.common.artifact_url
  zones_artifact_url = var.common.zones_artifact_url
  consul_ca_cert_pem = var.common.consul_ca_cert_pem
}

locals {
  # A host boots its unit through host_bootstrap when the fleet has a service, else the user data it brings.
  user_data = merge(
    { for key, host in var.hosts : key => host.user_data if host.user_data != null },
    { for key, boot in module.bootstrap : key => boot.user_data },
  )
}

resource "aws_instance" "this" {
  for_each                    = var.hosts
  ami                         = module.image.id
  instance_type               = var.instance_type
  subnet_id                   = each.value.subnet_id
  private_ip                  = each.value.private_ip
  associate_public_ip_address = var.public_ip ? true : null
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = module.role.instance_profile_name
  user_data                   = lookup(local.user_data, each.key, null)
  # A new build or new zones roll out by running the install script again (README), not by replacing
  # the instance: a Consul server keeps its Raft membership, a name server its address.
  user_data_replace_on_change = false

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted   = true
    volume_size = 20
  }

  tags = merge(var.tags, { Name = "${var.host_name_prefix}-${each.key}", Role = var.role })

  lifecycle {
    precondition {
      condition     = contains(keys(local.user_data), each.key)
      error_message = "Host ${each.key} has no user data: give the fleet a service (and common), or the host its user_data."
    }
  }
}
