variable "name" {
  description = "Prefix of resource names, e.g. gslbdns-prod-eu-west-1."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Public subnets; server i goes to the subnet its subnet_index names."
  type        = list(string)
}

variable "servers" {
  description = "The name servers in this region: host label (ns1 -> ns1.<ns_domain>) and the subnet index."
  type = list(object({
    name         = string
    subnet_index = number
  }))
}

variable "ns_domain" {
  description = "Domain the name server hosts live under, e.g. example.com gives ns1.example.com."
  type        = string
}

variable "instance_type" {
  type    = string
  default = "c6i.large"
}

variable "ami_id" {
  description = "Debian 12 AMI; empty: the newest official one."
  type        = string
  default     = ""
}

variable "artifact_url" {
  type = string
}

variable "zones_artifact_url" {
  type = string
}

variable "artifact_bucket_arn" {
  type    = string
  default = ""
}

variable "consul_addresses" {
  description = "The Consul servers' HTTPS URLs."
  type        = list(string)
}

variable "consul_ca_cert_pem" {
  type = string
}

variable "consul_token_parameter" {
  description = "SSM SecureString with this role's Consul ACL token (read on gslbdns/)."
  type        = string
}

variable "metrics_cidrs" {
  description = "Private networks whose Prometheus may scrape :9153."
  type        = list(string)
  default     = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
