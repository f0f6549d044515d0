#!/usr/bin/env bash
# The one test command (npm test), run with Node's test runner.
#   bash scripts/test.sh             every test: unit, integration against a real redis-server and real
#                                    gRPC servers, end to end, Collector, Kubernetes renders, Docker images;
#                                    builds every package and installs every tool first
#   bash scripts/test.sh runtime k8s-   only the test files whose path contains one of the arguments; builds
#                                    only their packages (and what those depend on) and installs only the
#                                    tools those files name on their `// tools: …` line
# Test files are <package>/test/**/*.test.ts, compiled to <package>/dist/test/**/*.test.js (tests/test/ groups its
# files by concern in subfolders: e2e, k8s, reliability, deploy, repo — tests/README.md).
source "$(dirname "$0")/lib.sh"
started=$SECONDS
started_at="$(date +%s)"
# Node 24 (the images' major) into the cache first when the machine's is older: the tests run on it.
ensure_node
# The CI cluster (tests/test/k8s/k8s-cluster.e2e.test.ts) tears itself down in an after hook; this is the backstop when
# the run is interrupted — only in a run that selected that test, so another run's cluster is left alone.
# A run that builds images leaves dockerd as it found it, but for its own builds (the next run's cache).
runs_cluster=0 late_tools_pid="" uses_docker=0
on_exit() {
  if [ -n "$late_tools_pid" ]; then kill "$late_tools_pid" 2>/dev/null || true; fi
  if [ "$runs_cluster" = 1 ]; then bash "$ROOT/scripts/cluster.sh" down >&2 || true; fi
  if [ "$uses_docker" = 1 ]; then bash "$ROOT/scripts/docker-prune.sh" "$started_at" || true; fi
  stop_started_daemons
}
trap on_exit EXIT
cd "$ROOT"

mapfile -t sources < <(find packages services tools tests -path '*/node_modules' -prune -o -path '*/dist' -prune -o \
  -path '*/test/*.test.ts' -print 2>/dev/null | sort)
if [ $# -gt 0 ]; then
  selected=()
  for f in "${sources[@]}"; do for pat in "$@"; do [[ "$f" == *"$pat"* ]] && selected+=("$f") && break; done; done
  sources=("${selected[@]}")
fi
[ ${#sources[@]} -gt 0 ] || die "no test files match: $*"

# The tools only the real-cluster test needs (Kubernetes, etcd, containerd, … — most of a cold machine's build
# time) are installed in the background, at low priority, while the other files run; that test waits for them.
tools_of() { sed -n 's|^// tools:||p' "$@" | tr ' ' '\n' | grep -v '^$' | sort -u; }
cluster_sources=() other_sources=()
for f in "${sources[@]}"; do if [[ "$f" == *k8s-cluster.e2e.test.ts ]]; then cluster_sources+=("$f"); else other_sources+=("$f"); fi; done
late_tools=()
if [ ${#cluster_sources[@]} -gt 0 ] && [ ${#other_sources[@]} -gt 0 ]; then
  mapfile -t late_tools < <(comm -23 <(tools_of "${cluster_sources[@]}") <(tools_of "${other_sources[@]}"))
fi
if [ $# -eq 0 ]; then
  bootstrap_workspace
  mapfile -t tools < <(for t in "$ROOT"/scripts/tools/[0-9]*.sh; do t="$(basename "$t" .sh)"; echo "${t#*-}"; done | sort -u)
else
  # The package folder of each test file (…/test/[group/]x.test.ts → …), once.
  mapfile -t packages < <(for f in "${sources[@]}"; do echo "${f%%/test/*}"; done | sort -u)
  mapfile -t tools < <(tools_of "${sources[@]}")
  bootstrap_workspace "${packages[@]}"
fi
if printf '%s\n' ${tools[@]+"${tools[@]}"} | grep -qx docker; then uses_docker=1; fi
mapfile -t early_tools < <(comm -23 <(printf '%s\n' ${tools[@]+"${tools[@]}"} | grep -v '^$') <(printf '%s\n' ${late_tools[@]+"${late_tools[@]}"} | grep -v '^$'))
if [ ${#early_tools[@]} -gt 0 ]; then bash "$ROOT/scripts/install-tools.sh" "${early_tools[@]}"; fi
# This run's logs, in a folder of its own: another test run at the same time (a developer's beside CI's, which
# share the cache) must not overwrite them. A finished run's folder stays until the next run starts.
run_logs="$TRACEMESH_CACHE/run/tests/$$"
for d in "$TRACEMESH_CACHE"/run/tests/*/; do
  [ -d "$d" ] || continue
  owner=$(basename "$d")
  [ "$owner" = "$$" ] || kill -0 "$owner" 2>/dev/null || rm -rf "$d"
done
mkdir -p "$run_logs"
late_tools_log="$run_logs/late-tools.log"
if [ ${#late_tools[@]} -gt 0 ]; then
  log "installing ${late_tools[*]} in the background for the cluster test"
  nice -n 10 bash "$ROOT/scripts/install-tools.sh" "${late_tools[@]}" >"$late_tools_log" 2>&1 &
  late_tools_pid=$!
fi

files=()
for f in "${sources[@]}"; do
  js="${f%%/test/*}/dist/test/${f#*/test/}"
  js="${js%.ts}.js"
  [ -f "$js" ] || die "$f was not compiled to $js"
  files+=("$js")
done
# The real-cluster test runs alone, after every other file: it shares dockerd with docker-images.test.ts, and
# its kube-proxy and CNI rules must not meet that test's containers (node --test runs files side by side on
# machines with more than two cores).
others=() cluster=()
for f in "${files[@]}"; do if [[ "$f" == *k8s-cluster.e2e.test.js ]]; then cluster+=("$f"); else others+=("$f"); fi; done
[ ${#cluster[@]} -eq 0 ] || runs_cluster=1
log "running ${#files[@]} test files"
status=0
# Kept, so that a failure's details are printed again at the very end, not only above the cluster test's output.
others_log="$run_logs/tests-others.log"
if [ ${#others[@]} -gt 0 ]; then
  node --test --test-reporter=spec "${others[@]}" 2>&1 | tee "$others_log" || status=$?
fi
if [ -n "$late_tools_pid" ]; then
  late_status=0
  wait "$late_tools_pid" || late_status=$?
  late_tools_pid=""
  cat "$late_tools_log" >&2
  if [ "$late_status" -ne 0 ]; then log "the cluster test's tools could not be installed: it does not run"; cluster=(); status=1; fi
fi
if [ ${#cluster[@]} -gt 0 ]; then node --test --test-reporter=spec "${cluster[@]}" || status=$?; fi
if [ ${#others[@]} -gt 0 ] && [ ${#cluster[@]} -gt 0 ] && grep -q 'failing tests:' "$others_log"; then
  log "the failures among the other test files, again (all of their output: $others_log):"
  sed -n '/failing tests:/,$p' "$others_log" >&2
fi
log "tests finished in $((SECONDS - started)) s (exit $status)"
exit $status
