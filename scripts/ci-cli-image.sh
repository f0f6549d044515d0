#!/usr/bin/env bash
# skaffold custom build for the tracemesh/cli image of the tracemesh module's ci profile (the Honeycomb/X-Ray
# stand-in it deploys): deploy/docker/Dockerfile with SERVICE=cli on the local base images, exactly as a docker
# artifact would build it. Custom only so that skaffold watches the CLI and the libraries, not the services: the
# image bundles every service (for `tracemesh demo`), but on the cluster it runs the stand-in and the verifier, and
# rebuilding it for every service edit would make `skaffold dev` wait for it after each one.
source "$(dirname "$0")/lib.sh"
: "${IMAGE:?skaffold sets IMAGE}"
DOCKER_BUILDKIT=0 docker build -q -f "$ROOT/deploy/docker/Dockerfile" \
  --build-arg SERVICE=cli --build-arg SOURCES=services \
  --build-arg "NODE_IMAGE=$(bash "$ROOT/scripts/ci-base-image.sh" NODE_IMAGE)" \
  --build-arg "BUILD_IMAGE=$(bash "$ROOT/scripts/ci-base-image.sh" BUILD_IMAGE)" \
  -t "$IMAGE" "$ROOT" >/dev/null
