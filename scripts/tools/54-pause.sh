#!/usr/bin/env bash
# The pod sandbox ("pause") binary for the CI cluster: Kubernetes' own build/pause/linux/pause.c, from the same
# k8s.io/kubernetes module 50-kubernetes.sh builds, compiled static (no registry serves the pause image; the
# cluster script wraps this binary in an image).
source "$(dirname "$0")/../lib.sh"
K8S_VERSION="v1.37.2"
OUT="$TRACEMESH_CACHE/cluster/bin"
if stamp_ok pause "$K8S_VERSION" && [ -x "$OUT/pause" ]; then exit 0; fi
go_env
src_dir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
mkdir -p "$OUT"
gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION" -o "$OUT/pause" "$src_dir/build/pause/linux/pause.c"
strip "$OUT/pause"
stamp_set pause "$K8S_VERSION"
