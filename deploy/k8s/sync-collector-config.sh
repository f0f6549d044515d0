#!/usr/bin/env bash
# Copies the one Collector configuration (deploy/collector/config.yaml + its k8s.yaml and xray-otlp.yaml overlays) to the two
# places that package it for Kubernetes: the kustomize base and the Helm chart. Neither tool may read
# files outside its own folder, hence copies; tests/test/k8s-wiring.test.ts fails whenever a copy differs from the source.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# source (under deploy/collector/) → copies
copy() {
  local src="$root/deploy/collector/$1"; shift
  [ -f "$src" ] || { echo "missing $src" >&2; exit 1; }
  for dst in "$@"; do
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$root/$dst"
    echo "synced $dst"
  done
}
copy config.yaml deploy/k8s/base/collector/config.yaml charts/tracemesh/files/collector-config.yaml
copy k8s.yaml deploy/k8s/base/collector/k8s.yaml charts/tracemesh/files/collector-k8s.yaml
copy xray-otlp.yaml deploy/k8s/base/collector/xray-otlp.yaml charts/tracemesh/files/collector-xray-otlp.yaml
