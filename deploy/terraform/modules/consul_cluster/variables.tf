variable "name" {
  description = "Prefix of resource names."
  type        = string
}

variable "datacenter" {
  description = "Consul datacenter name; the servers' certificate must be for server.<datacenter>.consul."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets, one per availability zone; server i goes to subnet i mod length."
  type        = list(string)
}

variable "server_ips" {
  description = "Fixed private addresses of the three servers (inside the subnets, in order): the fleet's --consul URLs and the certificate's IP SANs."
  type        = list(string)

  validation {
    condition     = length(var.server_ips) == 3
    error_message = "Raft needs an odd quorum: exactly three servers (survives one loss)."
  }
}

variable "client_cidrs" {
  description = "Networks whose hosts (DNS servers, probers, API) may call the HTTPS API on 8501, e.g. every region's VPC."
  type        = list(string)
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "ami_id" {
  description = "Debian 12 AMI for the region; empty: the newest official one."
  type        = string
  default     = ""
}

variable "ca_cert_pem" {
  description = "PEM of the CA for Consul's TLS (consul tls ca create). Public."
  type        = string
}

variable "server_cert_pem" {
  description = "PEM of the servers' certificate (consul tls cert create -server -dc DATACENTER -additional-ipaddress ...), valid for server.<datacenter>.consul and every server_ips entry. Public."
  type        = string
}

variable "server_key_parameter" {
  description = "SSM SecureString parameter holding the servers' private key PEM."
  type        = string
}

variable "gossip_key_parameter" {
  description = "SSM SecureString parameter holding the gossip encryption key (consul keygen)."
  type        = string
}

variable "consul_version" {
  description = "Version of the consul package from HashiCorp's Debian repository, e.g. 1.19.2."
  type        = string
  default     = "1.19.2"
}

variable "tags" {
  type    = map(string)
  default = {}
}
