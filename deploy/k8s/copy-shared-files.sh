#!/usr/bin/env bash
# Copies the files the Kubernetes packaging shares with local runs to the two places that package them: the
# kustomize base and the Helm chart. Neither tool may read files outside its own folder, hence copies;
# tests/test/k8s/k8s-wiring.test.ts fails whenever a copy differs from its source. The shared files:
#   - the one Collector configuration: deploy/collector/config.yaml + its k8s.yaml and xray-otlp.yaml overlays;
#   - the failure scenarios' flag file deploy/flags/flags.json (the ConfigMap tracemesh-flags).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# source (relative to the repository root) → copies
copy() {
  local src="$root/$1"; shift
  [ -f "$src" ] || { echo "missing $src" >&2; exit 1; }
  for dst in "$@"; do
    mkdir -p "$(dirname "$root/$dst")"
    cp "$src" "$root/$dst"
    echo "synced $dst"
  done
}
copy deploy/collector/config.yaml deploy/k8s/base/collector/config.yaml charts/tracemesh/files/collector-config.yaml
copy deploy/collector/k8s.yaml deploy/k8s/base/collector/k8s.yaml charts/tracemesh/files/collector-k8s.yaml
copy deploy/collector/xray-otlp.yaml deploy/k8s/base/collector/xray-otlp.yaml charts/tracemesh/files/collector-xray-otlp.yaml
copy deploy/flags/flags.json deploy/k8s/base/flags/flags.json charts/tracemesh/files/flags.json
