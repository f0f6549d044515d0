#!/usr/bin/env bash
# The real OpenTelemetry Collector, built with the official Collector Builder (ocb) from the Go module
# proxy from deploy/collector/builder.yaml. The binary is cached by the manifest's sha256 outside the
# repo and rebuilt only when the manifest changes; $TRACEMESH_BIN/otelcol-tracemesh points at it.
source "$(dirname "$0")/../lib.sh"
BUILDER_VERSION="v0.143.0"   # keep equal to the component versions in builder.yaml
MANIFEST="$ROOT/deploy/collector/builder.yaml"
[ -f "$MANIFEST" ] || die "missing $MANIFEST"
command -v go >/dev/null 2>&1 || die "Go is needed to build the Collector (https://go.dev/dl/); or put an otelcol-tracemesh binary in $TRACEMESH_BIN"

hash="$(sha256sum "$MANIFEST" | cut -c1-16)"
out="$TRACEMESH_CACHE/collector/$hash"
binary="$out/otelcol-tracemesh"
if stamp_ok collector "$hash" && [ -x "$binary" ]; then
  ln -sfn "$binary" "$TRACEMESH_BIN/otelcol-tracemesh"
  exit 0
fi

# One build at a time per cache (two checkouts, or the demo and the tests, may start together): the
# second waits for the first and then finds its binary.
mkdir -p "$TRACEMESH_CACHE/collector"
exec 9>"$TRACEMESH_CACHE/collector/.lock"
flock 9
if stamp_ok collector "$hash" && [ -x "$binary" ]; then
  ln -sfn "$binary" "$TRACEMESH_BIN/otelcol-tracemesh"
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
ln -sfn "$binary" "$TRACEMESH_BIN/otelcol-tracemesh"
stamp_set collector "$hash"
# Builds of older manifests are ~100 MB each: keep only this one (and the builder).
find "$TRACEMESH_CACHE/collector" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" ! -name 'builder-*' -exec rm -rf {} +
log "Collector built in $((SECONDS - started)) s: $("$binary" --version)"
