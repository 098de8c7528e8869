variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two availability zones (load balancer and instances)."
  type        = list(string)
}

variable "instance_count" {
  type    = number
  default = 2
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "ami_id" {
  type    = string
  default = ""
}

variable "certificate_arn" {
  description = "ACM certificate for the API's host name (DNS-validated public certificate; works on an internal load balancer)."
  type        = string
}

variable "operator_cidrs" {
  description = "Private networks (VPN, bastion, CI runners) allowed to reach the API on 443. Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = !contains(var.operator_cidrs, "0.0.0.0/0")
    error_message = "The API stays private: operator_cidrs must not contain 0.0.0.0/0."
  }
}

variable "common" {
  description = "modules/fleet_host's common (build, zones, artifact bucket, Consul servers and CA), checked there."
  type        = any
}

variable "consul_token_parameter" {
  description = "SSM SecureString with the API's Consul ACL token (write on gslbdns/state/, gslbdns/audit/ and gslbdns/locks/; session write)."
  type        = string
}

variable "api_tokens_parameter" {
  description = "SSM SecureString with the API's bearer tokens file (\"role token [name]\" per line)."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}
