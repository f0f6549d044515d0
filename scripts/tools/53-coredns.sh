#!/usr/bin/env bash
# CoreDNS for the CI cluster (scripts/cluster.sh), so Service names resolve; it runs as a pod from an image the
# cluster script makes from this binary. Plain `go install` works (no replace directives).
source "$(dirname "$0")/../lib.sh"
COREDNS_VERSION="v1.15.0"
OUT="$TRACEMESH_CACHE/cluster/bin"
if stamp_ok coredns "$COREDNS_VERSION" && [ -x "$OUT/coredns" ]; then exit 0; fi
go_env
log "building CoreDNS $COREDNS_VERSION (one-off, ~4 min)"
mkdir -p "$OUT"
CGO_ENABLED=0 GOBIN="$OUT" go install -p 2 -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
  "github.com/coredns/coredns@$COREDNS_VERSION"
stamp_set coredns "$COREDNS_VERSION"
