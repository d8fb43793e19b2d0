#!/usr/bin/env bash
# Run by `npm test` first: installs what the tests need beyond npm's packages (Debian's redis-server, for the
# queue tests, and chromium, for the relay page's test), or stops with one line that names what is missing and how
# to get it.
set -uo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || [ -x "${CHROMIUM_PATH:-}" ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing ${need[*]} (Debian's package) for the tests" >&2
  log=$(mktemp)
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >"$log" 2>&1; then
    rm -f "$log"
    exit 0
  fi
  echo "test setup: installing ${need[*]} failed (apt-get's words in $log); install it by hand: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "test setup: the tests need ${need[*]}: install it first (sudo apt-get install ${need[*]})" >&2
exit 1
