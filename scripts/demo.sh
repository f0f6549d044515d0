#!/usr/bin/env bash
# The demo command (README: `npm run demo`): installs dependencies (bootstrapping pnpm if needed),
# builds, makes sure Redis and the tracing tools are available, then runs `tracemesh demo` (tools/cli):
# the real OpenTelemetry Collector, every service as a local process exporting to it, demo data,
# loadgen for a bounded time (default 30 s), its summary, one trace as a waterfall and the service
# map (X-Ray segments vs OTLP spans), every log line shipped by Fluent Bit to CloudWatch Logs (stand-in) and one
# failed request shown with its logs and its Rollbar item, everything stopped.
#   bash scripts/demo.sh [--duration 30s] [--rate 30] [--keep-running] [--no-collector] [--echo]
# REDIS_URL set → that Redis is used; otherwise redis-server is started on a free port (installed
# from Debian when missing and running as root).
# Sinks: HONEYCOMB_API_KEY set → real Honeycomb; AWS_REGION + AWS credentials (keys or AWS_PROFILE)
# → real X-Ray; each otherwise a local stand-in. The Collector's file exporter always writes locally.
source "$(dirname "$0")/lib.sh"
started=$SECONDS
ensure_node
bootstrap_workspace

if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  if is_root; then
    apt_install redis-server
  else
    die "redis-server is missing: install it (sudo apt-get install -y redis-server) or set REDIS_URL=redis://host:port"
  fi
fi

collector=1
for arg in "$@"; do [ "$arg" = "--no-collector" ] && collector=0; done
if [ "$collector" = 1 ]; then
  # Builds the Collector only when missing or its manifest changed (it says so: ~5 min once).
  bash "$ROOT/scripts/tools/20-collector.sh"
  # Fluent Bit ships every process's log to the CloudWatch Logs stand-in (built once from its source: ~2 min).
  bash "$ROOT/scripts/tools/21-fluent-bit.sh"
fi

log "workspace ready in $((SECONDS - started)) s"
cd "$ROOT"
exec node tools/cli/dist/src/main.js demo "$@"
