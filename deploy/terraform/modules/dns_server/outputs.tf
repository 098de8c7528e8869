output "name_servers" {
  description = "Host name to its stable public IPv4 (the glue record)."
  value       = { for name, eip in aws_eip.dns : "${name}.${var.ns_domain}" => eip.public_ip }
}

output "private_ips" {
  value = { for name, instance in aws_instance.dns : name => instance.private_ip }
}

output "security_group_id" {
  value = aws_security_group.dns.id
}
