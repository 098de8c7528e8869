variable "name" {
  description = "Role and instance profile name."
  type        = string
}

variable "secret_parameters" {
  description = "Names of the SSM SecureString parameters (in the instances' region) they may read: Consul token, API tokens, TLS key, gossip key."
  type        = list(string)
}

variable "artifact_bucket_arn" {
  description = "S3 bucket holding the published build and zone tarballs; empty when they come from an https URL."
  type        = string
  default     = ""
}

variable "tags" {
  type    = map(string)
  default = {}
}
