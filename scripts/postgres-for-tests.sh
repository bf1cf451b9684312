#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the test suite and print its URL.
#   eval "$(scripts/postgres-for-tests.sh start DIR)"   -> exports APPRENTICE_TEST_POSTGRES_URL
#   scripts/postgres-for-tests.sh stop DIR
# Listens on a Unix socket inside DIR only (no TCP port). Installs Debian's
# PostgreSQL if it is missing and we are root (CI).
set -euo pipefail
action=${1:?start or stop}
dir=$(realpath -m "${2:?a folder for the cluster}")

find_bin() {
  local candidate
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && { echo "$candidate"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    if ! bin=$(find_bin); then
      if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
        bin=$(find_bin)
      else
        echo "PostgreSQL is not installed" >&2; exit 1
      fi
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --home "$dir" postgres
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-k $dir -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null
    echo "export APPRENTICE_TEST_POSTGRES_URL='postgresql+psycopg://postgres@/postgres?host=$dir'"
    ;;
  stop)
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
