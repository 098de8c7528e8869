#!/usr/bin/env bash
# Publishes the DNS server, the prober and the API self-contained for linux-x64 into one install tree
# and a tarball that unpacks to /opt/gslbdns (the prefix the systemd units in deploy/systemd expect):
#
#   gslbdns/bin/gslbdns, bin/gslbdns-prober, bin/gslbdns-api   symlinks to the apphosts in lib/
#   gslbdns/lib/                  the three programs and one copy of the .NET runtime they share
#   gslbdns/share/geo-data/       CIDR-to-location overrides (geo-data/ of this repository)
#   gslbdns/share/GeoLite2-City.mmdb   only with --geoip FILE
#   gslbdns/share/systemd/        the units and example environment files
#   gslbdns/VERSION
#
# Usage: deploy/publish.sh [--output DIR] [--version TEXT] [--geoip FILE] [--no-tarball]
#   --output DIR    where the tree and the tarball go (default: artifacts/)
#   --version TEXT  recorded in VERSION and the tarball's name (default: git describe)
#   --geoip FILE    ship this GeoLite2-City database (MaxMind's licence applies; not shipped by default)
#   --no-tarball    leave only the tree
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

output="$repo/artifacts"
version=""
geoip=""
tarball=1
while [ $# -gt 0 ]; do
  case "$1" in
    --output) output=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --geoip) geoip=$2; shift 2 ;;
    --no-tarball) tarball=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "publish: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$version" ]; then
  version=$(git describe --always --dirty 2>/dev/null || echo unknown)
fi
if [ -n "$geoip" ] && [ ! -s "$geoip" ]; then
  echo "publish: --geoip $geoip: no such file" >&2
  exit 2
fi
mkdir -p "$output"
output=$(cd "$output" && pwd)
tree="$output/gslbdns"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# project folder : apphost the SDK names after the assembly : installed command name
programs=(
  "src/GslbDns:GslbDns:gslbdns"
  "src/Prober:Prober:gslbdns-prober"
  "src/Api:Api:gslbdns-api"
)

rm -rf "$tree"
mkdir -p "$tree/bin" "$tree/lib" "$tree/share/systemd"
for program in "${programs[@]}"; do
  IFS=: read -r project apphost command <<<"$program"
  echo "publish: $project -> bin/$command" >&2
  dotnet publish "$project" -c Release -r linux-x64 --self-contained true -nologo -clp:ErrorsOnly \
    -p:PublishTrimmed=false -p:DebugType=none -p:GenerateDocumentationFile=false \
    -o "$staging/$command"
  # The three share one runtime: a file another program already put into lib/ must be byte-identical
  # (same SDK, same centrally pinned packages), else sharing the folder would change what a program loads.
  (cd "$staging/$command" && find . -type f) | while read -r file; do
    if [ -e "$tree/lib/$file" ]; then
      if ! cmp -s "$staging/$command/$file" "$tree/lib/$file"; then
        echo "publish: $file differs between programs; cannot share lib/" >&2
        exit 1
      fi
    else
      mkdir -p "$(dirname "$tree/lib/$file")"
      cp -p "$staging/$command/$file" "$tree/lib/$file"
    fi
  done
  # The apphost resolves symlinks to find its application folder, so bin/ can point into lib/.
  ln -s "../lib/$apphost" "$tree/bin/$command"
done

cp -r geo-data "$tree/share/geo-data"
if [ -n "$geoip" ]; then
  cp "$geoip" "$tree/share/GeoLite2-City.mmdb"
fi
cp deploy/systemd/*.service deploy/systemd/*.env.example deploy/systemd/README.md "$tree/share/systemd/"
echo "$version" > "$tree/VERSION"

if [ "$tarball" = 1 ]; then
  archive="$output/gslbdns-$version-linux-x64.tar.gz"
  tar -C "$output" -czf "$archive" gslbdns
  echo "publish: $archive ($(du -h "$archive" | cut -f1)); unpack with: tar -xzf $(basename "$archive") -C /opt" >&2
fi
echo "publish: tree in $tree" >&2
