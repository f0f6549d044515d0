#!/usr/bin/env bash
# skaffold custom build for the Fluent Bit image of the ci profile (see deploy/docker/fluent-bit.Dockerfile): builds
# $IMAGE from the cached fluent-bit binary on the local base image (scripts/ci-base-image.sh), with the shared
# libraries it links that the base lacks. The deploy loads it into the node.
source "$(dirname "$0")/lib.sh"
: "${IMAGE:?skaffold sets IMAGE}"
binary="$(readlink -f "$TRACEMESH_BIN/fluent-bit")" || die "no Fluent Bit: bash scripts/tools/21-fluent-bit.sh"
[ -x "$binary" ] || die "no Fluent Bit: bash scripts/tools/21-fluent-bit.sh"
NODE_IMAGE="$(bash "$ROOT/scripts/ci-base-image.sh" NODE_IMAGE)"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/lib"
cp "$binary" "$context/fluent-bit"
cp "$(dirname "$binary")/parsers.conf" "$context/parsers.conf"
# The libraries the base lacks (it has glibc, libstdc++ and libgcc_s: node links them).
ldd "$binary" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux-* | libstdc++.so.* | libgcc_s.so.*) continue ;; esac
  cp -L "$lib" "$context/lib/$(basename "$lib")"
done
cp "$ROOT/deploy/docker/fluent-bit.Dockerfile" "$context/Dockerfile"
docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" "$context" >/dev/null
log "built $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1 / 1e6}') (the base $NODE_IMAGE: $(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.1f MB", $1 / 1e6}'))"
