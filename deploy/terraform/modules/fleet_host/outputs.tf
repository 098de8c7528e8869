output "instance_ids" {
  description = "Host key to instance id."
  value       = { for key, instance in aws_instance.this : key => instance.id }
}

output "private_ips" {
  description = "Host key to private address."
  value       = { for key, instance in aws_instance.this : key => instance.private_ip }
}

output "security_group_id" {
  description = "The hosts' security group, for rules the role adds itself (the DNS servers' public port 53)."
  value       = aws_security_group.this.id
}
