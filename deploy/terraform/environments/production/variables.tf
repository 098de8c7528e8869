variable "environment" {
  description = "Name of this deployment, part of every resource name."
  type        = string
  default     = "prod"
}

variable "zones" {
  description = "The zones delegated to the fleet (their files are in the zones artifact)."
  type        = list(string)
}

variable "ns_domain" {
  description = "Domain of the name server host names: ns1.<ns_domain>, ns2.<ns_domain>. Inside a served zone, the registrar needs glue."
  type        = string
}

variable "dns_servers_eu_west_1" {
  description = "Name servers in eu-west-1: host label and public subnet index."
  type = list(object({
    name         = string
    subnet_index = number
  }))
  default = [{ name = "ns1", subnet_index = 0 }]
}

variable "dns_servers_us_east_1" {
  description = "Name servers in us-east-1."
  type = list(object({
    name         = string
    subnet_index = number
  }))
  default = [{ name = "ns2", subnet_index = 0 }]
}

variable "probers_eu_west_1" {
  type = list(object({
    id           = string
    subnet_index = number
    lat          = number
    lon          = number
  }))
  default = [{ id = "dub-1", subnet_index = 0, lat = 53.35, lon = -6.26 }]
}

variable "probers_us_east_1" {
  type = list(object({
    id           = string
    subnet_index = number
    lat          = number
    lon          = number
  }))
  default = [{ id = "iad-1", subnet_index = 0, lat = 38.95, lon = -77.45 }]
}

variable "probers_ap_southeast_1" {
  type = list(object({
    id           = string
    subnet_index = number
    lat          = number
    lon          = number
  }))
  default = [{ id = "sin-1", subnet_index = 0, lat = 1.35, lon = 103.82 }]
}

variable "prober_regions" {
  description = "GSLB config region name (its \"regions\") of each cloud region's probers."
  type = object({
    eu_west_1      = string
    us_east_1      = string
    ap_southeast_1 = string
  })
  default = {
    eu_west_1      = "eu"
    us_east_1      = "us"
    ap_southeast_1 = "ap"
  }
}

variable "dns_instance_type" {
  type    = string
  default = "c6i.large"
}

variable "prober_instance_type" {
  type    = string
  default = "t3.small"
}

variable "consul_instance_type" {
  type    = string
  default = "t3.small"
}

variable "api_instance_type" {
  type    = string
  default = "t3.small"
}

variable "artifact_url" {
  description = "deploy/publish.sh's tarball, s3://... or https://..."
  type        = string
}

variable "zones_artifact_url" {
  description = "Tarball of the zone folder (*.zone, *.gslb.json)."
  type        = string
}

variable "artifact_bucket_arn" {
  description = "Bucket of the s3:// artifacts (instances get s3:GetObject on it); empty for https URLs."
  type        = string
  default     = ""
}

variable "consul_ca_cert_pem" {
  type = string
}

variable "consul_server_cert_pem" {
  type = string
}

variable "consul_server_key_parameter" {
  description = "SSM SecureString (in eu-west-1) with the Consul servers' private key."
  type        = string
}

variable "consul_gossip_key_parameter" {
  description = "SSM SecureString (in eu-west-1) with the gossip encryption key."
  type        = string
}

variable "consul_token_parameters" {
  description = "SSM SecureString names of each role's Consul ACL token, created after the ACL bootstrap (README), in every region that runs the role."
  type = object({
    dns    = string
    prober = string
    api    = string
  })
}

variable "api_tokens_parameter" {
  description = "SSM SecureString (eu-west-1) with the API's bearer tokens file."
  type        = string
}

variable "api_certificate_arn" {
  description = "ACM certificate (eu-west-1) for the API's host name."
  type        = string
}

variable "operator_cidrs" {
  description = "Private networks allowed to reach the API."
  type        = list(string)
}

variable "metrics_cidrs" {
  description = "Private networks of Prometheus."
  type        = list(string)
  default     = []
}
