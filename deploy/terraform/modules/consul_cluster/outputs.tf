output "https_addresses" {
  description = "The servers' HTTPS API URLs, for the fleet's --consul options (one per server: fallbacks)."
  value       = [for ip in var.server_ips : "https://${ip}:8501"]
}

output "server_ips" {
  value = values(module.servers.private_ips)
}

output "security_group_id" {
  value = module.servers.security_group_id
}

output "datacenter" {
  value = var.datacenter
}
