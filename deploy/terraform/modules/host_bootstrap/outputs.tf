output "user_data" {
  description = "The #cloud-config document for the instance."
  value       = "#cloud-config\n${yamlencode(local.cloud_config)}"
}

output "install_script" {
  description = "The install script alone (also run by hand to upgrade: it is idempotent)."
  value       = local.install_script
}
