# Cloud-init for a GslbDns host: write the Consul CA (the programs trust only it for Consul: --consul-ca-file), write the unit's environment file, then run the
# install script (fetch the published build and the zones, check the zones, fetch the credentials,
# install and start the unit). Built with yamlencode so no indentation can break the document.
locals {
  env_file = {
    "gslbdns"        = "gslbdns.env"
    "gslbdns-prober" = "prober.env"
    "gslbdns-api"    = "api.env"
  }[var.service]

  env_text = join("", [for key in sort(keys(var.environment)) : "${key}=\"${var.environment[key]}\"\n"])

  install_script = templatefile("${path.module}/install.sh.tftpl", {
    service            = var.service
    region             = var.region
    artifact_url       = var.artifact_url
    zones_artifact_url = var.zones_artifact_url
    credentials        = var.credentials
  })

  cloud_config = {
    package_update = true
    packages       = ["awscli", "ca-certificates", "curl"]
    write_files = [
      {
        path        = "/etc/gslbdns/consul-ca.pem"
        permissions = "0644"
        content     = var.consul_ca_cert_pem
      },
      {
        path        = "/etc/gslbdns/${local.env_file}"
        permissions = "0644"
        content     = local.env_text
      },
      {
        path        = "/usr/local/sbin/gslbdns-install"
        permissions = "0755"
        content     = local.install_script
      },
    ]
    runcmd = [["/usr/local/sbin/gslbdns-install"]]
  }
}
