#!/usr/bin/env bash
# helm, built from the Go module proxy (helm lint / helm template in tests/test/k8s/k8s-*.test.ts).
source "$(dirname "$0")/../lib.sh"
HELM_VERSION="v3.22.0"
if stamp_ok helm "$HELM_VERSION" && [ -x "$TRACEMESH_BIN/helm" ]; then exit 0; fi
go_env
log "building helm $HELM_VERSION (one-off, ~2-4 min on 2 cores)"
GOBIN="$TRACEMESH_BIN" go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
stamp_set helm "$HELM_VERSION"
