# Authoritative name servers of one region: each with an Elastic IP (a stable address for the glue
# records at the registrar), answering 53/udp and 53/tcp to the world and nothing else. The server
# runs as gslbdns.service from deploy/systemd (own user, CAP_NET_BIND_SERVICE only).
locals {
  servers = { for s in var.region.servers : s.name => s }
}

module "host" {
  source           = "../fleet_host"
  name             = "${var.region.name}-dns"
  host_name_prefix = var.region.name
  role             = "dns-server"
  vpc_id           = var.region.vpc_id
  hosts = {
    for name, s in local.servers : name => {
      subnet_id   = var.region.subnet_ids[s.subnet_index]
      environment = { GSLBDNS_NSID = "${name}.${var.fleet.ns_domain}" }
    }
  }
  instance_type              = var.fleet.instance_type
  ami_id                     = var.fleet.ami_id
  security_group_description = "Authoritative DNS: 53/udp and 53/tcp from anywhere, metrics from the monitoring networks"
  ingress = [
    for cidr in var.fleet.metrics_cidrs :
    { key = "metrics-${cidr}", description = "Prometheus /metrics", protocol = "tcp", from_port = 9153, cidr_ipv4 = cidr }
  ]
  egress_description = "Consul over the peering, artifacts, SSM"
  secret_parameters  = { "consul-token" = var.fleet.consul_token_parameter }
  service            = "gslbdns"
  environment = {
    GSLBDNS_DNS_ARGS     = "--dns 0.0.0.0:53"
    GSLBDNS_BACKEND_ARGS = join(" ", concat([for url in var.fleet.common.consul_addresses : "--consul ${url}"], ["--consul-ca-file /etc/gslbdns/consul-ca.pem"]))
    GSLBDNS_METRICS      = "0.0.0.0:9153"
  }
  common = var.fleet.common
}

# The only ingress open to the world in the whole fleet, so it stands here rather than in fleet_host's list.
resource "aws_vpc_security_group_ingress_rule" "dns" {
  for_each = {
    "udp-ipv4" = { protocol = "udp", cidr_ipv4 = "0.0.0.0/0", cidr_ipv6 = null }
    "tcp-ipv4" = { protocol = "tcp", cidr_ipv4 = "0.0.0.0/0", cidr_ipv6 = null }
    "udp-ipv6" = { protocol = "udp", cidr_ipv4 = null, cidr_ipv6 = "::/0" }
    "tcp-ipv6" = { protocol = "tcp", cidr_ipv4 = null, cidr_ipv6 = "::/0" }
  }
  security_group_id = module.host.security_group_id
  description       = "DNS ${each.key}"
  ip_protocol       = each.value.protocol
  from_port         = 53
  to_port           = 53
  cidr_ipv4         = each.value.cidr_ipv4
  cidr_ipv6         = each.value.cidr_ipv6
}

# Allocated apart from the instance, so replacing the instance keeps the address the registrar has.
resource "aws_eip" "dns" {
  for_each = local.servers
  domain   = "vpc"
  tags     = { Name = "${each.key}.${var.fleet.ns_domain}" }

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_eip_association" "dns" {
  for_each      = local.servers
  allocation_id = aws_eip.dns[each.key].id
  instance_id   = module.host.instance_ids[each.key]
}
