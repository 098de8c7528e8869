output "prober_ids" {
  value = keys(module.host.instance_ids)
}

output "private_ips" {
  value = module.host.private_ips
}
