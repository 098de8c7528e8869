variable "region" {
  description = "This region's part: prefix of resource names (gslbdns-prod-eu-west-1), the network, its public subnets, and the name servers here: host label (ns1 -> ns1.<ns_domain>) and subnet index."
  type = object({
    name       = string
    vpc_id     = string
    subnet_ids = list(string)
    servers    = list(object({ name = string, subnet_index = number }))
  })
}

variable "fleet" {
  description = "What the name servers of every region share. common: modules/fleet_host's (build, zones, Consul), checked there."
  type = object({
    ns_domain              = string # ns1 + example.com gives ns1.example.com
    consul_token_parameter = string # SSM SecureString with this role's Consul ACL token (read on gslbdns/)
    instance_type          = optional(string, "c6i.large")
    ami_id                 = optional(string, "")
    metrics_cidrs          = optional(list(string), []) # private networks whose Prometheus may scrape :9153
    common                 = any
  })
}
