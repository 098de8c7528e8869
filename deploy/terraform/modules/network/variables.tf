variable "name" {
  description = "Prefix of every resource name, e.g. gslbdns-prod-eu-west-1."
  type        = string
}

variable "cidr_block" {
  description = "The network's address range; must not overlap any other region's, they are peered."
  type        = string
}

variable "az_count" {
  description = "Availability zones to spread subnets over (3 where the Consul servers run)."
  type        = number
  default     = 2
}

variable "nat_gateway" {
  description = "Give private subnets outbound internet (package installs) through one NAT gateway."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
