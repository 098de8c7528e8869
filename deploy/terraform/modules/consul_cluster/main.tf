# Three Consul servers (Raft quorum of two) in private subnets of the hub region: TLS on every
# connection (RPC verified both ways, HTTPS API on 8501, plain HTTP off), gossip encryption, ACLs with
# default deny. The fleet talks to the HTTPS API over the peered networks; no Consul port is public.
data "aws_region" "current" {}

locals {
  servers = {
    for i, ip in var.server_ips : "consul-${i + 1}" => {
      subnet_id  = var.subnet_ids[i % length(var.subnet_ids)]
      private_ip = ip
      user_data = templatefile("${path.module}/consul-server.sh.tftpl", {
        datacenter           = var.datacenter
        node_name            = "${var.name}-consul-${i + 1}"
        bind_ip              = ip
        retry_join           = jsonencode(var.server_ips)
        ca_cert_pem          = var.ca_cert_pem
        server_cert_pem      = var.server_cert_pem
        server_key_parameter = var.server_key_parameter
        gossip_key_parameter = var.gossip_key_parameter
        consul_version       = var.consul_version
        region               = data.aws_region.current.name
      })
    }
  }
}

module "servers" {
  source                     = "../fleet_host"
  name                       = "${var.name}-consul"
  host_name_prefix           = var.name
  role                       = "consul-server"
  vpc_id                     = var.vpc_id
  hosts                      = local.servers
  instance_type              = var.instance_type
  ami_id                     = var.ami_id
  security_group_description = "Consul servers: RPC and gossip among themselves, HTTPS API for the fleet; nothing public"
  ingress = concat(
    [
      { key = "rpc-and-gossip-tcp", description = "server RPC 8300, LAN gossip 8301, WAN gossip 8302 (tcp), servers only", protocol = "tcp", from_port = 8300, to_port = 8302, from_own_group = true },
      { key = "gossip-udp", description = "gossip 8301-8302 (udp), servers only", protocol = "udp", from_port = 8301, to_port = 8302, from_own_group = true },
    ],
    [
      for cidr in var.client_cidrs :
      { key = "https-api-${cidr}", description = "HTTPS API (ACL token required) from the fleet's private networks", protocol = "tcp", from_port = 8501, cidr_ipv4 = cidr }
    ],
  )
  egress_description = "packages, SSM, peers"
  # Read by the servers' own boot script (consul-server.sh.tftpl), not by a GslbDns unit.
  secret_parameters = {
    "server-key" = var.server_key_parameter
    "gossip-key" = var.gossip_key_parameter
  }
  tags = var.tags
}
