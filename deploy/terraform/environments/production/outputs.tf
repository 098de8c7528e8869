locals {
  name_servers = merge(module.dns_eu_west_1.name_servers, module.dns_us_east_1.name_servers)
  # Glue is needed only for name server hosts inside a delegated zone (ns1.example.com for example.com).
  glue = {
    for host, ip in local.name_servers : host => ip
    if anytrue([for zone in var.zones : endswith(host, ".${zone}")])
  }
}

output "registrar" {
  description = "What to enter at the registrar / parent zone: NS host names per zone and the glue addresses (README.md, Delegation)."
  value = {
    ns_names   = sort(keys(local.name_servers))
    glue       = local.glue
    delegation = { for zone in var.zones : zone => sort(keys(local.name_servers)) }
  }
}

output "name_server_addresses" {
  description = "Every name server host and its Elastic IP, for the NS host A records in the served zone."
  value       = local.name_servers
}

output "consul_https_addresses" {
  value = module.consul.https_addresses
}

output "api_load_balancer" {
  description = "Internal DNS name of the API's load balancer (CNAME the certificate's host name to it)."
  value       = module.api.load_balancer_dns_name
}

output "prober_ids" {
  value = concat(module.probers_eu_west_1.prober_ids, module.probers_us_east_1.prober_ids, module.probers_ap_southeast_1.prober_ids)
}
