#!/usr/bin/env bash
# The one test command: installs what it needs, builds, then runs every test (unit, integration
# against a real redis-server and real gRPC servers, end to end, Collector, Kubernetes renders,
# Docker images) with Node's test runner. Optional arguments filter test files by substring.
source "$(dirname "$0")/lib.sh"
started=$SECONDS
# The CI cluster (tests/test/k8s-cluster.e2e.test.ts) tears itself down in an after hook; this is the backstop when
# the run is interrupted. `cluster.sh down` does nothing when no cluster state exists.
trap 'bash "$ROOT/scripts/cluster.sh" down >&2 || true; stop_started_daemons' EXIT
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
# The real-cluster test runs alone, after every other file: it shares dockerd with docker-images.test.ts, and
# its kube-proxy and CNI rules must not meet that test's containers (node --test runs files side by side on
# machines with more than two cores).
others=() cluster=()
for f in "${files[@]}"; do if [[ "$f" == *k8s-cluster.e2e.test.js ]]; then cluster+=("$f"); else others+=("$f"); fi; done
log "running ${#files[@]} test files"
status=0
if [ ${#others[@]} -gt 0 ]; then node --test --test-reporter=spec "${others[@]}" || status=$?; fi
if [ ${#cluster[@]} -gt 0 ]; then node --test --test-reporter=spec "${cluster[@]}" || status=$?; fi
log "tests finished in $((SECONDS - started)) s (exit $status)"
exit $status
