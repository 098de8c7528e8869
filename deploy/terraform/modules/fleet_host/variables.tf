variable "name" {
  description = "Name of the fleet's security group and instance role, e.g. gslbdns-prod-eu-west-1-dns (IAM names are global: make it unique per account)."
  type        = string
}

variable "host_name_prefix" {
  description = "Instances are tagged Name = <host_name_prefix>-<host key>."
  type        = string
}

variable "role" {
  description = "Role tag of the instances: dns-server, prober, api, consul-server."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "hosts" {
  description = "The instances, by a key that names them: the subnet, optionally a fixed private address, lines of the unit's environment file of this host alone, or (fleets without service) the whole user data."
  type = map(object({
    subnet_id   = string
    private_ip  = optional(string)
    environment = optional(map(string), {})
    user_data   = optional(string)
  }))
}

variable "instance_type" {
  type = string
}

variable "ami_id" {
  description = "Debian 12 AMI; empty: the newest official one."
  type        = string
  default     = ""
}

variable "public_ip" {
  description = "Give each instance an outbound public address (probers probe over the internet); else the subnet's default."
  type        = bool
  default     = false
}

variable "security_group_description" {
  type = string
}

variable "ingress" {
  description = "Ingress rules of the hosts' security group: a unique key, the port (range), and one source: a private IPv4 range, another security group, or the group itself (from_own_group)."
  type = list(object({
    key                      = string
    description              = string
    protocol                 = string
    from_port                = number
    to_port                  = optional(number)
    cidr_ipv4                = optional(string)
    source_security_group_id = optional(string)
    from_own_group           = optional(bool, false)
  }))
  default = []

  validation {
    condition     = alltrue([for rule in var.ingress : length(compact([rule.cidr_ipv4, rule.source_security_group_id, rule.from_own_group ? "self" : null])) == 1])
    error_message = "Each ingress rule needs exactly one source: cidr_ipv4, source_security_group_id or from_own_group."
  }

  validation {
    condition     = alltrue([for rule in var.ingress : !contains(["0.0.0.0/0", "::/0"], coalesce(rule.cidr_ipv4, "private"))])
    error_message = "ingress is for private sources: the only public ingress (DNS on 53) is declared in modules/dns_server."
  }
}

variable "egress_description" {
  description = "What the hosts reach out to (all egress is allowed)."
  type        = string
}

variable "secret_parameters" {
  description = "SSM SecureString parameters (in the hosts' region) the instance role may read, by name. With a service, each is also fetched at boot into the unit's credential file of that name (LoadCredential=)."
  type        = map(string)
}

variable "service" {
  description = "The unit from deploy/systemd that host_bootstrap installs and starts (gslbdns, gslbdns-prober, gslbdns-api); empty: every host brings its own user_data."
  type        = string
  default     = ""
}

variable "environment" {
  description = "Lines of the unit's environment file every host of the fleet gets (a host's own environment adds to them)."
  type        = map(string)
  default     = {}
}

variable "common" {
  description = "What every GslbDns host shares: the build, the zones, the artifact bucket, the Consul servers and their CA. Null for fleets without service."
  type = object({
    artifact_url        = string
    zones_artifact_url  = string
    artifact_bucket_arn = optional(string, "")
    consul_addresses    = list(string)
    consul_ca_cert_pem  = string
  })
  default = null
}

variable "tags" {
  type    = map(string)
  default = {}
}
