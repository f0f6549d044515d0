#!/usr/bin/env bash
# kube-network-policies (sigs.k8s.io, the NetworkPolicy enforcer kind ships) for the CI cluster, so the
# network-policies component is enforced there: a static Go binary (nftables and nfqueue over netlink, no nft
# CLI needed), which scripts/cluster.sh wraps into an image and runs as a DaemonSet. Plain `go install` works.
source "$(dirname "$0")/../lib.sh"
NETPOL_VERSION="v0.8.0"
OUT="$TRACEMESH_CACHE/cluster/bin"
if stamp_ok network-policies "$NETPOL_VERSION" && [ -x "$OUT/kube-network-policies" ]; then exit 0; fi
go_env
log "building kube-network-policies $NETPOL_VERSION (one-off, ~3 min)"
mkdir -p "$OUT"
tmp="$(mktemp -d)"
CGO_ENABLED=0 GOBIN="$tmp" go install -p 2 -trimpath -ldflags "-s -w" "sigs.k8s.io/kube-network-policies/cmd@$NETPOL_VERSION"
mv "$tmp/cmd" "$OUT/kube-network-policies"
rmdir "$tmp"
stamp_set network-policies "$NETPOL_VERSION"
