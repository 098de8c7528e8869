#!/usr/bin/env python3
"""Helpers for bench/geo/dnsperf-vs-gdnsd.sh (Python 3 standard library only).

  configs   write both servers' zone and GSLB configs from datacenters.tsv
  subnets   pick client /24s spread over the world, placed by our own MMDB reader
  packets   write a dnsperf -B file: one A query with an ECS option per subnet
  agree     ask both servers for every subnet and classify every disagreement
  same      ask GslbDns and another server (bench/all.sh's PowerDNS) for every subnet: same data center?

The MMDB reader below follows MaxMind's published format spec
(https://maxmind.github.io/MaxMind-DB/); it is an independent third opinion: for every
subnet it gives the record, its network prefix and the haversine-nearest data center, so a
disagreement can be told apart as "ours is off", "gdnsd is off" or "both are right".
"""
import argparse
import json
import math
import mmap
import os
import random
import select
import socket
import struct
import sys
import time
from collections import Counter, OrderedDict, defaultdict

EARTH_KM = 6371.0088


# --------------------------------------------------------------------- data centers --
def read_dcs(path):
    dcs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, lat, lon, addr, cont, *city = line.split()
            dcs.append({"name": name, "lat": float(lat), "lon": float(lon), "addr": addr,
                        "continent": cont, "city": " ".join(city)})
    if not dcs:
        sys.exit(f"{path}: no data centers")
    return dcs


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(min(1.0, h)))


def ranked(dcs, lat, lon):
    """Data centers nearest first; equal distances keep datacenters.tsv order (gdnsd's stable sort)."""
    return sorted(((haversine_km(lat, lon, d["lat"], d["lon"]), i, d) for i, d in enumerate(dcs)),
                  key=lambda t: (t[0], t[1]))


# -------------------------------------------------------------------- MMDB reader --
class Mmdb:
    MARKER = b"\xab\xcd\xefMaxMind.com"

    def __init__(self, path):
        self._f = open(path, "rb")
        self.buf = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        meta_at = self.buf.rfind(self.MARKER)
        if meta_at < 0:
            sys.exit(f"{path}: not a MaxMind DB (no metadata marker)")
        self.data_base = meta_at + len(self.MARKER)
        self.meta, _ = self._decode(self.data_base)
        self.node_count = self.meta["node_count"]
        self.record_size = self.meta["record_size"]
        self.ip_version = self.meta["ip_version"]
        self.data_base = self.record_size * 2 // 8 * self.node_count + 16
        self._cache = {}
        node, depth = 0, 0
        if self.ip_version == 6:  # IPv4 lives under ::/96
            while depth < 96 and node < self.node_count:
                node = self._record(node, 0)
                depth += 1
        self.v4_start = node

    def _record(self, node, bit):
        b, rs = self.buf, self.record_size
        base = node * rs * 2 // 8
        if rs == 24:
            o = base + 3 * bit
            return int.from_bytes(b[o:o + 3], "big")
        if rs == 28:
            if bit == 0:
                return ((b[base + 3] & 0xF0) << 20) | int.from_bytes(b[base:base + 3], "big")
            return ((b[base + 3] & 0x0F) << 24) | int.from_bytes(b[base + 4:base + 7], "big")
        if rs == 32:
            o = base + 4 * bit
            return int.from_bytes(b[o:o + 4], "big")
        raise ValueError(f"record size {rs}")

    def _decode(self, off):
        b = self.buf
        ctrl = b[off]
        off += 1
        t = ctrl >> 5
        if t == 1:  # pointer into the data section; decoding continues after the pointer
            ss, v = (ctrl >> 3) & 3, ctrl & 7
            if ss == 0:
                p = (v << 8) | b[off]
                off += 1
            elif ss == 1:
                p = ((v << 16) | int.from_bytes(b[off:off + 2], "big")) + 2048
                off += 2
            elif ss == 2:
                p = ((v << 24) | int.from_bytes(b[off:off + 3], "big")) + 526336
                off += 3
            else:
                p = int.from_bytes(b[off:off + 4], "big")
                off += 4
            val, _ = self._decode(self.data_base + p)
            return val, off
        if t == 0:
            t = 7 + b[off]
            off += 1
        size = ctrl & 0x1F
        if size == 29:
            size = 29 + b[off]
            off += 1
        elif size == 30:
            size = 285 + int.from_bytes(b[off:off + 2], "big")
            off += 2
        elif size == 31:
            size = 65821 + int.from_bytes(b[off:off + 3], "big")
            off += 3
        if t == 2:
            return b[off:off + size].decode("utf-8"), off + size
        if t == 3:
            return struct.unpack(">d", b[off:off + 8])[0], off + 8
        if t == 4:
            return bytes(b[off:off + size]), off + size
        if t in (5, 6, 9, 10):
            return int.from_bytes(b[off:off + size], "big"), off + size
        if t == 8:
            v = int.from_bytes(b[off:off + size], "big")
            return (v - (1 << 32) if size == 4 and v >> 31 else v), off + size
        if t == 7:
            d = {}
            for _ in range(size):
                k, off = self._decode(off)
                d[k], off = self._decode(off)
            return d, off
        if t == 11:
            a = []
            for _ in range(size):
                v, off = self._decode(off)
                a.append(v)
            return a, off
        if t == 14:
            return bool(size), off
        if t == 15:
            return struct.unpack(">f", b[off:off + 4])[0], off + 4
        raise ValueError(f"MMDB type {t} at {off}")

    def lookup_v4(self, addr):
        """(record dict or None, prefix length of the network holding addr, data offset or None)."""
        node, depth, nc = self.v4_start, 0, self.node_count
        while depth < 32 and node < nc:
            node = self._record(node, (addr >> (31 - depth)) & 1)
            depth += 1
        if node <= nc:  # == nc: empty; < nc only if the tree were deeper than 32 bits
            return None, depth, None
        off = node - nc - 16
        rec = self._cache.get(off)
        if rec is None:
            rec, _ = self._decode(self.data_base + off)
            self._cache[off] = rec
        return rec, depth, off


