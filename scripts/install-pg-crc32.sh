#!/usr/bin/env bash
# Builds Redshift's CRC32 for the local warehouse (local/redshift/pg-crc32/mrsync_crc32.c) and installs it in the
# PostgreSQL server's library directory, so reconcile runs locally at the server's speed. Optional: where it cannot
# (no root, no compiler, no headers, a server elsewhere), it says why and exits 0, and the local Data API uses the
# same function in PL/pgSQL (local/redshift/postgres.ts), slower with the same values.
#   scripts/install-pg-crc32.sh            (PG_URL picks the server; default postgres@127.0.0.1:5432)
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "install-pg-crc32: skipped: $*; the local warehouse computes CRC32 in PL/pgSQL (slower, same values)"; exit 0; }
url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
major=$(psql "$url" -tAc "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null) || skip "PostgreSQL at $url is not reachable"
host=$(psql "$url" -tAc "SELECT coalesce(host(inet_server_addr()), 'socket')" 2>/dev/null)
case "$host" in 127.0.0.1 | ::1 | socket) ;; *) skip "the server ($host) is not on this machine" ;; esac
libdir="/usr/lib/postgresql/$major/lib"
[ -d "$libdir" ] || skip "no $libdir (the server is not Debian's postgresql-$major)"
[ -w "$libdir" ] || skip "$libdir is not writable (run as root)"
command -v gcc >/dev/null 2>&1 || skip "no gcc"
include="/usr/include/postgresql/$major/server"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -f "$include/postgres.h" ]; then
  # The headers only, unpacked from Debian's package (installing it would pull the LLVM toolchain).
  (cd "$work" && apt-get download "postgresql-server-dev-$major" >/dev/null 2>&1) || skip "apt-get download postgresql-server-dev-$major failed"
  dpkg-deb -x "$work"/postgresql-server-dev-*.deb "$work/root" || skip "could not unpack postgresql-server-dev-$major"
  include="$work/root/usr/include/postgresql/$major/server"
fi
gcc -O2 -fPIC -shared -I "$include" -o "$work/mrsync_crc32.so" local/redshift/pg-crc32/mrsync_crc32.c || skip "the build failed"
install -m 0755 "$work/mrsync_crc32.so" "$libdir/mrsync_crc32.so" || skip "could not write $libdir"
check=$(psql "$url" -tAc "CREATE FUNCTION pg_temp.crc32(text) RETURNS text AS 'mrsync_crc32', 'mrsync_crc32' LANGUAGE C STRICT; SELECT pg_temp.crc32('Amazon Redshift')" 2>&1 | tail -1)
# Redshift's documented example: CRC32('Amazon Redshift') = f2726906.
[ "$check" = "f2726906" ] || { rm -f "$libdir/mrsync_crc32.so"; skip "the built function answered '$check' for Redshift's example"; }
echo "install-pg-crc32: installed $libdir/mrsync_crc32.so (CRC32('Amazon Redshift') = $check)"
