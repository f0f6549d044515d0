#!/usr/bin/env bash
# bash tools/bench/baseline.sh REF: the project as it was at REF, installed and built once in the cache
# ($TRACEMESH_CACHE/bench-baseline/<commit>/), with the Collector its builder.yaml describes; prints the folder.
# Benchmark 1 runs its mesh and Collector beside this checkout's (the before/after of an upgrade, in one run).
source "$(dirname "$0")/../../scripts/lib.sh"
ref="${1:?usage: tools/bench/baseline.sh REF}"
commit="$(git -C "$ROOT" rev-parse --verify "$ref^{commit}")" || die "tools/bench/baseline.sh: no commit $ref in this repository"
dir="$TRACEMESH_CACHE/bench-baseline/$commit"
if [ ! -f "$dir/.ready" ]; then
  log "preparing the baseline $ref ($commit) in $dir: install and build, once"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  git -C "$ROOT" archive "$commit" | tar -x -C "$dir.tmp"
  # Its own scripts install and build it, as they did at that commit.
  (cd "$dir.tmp" && bash -c 'source scripts/lib.sh && bootstrap_workspace' >&2)
  mv "$dir.tmp" "$dir"
  touch "$dir/.ready"
fi
# Its Collector, built by this checkout's script (one cached build per manifest; the link stays this checkout's).
TRACEMESH_COLLECTOR_MANIFEST="$dir/deploy/collector/builder.yaml" bash "$ROOT/scripts/tools/20-collector.sh" >&2
printf '%s\n' "$dir"
