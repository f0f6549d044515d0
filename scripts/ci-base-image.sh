#!/usr/bin/env bash
# The ci profile's base images (skaffold.yaml: the NODE_IMAGE / BUILD_IMAGE build args, through skaffold's `cmd`
# template): prints the name of the local base image scripts/docker-base-image.sh makes, after making sure it
# exists — built now when it is missing (root: debootstrap), or a one-sentence error saying what to run.
#   scripts/ci-base-image.sh NODE_IMAGE|BUILD_IMAGE
source "$(dirname "$0")/lib.sh"
which="${1:?usage: ci-base-image.sh NODE_IMAGE|BUILD_IMAGE}"
base="$(bash "$ROOT/scripts/docker-base-image.sh" --print | sed -n "s/^$which=//p")"
[ -n "$base" ] || die "scripts/docker-base-image.sh names no $which"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  is_root || die "the local base image $base is missing: run sudo bash scripts/docker-base-image.sh"
  # Also makes tracemesh/redis:local, which the ci overlay uses.
  bash "$ROOT/scripts/docker-base-image.sh" >&2
fi
echo "$base"