def place(rec):
    """Continent, country, lat, lon (None when missing) of a City record."""
    if rec is None:
        return None, None, None, None
    loc = rec.get("location") or {}
    return ((rec.get("continent") or {}).get("code"), (rec.get("country") or {}).get("iso_code"),
            loc.get("latitude"), loc.get("longitude"))


# ------------------------------------------------------------------------- configs --
def gdnsd_options(addr, port, folder):
    """gdnsd 3.x options: one UDP and one TCP thread on addr:port, run and state folders under folder."""
    return f"""options => {{
  listen => {addr}:{port}
  udp_threads => 1
  tcp_threads => 1
  run_dir => {folder}/run
  state_dir => {folder}/state
}}"""


def gdnsd_geoip_plugin(dcs, geoip):
    """The geoip plugin block: map m in city-auto-mode over dcs (coordinates), resource geo answering each dc's address."""
    names = ", ".join(d["name"] for d in dcs)
    coords = "\n".join(f"          {d['name']} => [ {d['lat']}, {d['lon']} ]" for d in dcs)
    dcmap = "\n".join(f"          {d['name']} => {d['addr']}" for d in dcs)
    return f"""  geoip => {{
    maps => {{
      m => {{
        geoip2_db => {os.path.basename(geoip)}
        datacenters => [ {names} ]
        auto_dc_coords => {{
{coords}
        }}
      }}
    }}
    resources => {{
      geo => {{
        map => m
        dcmap => {{
{dcmap}
        }}
      }}
    }}
  }}"""


