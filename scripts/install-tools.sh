#!/usr/bin/env bash
# Installs every external tool the tests need (redis-server, the Collector, helm, …) by running
# scripts/tools/*.sh in order. Each one is idempotent and caches its result outside the repo.
source "$(dirname "$0")/lib.sh"
for tool in "$ROOT"/scripts/tools/*.sh; do
  name="$(basename "$tool" .sh)"
  start=$SECONDS
  bash "$tool"
  log "tool $name ready ($((SECONDS - start)) s)"
done
