#!/usr/bin/env bash
# The one test command: installs what it needs, builds, then runs every test (unit, integration
# against a real redis-server and real gRPC servers, end to end, Collector, Kubernetes renders,
# Docker images) with Node's test runner. Optional arguments filter test files by substring.
source "$(dirname "$0")/lib.sh"
started=$SECONDS
trap stop_started_daemons EXIT
bootstrap_workspace
bash "$ROOT/scripts/install-tools.sh"

cd "$ROOT"
mapfile -t files < <(find packages services tests -path '*/node_modules' -prune -o -path '*/dist/test/*.test.js' -print 2>/dev/null | sort)
if [ $# -gt 0 ]; then
  filtered=()
  for f in "${files[@]}"; do for pat in "$@"; do [[ "$f" == *"$pat"* ]] && filtered+=("$f") && break; done; done
  files=("${filtered[@]}")
fi
[ ${#files[@]} -gt 0 ] || die "no test files found"
log "running ${#files[@]} test files"
status=0
node --test --test-reporter=spec "${files[@]}" || status=$?
log "tests finished in $((SECONDS - started)) s (exit $status)"
exit $status
