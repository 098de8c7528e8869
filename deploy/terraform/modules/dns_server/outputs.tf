output "name_servers" {
  description = "Host name to its stable public IPv4 (the glue record)."
  value       = { for name, eip in aws_eip.dns : "${name}.${var.fleet.ns_domain}" => eip.public_ip }
}

output "private_ips" {
  value = module.host.private_ips
}

output "security_group_id" {
  value = module.host.security_group_id
}
