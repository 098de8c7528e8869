#!/usr/bin/env bash
# Regenerates the query seed corpus (tests/GslbDns.Fuzz/corpus/query): the exact packets dig and kdig send for a
# set of questions, captured by a one-shot UDP listener on loopback (nothing answers; each tool gives up at once).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/GslbDns.Fuzz/corpus/query
mkdir -p "$out"
capture() { # capture NAME TOOL ARGS...: the listener binds port 0 and says which, so the tool is sent only once it listens
  local name=$1; shift
  local port
  coproc LISTENER { python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(5)
data, _ = s.recvfrom(65535)
open(sys.argv[1], "wb").write(data)
' "$out/$name"; }
  local pid=$LISTENER_PID
  read -r port <&"${LISTENER[0]}"
  "$@" -p "$port" >/dev/null 2>&1 || true
  wait "$pid" || echo "capture-queries: $name: nothing received" >&2
}
d() { capture "$1" dig @127.0.0.1 +tries=1 +timeout=1 "${@:2}"; }
k() { capture "$1" kdig @127.0.0.1 +retry=0 +timeout=1 "${@:2}"; }
d dig-www-a           www.example.com A
d dig-www-aaaa-noedns www.example.com AAAA +noedns
k kdig-apex-any       example.com ANY
d dig-apex-mx         example.com MX +dnssec
d dig-geo-ecs         geo.example.com A +subnet=81.2.69.0/24
d dig-geo-ecs6        geo.example.com AAAA +subnet=2001:db8::/56
d dig-lab-referral    host.lab.example.com A +norecurse
d dig-srv             _sip._udp.example.com SRV +nsid
d dig-ftp-cname       ftp.example.com A +bufsize=4096
d dig-big-txt         big.fuzz.test TXT +bufsize=512
d dig-wide-referral   x.wide.fuzz.test A
d dig-chaos-version   version.bind TXT CH
d dig-cookie          www.example.com A +cookie
d dig-nx              nope.fuzz.test A +edns=1
d dig-opcode-status   www.example.com A +opcode=status
k kdig-wild           a.w.fuzz.test MX
k kdig-chain          chain.fuzz.test A +nsid
k kdig-loop           loop1.fuzz.test A
k kdig-many-udp       many.fuzz.test A +bufsize=1232
k kdig-app-ecs        app.example.com A +subnet=198.51.100.0/24
k kdig-ds             lab.example.com DS
k kdig-refused        www.example.org A
k kdig-id-server      id.server TXT CH
ls "$out" | wc -l
