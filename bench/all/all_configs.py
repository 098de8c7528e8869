#!/usr/bin/env python3
"""bench/all/all_configs.py: writes the zone and server configs bench/all.sh serves with every server.

One origin (bench.test) holds every workload's name:
  www      static A (two records)              GslbDns, Knot, NSD, gdnsd
  c1       CNAME c2 -> c3 -> www (a chain)     GslbDns, Knot, NSD, gdnsd
  nx*      NXDOMAIN (names not in the zone)    GslbDns, Knot, NSD, gdnsd
  geo      geo-proximity over data centers     GslbDns (healthy -> geo-proximity count 1), gdnsd geoip city-auto-mode,
                                               PowerDNS LUA record (haversine over latlon(), the geoip backend's lookup)
  wrr      weighted, one of four               GslbDns (weighted count 1), gdnsd weighted
  mv       multivalue, all four                GslbDns (multivalue count 8), gdnsd multifo
  fo       failover primary -> secondary       GslbDns (failover by priority), gdnsd simplefo
Data centers come from bench/geo/datacenters.tsv (the geo benchmark's), so gdnsd, PowerDNS and GslbDns share them.
PowerDNS is written twice: pdns (packet cache off, cache-ttl=0: the fair anchor, GslbDns caches no answers) and
pdns-cache (Debian's default packet cache, cache-ttl=20).
"""
import math
import argparse
import json
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "geo"))
from geo_bench import gdnsd_geoip_plugin, gdnsd_options, read_dcs  # noqa: E402

