#!/usr/bin/env bash
# skaffold custom build for the Collector image of the ci profile (see deploy/docker/collector.Dockerfile):
# builds $IMAGE from the cached otelcol-tracemesh on the local base image (scripts/ci-base-image.sh). The deploy
# loads it into the node.
source "$(dirname "$0")/lib.sh"
: "${IMAGE:?skaffold sets IMAGE}"
binary="$(collector_binary)"
[ -x "$binary" ] || die "no Collector: bash scripts/tools/20-collector.sh"
NODE_IMAGE="$(bash "$ROOT/scripts/ci-base-image.sh" NODE_IMAGE)"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/otelcol-tracemesh"
cp "$ROOT/deploy/docker/collector.Dockerfile" "$context/Dockerfile"
docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" "$context" >/dev/null
