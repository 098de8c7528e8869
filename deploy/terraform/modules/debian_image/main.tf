# The machine image every GslbDns host boots: the newest official Debian 12 image of the region,
# unless the caller pins one (pin in production, so a new image is a reviewed change).
variable "pinned_id" {
  description = "An image id to use instead of the newest; empty: the newest."
  type        = string
  default     = ""
}

data "aws_ami" "debian" {
  count       = var.pinned_id == "" ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian's official cloud account

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

output "id" {
  value = var.pinned_id != "" ? var.pinned_id : data.aws_ami.debian[0].id
}