ORIGIN = "bench.test"
STATIC = f"""$TTL 3600
@ 300 IN SOA ns1.{ORIGIN}. hostmaster.{ORIGIN}. 1 3600 900 604800 300
@ IN NS ns1.{ORIGIN}.
@ IN NS ns2.{ORIGIN}.
ns1 IN A 127.0.0.1
ns2 IN A 127.0.0.2
www IN A 192.0.2.10
www IN A 192.0.2.11
c1 IN CNAME c2
c2 IN CNAME c3
c3 IN CNAME www
"""
WRR = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]
MV = ["198.51.100.11", "198.51.100.12", "198.51.100.13", "198.51.100.14"]
FO = ["198.51.100.21", "198.51.100.22"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def ours(work, dcs):
    write(os.path.join(work, "ours", "zones", f"{ORIGIN}.zone"), f"$ORIGIN {ORIGIN}.\n" + STATIC)
    dc0, dc1 = dcs[0]["name"], dcs[1]["name"]
    gslb = OrderedDict()
    gslb["dataCenters"] = OrderedDict((d["name"], OrderedDict(
        [("latitude", d["lat"]), ("longitude", d["lon"]), ("region", d["name"])])) for d in dcs)
    gslb["regions"] = OrderedDict((d["name"], OrderedDict(
        [("latitude", d["lat"]), ("longitude", d["lon"])])) for d in dcs)
    gslb["services"] = OrderedDict([
        ("geo", {"ttl": 30, "policy": [{"type": "healthy"}, {"type": "geo-proximity", "count": 1}],
                 "endpoints": [{"dataCenter": d["name"], "address": d["addr"]} for d in dcs]}),
        ("wrr", {"ttl": 30, "policy": [{"type": "healthy"}, {"type": "weighted", "count": 1}],
                 "endpoints": [{"dataCenter": dc0, "address": a, "weight": 100} for a in WRR]}),
        ("mv", {"ttl": 30, "policy": [{"type": "healthy"}, {"type": "multivalue", "count": 8}],
                "endpoints": [{"dataCenter": dc0, "address": a} for a in MV]}),
        ("fo", {"ttl": 30, "policy": [{"type": "healthy"}, {"type": "failover"}],
                "endpoints": [{"dataCenter": dc0, "address": FO[0], "priority": 0},
                              {"dataCenter": dc1, "address": FO[1], "priority": 1}]}),
    ])
    write(os.path.join(work, "ours", "zones", f"{ORIGIN}.gslb.json"), json.dumps(gslb, indent=2) + "\n")


def knot(work, addr, port):
    k = os.path.join(work, "knot")
    os.makedirs(os.path.join(k, "db"), exist_ok=True)
    write(os.path.join(k, "zones", f"{ORIGIN}.zone"), f"$ORIGIN {ORIGIN}.\n" + STATIC)
    write(os.path.join(k, "knot.conf"), f"""server:
    rundir: "{k}"
    user: root:root
    pidfile: "{k}/knot.pid"
    listen: {addr}@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{k}/knot.sock"
database:
    storage: "{k}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{k}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: {ORIGIN}.
""")


def nsd(work, addr, port):
    n = os.path.join(work, "nsd")
    write(os.path.join(n, "zones", f"{ORIGIN}.zone"), f"$ORIGIN {ORIGIN}.\n" + STATIC)
    write(os.path.join(n, "nsd.conf"), f"""server:
  ip-address: {addr}@{port}
  server-count: 1
  tcp-count: 10
  username: ""
  chroot: ""
  zonesdir: "{n}/zones"
  database: ""
  zonelistfile: "{n}/zone.list"
  xfrdfile: "{n}/xfrd.state"
  xfrdir: "{n}"
  pidfile: "{n}/nsd.pid"
  verbosity: 1
  hide-version: yes
  # Debian's NSD limits responses to 200/s per client /24 by default: a benchmark from one address needs it off.
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: {ORIGIN}
  zonefile: {ORIGIN}.zone
""")


def gdnsd(work, dcs, geoip, addr, port):
    g = os.path.join(work, "gdnsd")
    for sub in ("zones", "geoip", "run", "state"):
        os.makedirs(os.path.join(g, sub), exist_ok=True)
    link = os.path.join(g, "geoip", os.path.basename(geoip))
    if not os.path.exists(link):
        os.symlink(os.path.abspath(geoip), link)
    write(os.path.join(g, "zones", ORIGIN), STATIC + "geo 30 DYNA geoip!geo\nwrr 30 DYNA weighted!wrr\n"
          "mv 30 DYNA multifo!mv\nfo 30 DYNA simplefo!fo\n")
    wrr = "\n".join(f"      w{i} => [ {a}, 100 ]" for i, a in enumerate(WRR))
    mv = "\n".join(f"      m{i} => {a}" for i, a in enumerate(MV))
    write(os.path.join(g, "config"), f"""# bench/all: gdnsd {ORIGIN} (generated by all_configs.py)
{gdnsd_options(addr, port, g)}
plugins => {{
{gdnsd_geoip_plugin(dcs, geoip)}
  weighted => {{
    wrr => {{
{wrr}
    }}
  }}
  multifo => {{
    mv => {{
{mv}
    }}
  }}
  simplefo => {{
    fo => {{
      primary => {FO[0]}
      secondary => {FO[1]}
    }}
  }}
}}
""")


def pdns_geo_lua(dcs):
    """A LUA A record that answers the data center nearest to the client by haversine, as GslbDns's geo-proximity does.

    Not pickclosest(): that one geolocates each candidate address in the database, and the data centers' addresses
    (192.0.2.x, documentation space) are not in it. latlon() is the geoip backend's lookup of the client (bestwho: the
    ECS address with edns-subnet-processing=yes). Radians and cos(latitude) of the data centers are computed here, and
    only the haversine term h is compared (monotonic in distance): the least work a LUA record can do for this answer.
    Ties keep datacenters.tsv order (strict <), like gdnsd; a client the database does not place reads as 0,0.
    """
    rows = ",".join(f"{{{math.radians(d['lat']):.9f},{math.radians(d['lon']):.9f},{math.cos(math.radians(d['lat'])):.9f},"
                    f"'{d['addr']}'}}" for d in dcs)
    return (";local la,lo=latlon():match('(%S+) (%S+)') la=math.rad(tonumber(la)) lo=math.rad(tonumber(lo)) "
            "local c=math.cos(la) local best,bh=nil,9 "
            f"for _,d in ipairs({{{rows}}}) do "
            "local h=math.sin((d[1]-la)/2)^2+c*d[3]*math.sin((d[2]-lo)/2)^2 "
            "if h<bh then bh=h best=d[4] end end return best")


def pdns(work, name, dcs, geoip, addr, port, cache_ttl):
    """PowerDNS 4.7 (bind + geoip backends): bench.test from a zone file with geo as a LUA record; static names as plain
    records. One receiver and one distributor thread (GslbDns runs --udp-threads 1); no security poll (no network)."""
    d = os.path.join(work, name)
    zone = os.path.join(d, "zones", f"{ORIGIN}.zone")
    write(zone, f"$ORIGIN {ORIGIN}.\n" + STATIC + f'geo 30 IN LUA A "{pdns_geo_lua(dcs)}"\n')
    write(os.path.join(d, "named.conf"), f'zone "{ORIGIN}" {{ type master; file "{zone}"; }};\n')
    # The geoip backend serves no zone of its own here: it is launched for the database lookups LUA records make.
    write(os.path.join(d, "geo-zones.yaml"), "domains: []\n")
    write(os.path.join(d, "pdns.conf"), f"""# bench/all: PowerDNS {ORIGIN} (generated by all_configs.py)
launch=bind,geoip
bind-config={d}/named.conf
geoip-database-files=mmdb:{os.path.abspath(geoip)}
geoip-zones-file={d}/geo-zones.yaml
enable-lua-records=yes
edns-subnet-processing=yes
local-address={addr}
local-port={port}
receiver-threads=1
distributor-threads=1
# the packet cache: 0 = off
cache-ttl={cache_ttl}
socket-dir={d}
guardian=no
daemon=no
disable-syslog=yes
write-pid=no
security-poll-suffix=
loglevel=4
""")


def queries(work, nx):
    q = os.path.join(work, "queries")
    write(os.path.join(q, "static.txt"), f"www.{ORIGIN} A\n")
    write(os.path.join(q, "cname.txt"), f"c1.{ORIGIN} A\n")
    write(os.path.join(q, "nxdomain.txt"), "".join(f"nx{i}.{ORIGIN} A\n" for i in range(nx)))
    for name in ("wrr", "mv", "fo"):
        write(os.path.join(q, f"{name}.txt"), f"{name}.{ORIGIN} A\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dcs", required=True)
    p.add_argument("--geoip", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--knot-port", type=int, required=True)
    p.add_argument("--nsd-port", type=int, required=True)
    p.add_argument("--gdnsd-port", type=int, required=True)
    p.add_argument("--pdns-port", type=int, required=True)
    p.add_argument("--pdns-cache-port", type=int, required=True)
    p.add_argument("--nx", type=int, default=1000, help="distinct NXDOMAIN names")
    a = p.parse_args()
    dcs = read_dcs(a.dcs)
    ours(a.work, dcs)
    knot(a.work, a.addr, a.knot_port)
    nsd(a.work, a.addr, a.nsd_port)
    gdnsd(a.work, dcs, a.geoip, a.addr, a.gdnsd_port)
    pdns(a.work, "pdns", dcs, a.geoip, a.addr, a.pdns_port, 0)
    pdns(a.work, "pdns-cache", dcs, a.geoip, a.addr, a.pdns_cache_port, 20)
    queries(a.work, a.nx)


if __name__ == "__main__":
    main()
