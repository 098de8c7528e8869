variable "service" {
  description = "The systemd unit from deploy/systemd to install and start: gslbdns, gslbdns-prober or gslbdns-api."
  type        = string

  validation {
    condition     = contains(["gslbdns", "gslbdns-prober", "gslbdns-api"], var.service)
    error_message = "service must be gslbdns, gslbdns-prober or gslbdns-api."
  }
}

variable "environment" {
  description = "Lines of the unit's environment file (/etc/gslbdns/<unit>.env), name to value. Not secret: user data is readable by anyone who may describe the instance."
  type        = map(string)
}

variable "credentials" {
  description = "Credential files for LoadCredential= (/etc/gslbdns/credentials/NAME, mode 0600), name to the SSM SecureString parameter holding it, fetched at boot with the instance role."
  type        = map(string)
}

variable "artifact_url" {
  description = "The tarball from deploy/publish.sh: s3://bucket/key or https://..."
  type        = string
}

variable "zones_artifact_url" {
  description = "A tarball of the zone folder (*.zone, *.gslb.json): s3://bucket/key or https://..."
  type        = string
}

variable "consul_ca_cert_pem" {
  description = "PEM of the CA that signed the Consul servers' certificates; written to /etc/gslbdns/consul-ca.pem, the only CA the programs trust for Consul's HTTPS (--consul-ca-file)."
  type        = string
}

variable "region" {
  description = "The cloud region the instance runs in (for the CLI that fetches secrets and artifacts)."
  type        = string
}
