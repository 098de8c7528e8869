variable "name" {
  description = "Prefix of resource names, e.g. gslbdns-prod-ap-southeast-1."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Public subnets (outbound-only public address: probes go to the endpoints over the internet)."
  type        = list(string)
}

variable "region_name" {
  description = "The GSLB config's prober region these probers probe from (a \"regions\" entry), e.g. ap."
  type        = string
}

variable "probers" {
  description = "Probers in this cloud region: unique id, subnet index, and where they probe from."
  type = list(object({
    id           = string
    subnet_index = number
    lat          = number
    lon          = number
  }))
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "ami_id" {
  type    = string
  default = ""
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
  type = list(string)
}

variable "consul_ca_cert_pem" {
  type = string
}

variable "consul_token_parameter" {
  description = "SSM SecureString with the probers' Consul ACL token (sessions, write on gslbdns/probers/)."
  type        = string
}

variable "metrics_cidrs" {
  type    = list(string)
  default = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
