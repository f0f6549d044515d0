#!/usr/bin/env bash
# The real OpenTelemetry Collector, built with the official Collector Builder (ocb) from the Go module
# proxy from deploy/collector/builder.yaml. The binary is cached by the manifest's sha256 outside the
# repo ($TRACEMESH_CACHE/collector/<hash>/, where @tracemesh/devkit looks first) and rebuilt only when the
# manifest changes; $TRACEMESH_BIN/otelcol-tracemesh points at the last one built (checking a build leaves it
# alone, so a checkout on another manifest never swaps the binary under a run that uses it).
source "$(dirname "$0")/../lib.sh"
# TRACEMESH_COLLECTOR_MANIFEST=<another builder.yaml> builds that one (the benchmarks build the previous release's).
MANIFEST="$(collector_manifest)"
[ -f "$MANIFEST" ] || die "missing $MANIFEST"
# The builder of the manifest's own release (dist.version: 0.152.0 → v0.152.0).
BUILDER_VERSION="v$(sed -n 's/^  version: *//p' "$MANIFEST" | head -1)"
[ "$BUILDER_VERSION" != v ] || die "$MANIFEST has no dist.version"
command -v go >/dev/null 2>&1 || die "Go is needed to build the Collector (https://go.dev/dl/); or put an otelcol-tracemesh binary in $TRACEMESH_BIN"

hash="$(collector_manifest_hash)"
out="$TRACEMESH_CACHE/collector/$hash"
binary="$out/otelcol-tracemesh"
# One folder per manifest, complete once it holds .built: checkouts on different manifests (branches,
# a copy of main beside a working tree) each find their own build and never rebuild each other's.
built() { [ -f "$out/.built" ] && [ -x "$binary" ]; }
# Only this checkout's own manifest makes the link (not one built for comparison).
link() {
  [ -z "${TRACEMESH_COLLECTOR_MANIFEST:-}" ] || return 0
  if [ ! -e "$TRACEMESH_BIN/otelcol-tracemesh" ] || [ "${1:-}" = built ]; then ln -sfn "$binary" "$TRACEMESH_BIN/otelcol-tracemesh"; fi
}
if built; then
  link
  exit 0
fi

# One build at a time per cache (two checkouts, or the demo and the tests, may start together): the
# second waits for the first and then finds its binary.
mkdir -p "$TRACEMESH_CACHE/collector"
exec 9>"$TRACEMESH_CACHE/collector/.lock"
flock 9
if built; then
  link
  exit 0
fi

go_env
builder="$TRACEMESH_CACHE/collector/builder-$BUILDER_VERSION/builder"
if [ ! -x "$builder" ]; then
  log "installing the OpenTelemetry Collector Builder $BUILDER_VERSION"
  GOBIN="$(dirname "$builder")" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
fi

log "building the OpenTelemetry Collector (otelcol-tracemesh) from $MANIFEST —"
log "  one-off: ~5 min cold on 2 cores (module downloads + compile), well under a minute with a warm Go cache;"
log "  cached in $out until builder.yaml changes"
started=$SECONDS
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
# --output-path overrides dist.output_path so the repo's manifest stays location-independent.
"$builder" --config "$MANIFEST" --output-path "$out.tmp" >"$out.tmp.log" 2>&1 || {
  tail -40 "$out.tmp.log" >&2
  die "Collector build failed (full log: $out.tmp.log)"
}
rm -rf "$out"
mv "$out.tmp" "$out"
mv "$out.tmp.log" "$out/build.log"
"$binary" --version >/dev/null || die "built Collector does not run: $binary"
touch "$out/.built"
link built
# Builds are ~100 MB each: keep the three newest (a branch and main may need different ones) and their builders.
ls -1dt "$TRACEMESH_CACHE"/collector/*/ | grep -v '/builder-' | tail -n +4 | xargs -r rm -rf
ls -1dt "$TRACEMESH_CACHE"/collector/builder-*/ | tail -n +4 | xargs -r rm -rf
log "Collector built in $((SECONDS - started)) s: $("$binary" --version)"
