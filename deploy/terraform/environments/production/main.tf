# The production fleet: authoritative DNS in eu-west-1 and us-east-1 (Elastic IPs for glue), probers in
# eu-west-1, us-east-1 and ap-southeast-1, the Consul cluster and the API in the hub eu-west-1. Spoke
# networks are peered to the hub; Consul and the API are reached only over those private paths.
locals {
  name = "gslbdns-${var.environment}"
  tags = { Project = "gslbdns", Environment = var.environment }
  cidrs = {
    eu_west_1      = "10.40.0.0/16"
    us_east_1      = "10.41.0.0/16"
    ap_southeast_1 = "10.42.0.0/16"
  }
  consul_server_ips = [for cidr in module.network_eu_west_1.private_subnet_cidrs : cidrhost(cidr, 10)]

  # Each region's public subnets, where its name servers and probers run. Terraform cannot choose a
  # provider per for_each key, so each region keeps its own module blocks; what differs per region
  # comes from these maps, one input line per block.
  public_sites = {
    eu_west_1      = { name = "${local.name}-eu-west-1", vpc_id = module.network_eu_west_1.vpc_id, subnet_ids = module.network_eu_west_1.public_subnet_ids }
    us_east_1      = { name = "${local.name}-us-east-1", vpc_id = module.network_us_east_1.vpc_id, subnet_ids = module.network_us_east_1.public_subnet_ids }
    ap_southeast_1 = { name = "${local.name}-ap-southeast-1", vpc_id = module.network_ap_southeast_1.vpc_id, subnet_ids = module.network_ap_southeast_1.public_subnet_ids }
  }
  dns_servers = {
    eu_west_1 = var.dns_servers_eu_west_1
    us_east_1 = var.dns_servers_us_east_1
  }
  probers = {
    eu_west_1      = var.probers_eu_west_1
    us_east_1      = var.probers_us_east_1
    ap_southeast_1 = var.probers_ap_southeast_1
  }
  dns_regions    = { for key, servers in local.dns_servers : key => merge(local.public_sites[key], { servers = servers }) }
  prober_regions = { for key, probers in local.probers : key => merge(local.public_sites[key], { probers = probers, region_name = var.prober_regions[key] }) }

  # What every GslbDns host (DNS, prober, API) shares, in every region.
  common = {
    artifact_url        = var.artifact_url
    zones_artifact_url  = var.zones_artifact_url
    artifact_bucket_arn = var.artifact_bucket_arn
    consul_addresses    = module.consul.https_addresses
    consul_ca_cert_pem  = var.consul_ca_cert_pem
  }
  dns_fleet = {
    ns_domain              = var.ns_domain
    consul_token_parameter = var.consul_token_parameters.dns
    instance_type          = var.dns_instance_type
    metrics_cidrs          = var.metrics_cidrs
    common                 = local.common
  }
  prober_fleet = {
    consul_token_parameter = var.consul_token_parameters.prober
    instance_type          = var.prober_instance_type
    metrics_cidrs          = var.metrics_cidrs
    common                 = local.common
  }
}

module "network_eu_west_1" {
  source      = "../../modules/network"
  providers   = { aws = aws.eu_west_1 }
  name        = "${local.name}-eu-west-1"
  cidr_block  = local.cidrs.eu_west_1
  az_count    = 3
  nat_gateway = true
}

module "network_us_east_1" {
  source     = "../../modules/network"
  providers  = { aws = aws.us_east_1 }
  name       = "${local.name}-us-east-1"
  cidr_block = local.cidrs.us_east_1
}

module "network_ap_southeast_1" {
  source     = "../../modules/network"
  providers  = { aws = aws.ap_southeast_1 }
  name       = "${local.name}-ap-southeast-1"
  cidr_block = local.cidrs.ap_southeast_1
}

module "peering_us_east_1" {
  source = "../../modules/network_peering"
  providers = {
    aws.requester = aws.us_east_1
    aws.accepter  = aws.eu_west_1
  }
  name                      = "${local.name}-us-east-1-to-hub"
  requester_vpc_id          = module.network_us_east_1.vpc_id
  requester_cidr            = module.network_us_east_1.cidr_block
  requester_route_table_ids = module.network_us_east_1.route_table_ids
  accepter_vpc_id           = module.network_eu_west_1.vpc_id
  accepter_cidr             = module.network_eu_west_1.cidr_block
  accepter_region           = "eu-west-1"
  accepter_route_table_ids  = module.network_eu_west_1.route_table_ids
}

module "peering_ap_southeast_1" {
  source = "../../modules/network_peering"
  providers = {
    aws.requester = aws.ap_southeast_1
    aws.accepter  = aws.eu_west_1
  }
  name                      = "${local.name}-ap-southeast-1-to-hub"
  requester_vpc_id          = module.network_ap_southeast_1.vpc_id
  requester_cidr            = module.network_ap_southeast_1.cidr_block
  requester_route_table_ids = module.network_ap_southeast_1.route_table_ids
  accepter_vpc_id           = module.network_eu_west_1.vpc_id
  accepter_cidr             = module.network_eu_west_1.cidr_block
  accepter_region           = "eu-west-1"
  accepter_route_table_ids  = module.network_eu_west_1.route_table_ids
}

module "consul" {
  source               = "../../modules/consul_cluster"
  providers            = { aws = aws.eu_west_1 }
  name                 = local.name
  datacenter           = "${var.environment}-eu-west-1"
  vpc_id               = module.network_eu_west_1.vpc_id
  subnet_ids           = module.network_eu_west_1.private_subnet_ids
  server_ips           = local.consul_server_ips
  client_cidrs         = values(local.cidrs)
  instance_type        = var.consul_instance_type
  ca_cert_pem          = var.consul_ca_cert_pem
  server_cert_pem      = var.consul_server_cert_pem
  server_key_parameter = var.consul_server_key_parameter
  gossip_key_parameter = var.consul_gossip_key_parameter
}

module "dns_eu_west_1" {
  source    = "../../modules/dns_server"
  providers = { aws = aws.eu_west_1 }
  region    = local.dns_regions.eu_west_1
  fleet     = local.dns_fleet
}

module "dns_us_east_1" {
  source    = "../../modules/dns_server"
  providers = { aws = aws.us_east_1 }
  region    = local.dns_regions.us_east_1
  fleet     = local.dns_fleet
}

module "probers_eu_west_1" {
  source    = "../../modules/prober"
  providers = { aws = aws.eu_west_1 }
  region    = local.prober_regions.eu_west_1
  fleet     = local.prober_fleet
}

module "probers_us_east_1" {
  source    = "../../modules/prober"
  providers = { aws = aws.us_east_1 }
  region    = local.prober_regions.us_east_1
  fleet     = local.prober_fleet
}

module "probers_ap_southeast_1" {
  source    = "../../modules/prober"
  providers = { aws = aws.ap_southeast_1 }
  region    = local.prober_regions.ap_southeast_1
  fleet     = local.prober_fleet
}

module "api" {
  source                 = "../../modules/api"
  providers              = { aws = aws.eu_west_1 }
  name                   = local.name
  vpc_id                 = module.network_eu_west_1.vpc_id
  subnet_ids             = module.network_eu_west_1.private_subnet_ids
  instance_type          = var.api_instance_type
  certificate_arn        = var.api_certificate_arn
  operator_cidrs         = var.operator_cidrs
  common                 = local.common
  consul_token_parameter = var.consul_token_parameters.api
  api_tokens_parameter   = var.api_tokens_parameter
}
