# Probers of one cloud region, each gslbdns-prober.service from deploy/systemd (own user, no
# capabilities). No inbound port but /metrics from the monitoring networks.
module "host" {
  source           = "../fleet_host"
  name             = "${var.region.name}-prober"
  host_name_prefix = var.region.name
  role             = "prober"
  vpc_id           = var.region.vpc_id
  hosts = {
    for p in var.region.probers : p.id => {
      subnet_id   = var.region.subnet_ids[p.subnet_index]
      environment = { PROBER_ID = p.id, PROBER_LAT = tostring(p.lat), PROBER_LON = tostring(p.lon) }
    }
  }
  instance_type              = var.fleet.instance_type
  ami_id                     = var.fleet.ami_id
  public_ip                  = true
  security_group_description = "Probers: outbound probes and Consul; inbound only metrics from the monitoring networks"
  ingress = [
    for cidr in var.fleet.metrics_cidrs :
    { key = "metrics-${cidr}", description = "Prometheus /metrics", protocol = "tcp", from_port = 9154, cidr_ipv4 = cidr }
  ]
  egress_description = "probes to the endpoints, Consul over the peering, artifacts, SSM"
  secret_parameters  = { "consul-token" = var.fleet.consul_token_parameter }
  service            = "gslbdns-prober"
  environment = {
    PROBER_REGION       = var.region.region_name
    GSLBDNS_CONSUL_ARGS = join(" ", concat([for url in var.fleet.common.consul_addresses : "--consul ${url}"], ["--consul-ca-file /etc/gslbdns/consul-ca.pem"]))
    GSLBDNS_METRICS     = "0.0.0.0:9154"
  }
  common = var.fleet.common
}