def cmd_configs(a):
    dcs = read_dcs(a.dcs)
    origin = a.origin.rstrip(".")
    soa = (f"$TTL 3600\n@ 300 IN SOA ns1.{origin}. hostmaster.{origin}. 1 3600 900 604800 300\n"
           f"@ IN NS ns1.{origin}.\n@ IN NS ns2.{origin}.\nns1 IN A 127.0.0.1\nns2 IN A 127.0.0.2\n"
           f"www IN A 192.0.2.10\n")
    # ours: a zone without the geo name, and the GSLB config next to it
    oz = os.path.join(a.work, "ours", "zones")
    os.makedirs(oz, exist_ok=True)
    with open(os.path.join(oz, f"{origin}.zone"), "w") as f:
        f.write(f"; bench/geo: static part of {origin}; geo.{origin} comes from {origin}.gslb.json\n"
                f"$ORIGIN {origin}.\n" + soa)
    gslb = OrderedDict()
    gslb["dataCenters"] = OrderedDict((d["name"], OrderedDict(
        [("latitude", d["lat"]), ("longitude", d["lon"]), ("region", d["name"]), ("bias", 0)])) for d in dcs)
    gslb["regions"] = OrderedDict((d["name"], OrderedDict(
        [("latitude", d["lat"]), ("longitude", d["lon"])])) for d in dcs)
    if a.default_location:
        lat, lon = (float(x) for x in a.default_location.split(","))
        gslb["defaultLocation"] = OrderedDict([("latitude", lat), ("longitude", lon)])
    gslb["services"] = {"geo": OrderedDict([
        ("ttl", 30),
        ("policy", [{"type": "healthy"}, {"type": "geo-proximity", "count": 1}]),
        ("endpoints", [{"dataCenter": d["name"], "address": d["addr"]} for d in dcs]),
    ])}
    with open(os.path.join(oz, f"{origin}.gslb.json"), "w") as f:
        json.dump(gslb, f, indent=2)
        f.write("\n")
    # gdnsd 3.x: DIR/config, DIR/zones/ORIGIN, DIR/geoip/<db>
    g = os.path.join(a.work, "gdnsd")
    for sub in ("zones", "geoip", "run", "state"):
        os.makedirs(os.path.join(g, sub), exist_ok=True)
    db_link = os.path.join(g, "geoip", os.path.basename(a.geoip))
    if not os.path.exists(db_link):
        os.symlink(os.path.abspath(a.geoip), db_link)
    with open(os.path.join(g, "zones", origin), "w") as f:
        f.write(f"; bench/geo: {origin} for gdnsd\n" + soa + "geo 30 DYNA geoip!geo\n")
    with open(os.path.join(g, "config"), "w") as f:
        f.write(f"""# bench/geo: gdnsd {origin} with a city-auto-mode geoip map (generated by geo_bench.py)
{gdnsd_options(a.addr, a.port, g)}
plugins => {{
{gdnsd_geoip_plugin(dcs, a.geoip)}
}}
""")


# ------------------------------------------------------------------------- subnets --
RESERVED = [("0.0.0.0", 8), ("10.0.0.0", 8), ("100.64.0.0", 10), ("127.0.0.0", 8), ("169.254.0.0", 16),
            ("172.16.0.0", 12), ("192.0.0.0", 24), ("192.0.2.0", 24), ("192.88.99.0", 24),
            ("192.168.0.0", 16), ("198.18.0.0", 15), ("198.51.100.0", 24), ("203.0.113.0", 24),
            ("224.0.0.0", 3)]
RESERVED_NETS = [(struct.unpack(">I", socket.inet_aton(n))[0], 0xFFFFFFFF << (32 - p) & 0xFFFFFFFF)
                 for n, p in RESERVED]


def is_reserved(addr):
    return any((addr & m) == n for n, m in RESERVED_NETS)


def ip_text(addr):
    return socket.inet_ntoa(struct.pack(">I", addr))


SUBNET_COLS = ["subnet", "class", "continent", "country", "lat", "lon", "db_prefix",
               "ref_dc", "ref_km", "second_dc", "second_km", "pick"]


