variable "region" {
  description = "This cloud region's part: prefix of resource names (gslbdns-prod-ap-southeast-1), the network, its public subnets (outbound-only public address: probes go to the endpoints over the internet), the GSLB config's prober region these probe from (a \"regions\" entry, e.g. ap), and the probers: unique id, subnet index, where they probe from."
  type = object({
    name        = string
    vpc_id      = string
    subnet_ids  = list(string)
    region_name = string
    probers     = list(object({ id = string, subnet_index = number, lat = number, lon = number }))
  })
}

variable "fleet" {
  description = "What the probers of every region share. common: modules/fleet_host's (build, zones, Consul), checked there."
  type = object({
    consul_token_parameter = string # SSM SecureString with the probers' Consul ACL token (sessions, write on gslbdns/probers/)
    instance_type          = optional(string, "t3.small")
    ami_id                 = optional(string, "")
    metrics_cidrs          = optional(list(string), []) # private networks whose Prometheus may scrape :9154
    common                 = any
  })
}
