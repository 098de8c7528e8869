output "https_addresses" {
  description = "The servers' HTTPS API URLs, for the fleet's --consul options (one per server: fallbacks)."
  value       = [for ip in var.server_ips : "https://${ip}:8501"]
}

output "server_ips" {
  value = aws_instance.server[*].private_ip
}

output "security_group_id" {
  value = aws_security_group.consul.id
}

output "datacenter" {
  value = var.datacenter
}