def cmd_subnets(a):
    dcs = read_dcs(a.dcs)
    db = Mmdb(a.geoip)
    rng = random.Random(a.seed)
    per_country = Counter()
    main, nocoords, unplaced, seen = [], [], [], set()
    spare = []  # placed draws left out of main: the nearest-to-equidistant ones are added as ties
    draws = 0
    while draws < a.max_draws and (len(main) < a.count or len(nocoords) < a.edge or len(unplaced) < a.edge):
        draws += 1
        addr = rng.randrange(1 << 24, 224 << 24) & 0xFFFFFF00
        if addr in seen or is_reserved(addr):
            continue
        seen.add(addr)
        rec, prefix, _ = db.lookup_v4(addr)
        cont, country, lat, lon = place(rec)
        row = {"subnet": f"{ip_text(addr)}/24", "continent": cont or "-", "country": country or "-",
               "lat": "-" if lat is None else repr(lat), "lon": "-" if lon is None else repr(lon),
               "db_prefix": prefix, "ref_dc": "-", "ref_km": "-", "second_dc": "-", "second_km": "-",
               "pick": "random"}
        if rec is None:
            if len(unplaced) < a.edge:
                unplaced.append(dict(row, **{"class": "unplaced"}))
            continue
        if lat is None or lon is None:
            if len(nocoords) < a.edge:
                nocoords.append(dict(row, **{"class": "nocoords"}))
            continue
        r = ranked(dcs, lat, lon)
        row.update({"class": "placed", "ref_dc": r[0][2]["name"], "ref_km": f"{r[0][0]:.3f}",
                    "second_dc": r[1][2]["name"] if len(r) > 1 else "-",
                    "second_km": f"{r[1][0]:.3f}" if len(r) > 1 else "-"})
        if len(main) >= a.count or per_country[country or cont] >= a.per_country:
            if len(r) > 1:
                spare.append((r[1][0] - r[0][0], row))
            continue
        per_country[country or cont] += 1
        main.append(row)
    # Near-equidistant clients: the spare placed subnets whose two nearest data centers are the
    # closest in distance, one per DB location (the same point in many networks is one case).
    ties, points = [], set()
    for margin, row in sorted(spare, key=lambda t: t[0]):
        if len(ties) >= a.ties:
            break
        if (row["lat"], row["lon"]) in points:
            continue
        points.add((row["lat"], row["lon"]))
        ties.append(dict(row, pick="tie"))
    rows = main + ties + nocoords + unplaced
    with open(a.out, "w") as f:
        f.write("\t".join(SUBNET_COLS) + "\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in SUBNET_COLS) + "\n")
    conts = Counter(r["continent"] for r in main)
    print(f"subnets: {len(main)} placed /24s in {len(per_country)} countries "
          f"({', '.join(f'{k} {v}' for k, v in sorted(conts.items()))}), "
          + (f"{len(ties)} more picked as near-equidistant (two nearest data centers "
             f"{min(float(t['second_km']) - float(t['ref_km']) for t in ties):.1f}-"
             f"{max(float(t['second_km']) - float(t['ref_km']) for t in ties):.1f} km apart), " if ties else "")
          + f"{len(nocoords)} whose record has no coordinates, {len(unplaced)} the database does not place "
          f"({draws} random draws, seed {a.seed}, at most {a.per_country} per country)")
    if len(main) < a.count:
        print(f"subnets: warning: only {len(main)} placed subnets, wanted {a.count}", file=sys.stderr)


def read_subnets(path):
    with open(path) as f:
        cols = f.readline().rstrip("\n").split("\t")
        return [dict(zip(cols, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


# ------------------------------------------------------------------------- packets --
def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ecs_query(qid, name, subnet, qtype=1, rd=False, mapped=False):
    """An A query with ECS; mapped=True sends an IPv4 subnet as IPv4-mapped IPv6 (family 2, prefix + 96)."""
    net, plen = subnet.split("/")
    plen = int(plen)
    family, raw = 1, socket.inet_aton(net)
    if mapped:
        family, raw, plen = 2, b"\0" * 10 + b"\xff\xff" + raw, plen + 96
    addr = raw[: (plen + 7) // 8]
    opt_data = struct.pack(">HBB", family, plen, 0) + addr
    opt = struct.pack(">HH", 8, len(opt_data)) + opt_data
    hdr = struct.pack(">HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 0, 1)
    q = encode_name(name) + struct.pack(">HH", qtype, 1)
    edns = b"\0" + struct.pack(">HHIH", 41, 1232, 0, len(opt)) + opt
    return hdr + q + edns


def cmd_packets(a):
    subs = read_subnets(a.subnets)
    with open(a.out, "wb") as f:
        for i, s in enumerate(subs):
            p = ecs_query(i & 0xFFFF, a.name, s["subnet"])
            f.write(struct.pack(">H", len(p)) + p)
    print(f"packets: {len(subs)} A queries for {a.name} with an ECS /24 each -> {a.out} (dnsperf -B)")


def cmd_flood(a):
    """A random-subnet flood: COUNT distinct random public /24s, one ECS A query each (dnsperf -B).
    What an attacker or a very large resolver population sends: with a per-subnet cache every
    query would be a miss."""
    rng = random.Random(a.seed)
    seen = set()
    with open(a.out, "wb") as f:
        while len(seen) < a.count:
            first = rng.randint(1, 223)
            if first in (10, 127):
                continue
            net = (first << 16) | rng.getrandbits(16)
            if net in seen:
                continue
            seen.add(net)
            subnet = f"{first}.{(net >> 8) & 0xFF}.{net & 0xFF}.0/24"
            p = ecs_query(len(seen) & 0xFFFF, a.name, subnet)
            f.write(struct.pack(">H", len(p)) + p)
    print(f"flood: {a.count} distinct random /24 ECS subnets for {a.name} -> {a.out} (dnsperf -B)")


# --------------------------------------------------------------------------- agree --
def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse_reply(msg):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    addrs, scope, ttl = [], None, None
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, rclass, rttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if i < an and rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(rdata))
            ttl = rttl
        elif rtype == 41:
            o = 0
            while o + 4 <= len(rdata):
                code, ln = struct.unpack(">HH", rdata[o:o + 4])
                if code == 8 and ln >= 4:
                    scope = rdata[o + 7]
                o += 4 + ln
    rcode = flags & 0xF
    return qid, rcode, sorted(addrs), scope, ttl


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def ask_all(addr, port, name, subnets, window=64, timeout=2.0, tries=4, mapped=False):
    """Every subnet's answer from one server: {index: (rcode, addrs, scope, ttl)}."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect((addr, port))
    got = {}
    for _ in range(tries):
        todo = [i for i in range(len(subnets)) if i not in got]
        if not todo:
            break
        pending, sent_at, pos = set(), {}, 0
        while pos < len(todo) or pending:
            while pos < len(todo) and len(pending) < window:
                i = todo[pos]
                pos += 1
                s.send(ecs_query(i, name, subnets[i], mapped=mapped))
                pending.add(i)
                sent_at[i] = time.monotonic()
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                try:
                    msg = s.recv(4096)
                    qid, rcode, addrs, scope, ttl = parse_reply(msg)
                except (OSError, struct.error, IndexError):
                    continue
                if qid in pending:
                    pending.discard(qid)
                    got[qid] = (rcode, addrs, scope, ttl)
            now = time.monotonic()
            for i in [i for i in pending if now - sent_at[i] > timeout]:
                pending.discard(i)  # retried in the next try
    s.close()
    return got


CLASS_TEXT = OrderedDict([
    ("unplaced-default", "client not in the database: each server's own default"),
    ("nocoords", "DB record without coordinates"),
    ("near-tie", "near-equidistant client (two data centers within TIE_KM)"),
    ("ours-not-nearest", "ours is not the nearest data center, gdnsd is (suspect in ours)"),
    ("gdnsd-not-nearest", "gdnsd is not the nearest data center, ours is (suspect in gdnsd)"),
    ("neither-nearest", "neither answer is the nearest data center"),
    ("no-answer", "a server gave no single A record (error, timeout, empty or several)"),
])


def cmd_agree(a):
    dcs = read_dcs(a.dcs)
    by_addr = {d["addr"]: d for d in dcs}
    subs = read_subnets(a.subnets)
    nets = [s["subnet"] for s in subs]
    ours = ask_all(a.addr, a.ours_port, a.name, nets)
    gd = ask_all(a.addr, a.gdnsd_port, a.name, nets)
    # The same subnets as IPv4-mapped IPv6 ECS (family 2, /120): the answer should not change, and
    # the scope should be the IPv4 scope + 96 (it is a prefix of the 128-bit address).
    ours_m = ask_all(a.addr, a.ours_port, a.name, nets, mapped=True)
    gd_m = ask_all(a.addr, a.gdnsd_port, a.name, nets, mapped=True)

    def dc_of(ans):
        if ans is None:
            return "timeout"
        rcode, addrs, _, _ = ans
        if rcode != 0:
            return RCODES.get(rcode, f"rcode{rcode}")
        if len(addrs) != 1:
            return "empty" if not addrs else "+".join(by_addr[x]["name"] if x in by_addr else x for x in addrs)
        return by_addr[addrs[0]]["name"] if addrs[0] in by_addr else addrs[0]

    agree_by = Counter()
    total_by = Counter()
    classes = OrderedDict((k, []) for k in CLASS_TEXT)
    pairs = Counter()
    scopes = {"ours": Counter(), "gdnsd": Counter()}
    ttls = {"ours": Counter(), "gdnsd": Counter()}
    details = []
    for i, s in enumerate(subs):
        o, g = dc_of(ours.get(i)), dc_of(gd.get(i))
        for who, ans in (("ours", ours.get(i)), ("gdnsd", gd.get(i))):
            if ans:
                scopes[who][ans[2]] += 1
                ttls[who][ans[3]] += 1
        group = "tie" if s.get("pick") == "tie" else s["class"]
        total_by[group] += 1
        same = o == g and o not in ("timeout", "empty") and o in {d["name"] for d in dcs}
        if same:
            agree_by[group] += 1
        cls = ""
        info = ""
        if not same:
            names = {d["name"] for d in dcs}
            if o not in names or g not in names:
                cls = "no-answer"
            elif s["class"] == "unplaced":
                cls = "unplaced-default"
            elif s["class"] == "nocoords":
                cls = "nocoords"
            else:
                lat, lon = float(s["lat"]), float(s["lon"])
                dist = {d["name"]: haversine_km(lat, lon, d["lat"], d["lon"]) for d in dcs}
                info = f"ours {o} {dist[o]:.1f} km, gdnsd {g} {dist[g]:.1f} km, nearest {s['ref_dc']} {float(s['ref_km']):.1f} km"
                if abs(dist[o] - dist[g]) <= a.tie_km:
                    cls = "near-tie"
                elif g == s["ref_dc"]:
                    cls = "ours-not-nearest"
                elif o == s["ref_dc"]:
                    cls = "gdnsd-not-nearest"
                else:
                    cls = "neither-nearest"
            classes[cls].append((s, o, g, info))
            pairs[(s["class"], o, g)] += 1
        details.append("\t".join([s["subnet"], group, s["country"], s["lat"], s["lon"], s["db_prefix"],
                                  s["ref_dc"], o, g, "agree" if same else cls,
                                  str(ours[i][2]) if ours.get(i) else "-", str(gd[i][2]) if gd.get(i) else "-"]))

    with open(a.details, "w") as f:
        f.write("subnet\tclass\tcountry\tlat\tlon\tdb_prefix\tnearest\tours\tgdnsd\tverdict\tours_scope\tgdnsd_scope\n")
        f.write("\n".join(details) + "\n")

    n = len(subs)
    agreed = sum(agree_by.values())
    lines = []
    lines.append(f"agreement: {agreed}/{n} subnets get the same data center from both servers = {100.0 * agreed / n:.1f}%")
    for c, label in (("placed", "DB record with coordinates"), ("tie", "near-equidistant picks"),
                     ("nocoords", "DB record without coordinates"), ("unplaced", "not in the database")):
        if total_by[c]:
            lines.append(f"  {label:32s} {agree_by[c]:5d}/{total_by[c]:<5d} = {100.0 * agree_by[c] / total_by[c]:5.1f}%")
    placed = [s for s in subs if s["class"] == "placed"]
    if placed:
        ours_ref = sum(1 for i, s in enumerate(subs) if s["class"] == "placed" and dc_of(ours.get(i)) == s["ref_dc"])
        gd_ref = sum(1 for i, s in enumerate(subs) if s["class"] == "placed" and dc_of(gd.get(i)) == s["ref_dc"])
        lines.append(f"  nearest data center by an independent haversine over the same DB record (both groups above): "
                     f"ours {ours_ref}/{len(placed)}, gdnsd {gd_ref}/{len(placed)}")
    lines.append(f"disagreements by class (TIE_KM {a.tie_km}):")
    if agreed == n:
        lines.append("  none")
    for k, items in classes.items():
        if not items:
            continue
        lines.append(f"  {k:18s} {len(items):5d}  {CLASS_TEXT[k]}")
        s, o, g, info = items[0]
        extra = f"  [{info}]" if info else ""
        lines.append(f"      e.g. {s['subnet']} ({s['country']}/{s['continent']}, DB {s['lat']},{s['lon']}, DB network /{s['db_prefix']}): "
                     f"ours {o}, gdnsd {g}{extra}")
        combos = Counter((o2, g2) for _, o2, g2, _ in items)
        lines.append("      ours->gdnsd: " + ", ".join(f"{x}->{y} {c}" for (x, y), c in combos.most_common(6)))
    def dist_text(c):
        return ", ".join(f"/{k}: {v}" for k, v in sorted(c.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
    lines.append(f"ECS scope in replies: ours {dist_text(scopes['ours'])}; gdnsd {dist_text(scopes['gdnsd'])}")
    lines.append(f"TTL of the geo answer: ours {dist_text(ttls['ours'])}; gdnsd {dist_text(ttls['gdnsd'])}")
    for who, v4, m in (("ours", ours, ours_m), ("gdnsd", gd, gd_m)):
        both = [i for i in range(n) if i in v4 and i in m]
        same_dc = sum(1 for i in both if m[i][:2] == v4[i][:2])
        ok_scope = [i for i in both if v4[i][2] is not None and m[i][2] == v4[i][2] + 96]
        bad = [i for i in both if i not in ok_scope]
        text = (f"IPv4-mapped ECS (family 2, ::ffff:a.b.c.0/120), {who}: same answer as family 1 {same_dc}/{len(both)}, "
                f"scope = IPv4 scope + 96 {len(ok_scope)}/{len(both)}")
        if bad:
            i = bad[0]
            text += f"; e.g. {nets[i]}: family 1 scope /{v4[i][2]}, family 2 scope /{m[i][2]}"
        lines.append(text)
    missing = [w for w, got in (("ours", ours), ("gdnsd", gd)) if len(got) < n]
    if missing:
        lines.append("unanswered after retries: " + ", ".join(f"{w} {n - len(ours if w == 'ours' else gd)}" for w in missing))
    with open(a.examples, "w") as f:
        for k, items in classes.items():
            if items:
                s, o, g, info = items[0]
                f.write(f"{k}\t{s['subnet']}\t{o}\t{g}\n")
    with open(a.summary, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def cmd_same(a):
    """bench/all.sh's check that an anchor answers the geo workload as GslbDns does: every subnet asked of both, each
    answer named by its data center and held against the haversine-nearest one (ref_dc). Exit 1 when the anchor's
    share of nearest answers is below --min-share (it would be timing some other answer)."""
    by_addr = {d["addr"]: d["name"] for d in read_dcs(a.dcs)}
    subs = read_subnets(a.subnets)
    nets = [s["subnet"] for s in subs]
    got = {"ours": ask_all(a.addr, a.ours_port, a.name, nets), a.other: ask_all(a.addr, a.other_port, a.name, nets)}

    def dc_of(ans):
        if ans is None or ans[0] != 0 or len(ans[1]) != 1:
            return "none"
        return by_addr.get(ans[1][0], ans[1][0])
    placed = [i for i, s in enumerate(subs) if s["class"] == "placed"]
    same = sum(1 for i in range(len(subs)) if dc_of(got["ours"].get(i)) == dc_of(got[a.other].get(i)) != "none")
    nearest = {w: sum(1 for i in placed if dc_of(g.get(i)) == subs[i]["ref_dc"]) for w, g in got.items()}
    lines = [f"{a.other} vs ours, {len(subs)} subnets: same data center {same}/{len(subs)}; haversine-nearest "
             f"(independent MMDB reader) ours {nearest['ours']}/{len(placed)}, {a.other} {nearest[a.other]}/{len(placed)}"]
    for i in [i for i in range(len(subs)) if dc_of(got["ours"].get(i)) != dc_of(got[a.other].get(i))][:5]:
        s = subs[i]
        lines.append(f"  differs: {s['subnet']} ({s['country']}, DB {s['lat']},{s['lon']}): ours {dc_of(got['ours'].get(i))}, "
                     f"{a.other} {dc_of(got[a.other].get(i))}, nearest {s['ref_dc']} {float(s['ref_km']):.1f} km")
    print("\n".join(lines))
    if placed and nearest[a.other] < a.min_share * len(placed):
        sys.exit(f"{a.other} answers the nearest data center for only {nearest[a.other]}/{len(placed)} placed subnets")


# ---------------------------------------------------------------------------- main --
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = p.add_subparsers(dest="cmd", required=True)
    c = sp.add_parser("configs")
    c.add_argument("--dcs", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--geoip", required=True)
    c.add_argument("--origin", default="bench.test")
    c.add_argument("--addr", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--default-location", default="", help="lat,lon for GslbDns's defaultLocation; empty = not set")
    c.set_defaults(func=cmd_configs)
    c = sp.add_parser("subnets")
    c.add_argument("--dcs", required=True)
    c.add_argument("--geoip", required=True)
    c.add_argument("--count", type=int, default=1200)
    c.add_argument("--edge", type=int, default=40, help="subnets without coordinates / not placed, each")
    c.add_argument("--per-country", type=int, default=25)
    c.add_argument("--ties", type=int, default=40, help="extra placed subnets nearest to equidistant")
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--max-draws", type=int, default=2_000_000)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_subnets)
    c = sp.add_parser("packets")
    c.add_argument("--subnets", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_packets)
    c = sp.add_parser("flood")
    c.add_argument("--name", required=True)
    c.add_argument("--count", type=int, default=200000)
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_flood)
    c = sp.add_parser("same")
    c.add_argument("--dcs", required=True)
    c.add_argument("--subnets", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--addr", default="127.0.0.1")
    c.add_argument("--ours-port", type=int, required=True)
    c.add_argument("--other", required=True, help="the other server's name in the output")
    c.add_argument("--other-port", type=int, required=True)
    c.add_argument("--min-share", type=float, default=0.95, help="least share of placed subnets answered nearest")
    c.set_defaults(func=cmd_same)

    c = sp.add_parser("agree")
    c.add_argument("--dcs", required=True)
    c.add_argument("--subnets", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--addr", default="127.0.0.1")
    c.add_argument("--ours-port", type=int, required=True)
    c.add_argument("--gdnsd-port", type=int, required=True)
    c.add_argument("--tie-km", type=float, default=1.0)
    c.add_argument("--details", required=True)
    c.add_argument("--examples", required=True)
    c.add_argument("--summary", required=True)
    c.set_defaults(func=cmd_agree)
    a = p.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
