output "load_balancer_dns_name" {
  description = "Point the API's host name (the certificate's) at this with a CNAME in a private zone."
  value       = aws_lb.api.dns_name
}

output "security_group_id" {
  value = module.host.security_group_id
}
