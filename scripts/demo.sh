#!/usr/bin/env bash
# The demo command (README: `npm run demo`): installs dependencies (bootstrapping pnpm if needed),
# builds, makes sure Redis is available, then runs packages/devkit's demo: every service as a local
# process, demo data, loadgen for a bounded time (default 30 s), its summary, everything stopped.
#   bash scripts/demo.sh [--duration 30s] [--rate 30] [--keep-running] [--echo]
# REDIS_URL set → that Redis is used; otherwise redis-server is started on a free port (installed
# from Debian when missing and running as root).
source "$(dirname "$0")/lib.sh"
started=$SECONDS
bootstrap_workspace

if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  if is_root; then
    apt_install redis-server
  else
    die "redis-server is missing: install it (sudo apt-get install -y redis-server) or set REDIS_URL=redis://host:port"
  fi
fi

log "workspace ready in $((SECONDS - started)) s"
cd "$ROOT"
exec node packages/devkit/dist/src/demo.js "$@"
