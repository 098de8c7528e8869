output "prober_ids" {
  value = keys(aws_instance.prober)
}

output "private_ips" {
  value = { for id, instance in aws_instance.prober : id => instance.private_ip }
}
