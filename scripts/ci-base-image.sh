#!/usr/bin/env bash
# skaffold custom build for the ci profile's base-image artifacts (skaffold.yaml): tags the local base image that
# scripts/docker-base-image.sh makes as $IMAGE, which skaffold passes to every Node image as NODE_IMAGE or
# BUILD_IMAGE (`requires`). Builds the base images first when they are missing or stale (root only: debootstrap).
#   scripts/ci-base-image.sh NODE_IMAGE|BUILD_IMAGE      (IMAGE=… is set by skaffold)
source "$(dirname "$0")/lib.sh"
: "${IMAGE:?skaffold sets IMAGE}"
which="${1:?usage: ci-base-image.sh NODE_IMAGE|BUILD_IMAGE}"
base="$(bash "$ROOT/scripts/docker-base-image.sh" --print | sed -n "s/^$which=//p")"
[ -n "$base" ] || die "scripts/docker-base-image.sh names no $which"
if is_root; then
  # Idempotent and quick when the images are current; also makes tracemesh/redis:local, which the ci overlay uses.
  bash "$ROOT/scripts/docker-base-image.sh" >&2
elif ! docker image inspect "$base" >/dev/null 2>&1; then
  die "the local base image $base is missing: run sudo bash scripts/docker-base-image.sh"
fi
docker tag "$base" "$IMAGE"
