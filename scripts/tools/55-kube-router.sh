#!/usr/bin/env bash
# kube-router's network policy controller for the CI cluster (scripts/cluster.sh runs it as a host process beside
# kube-proxy, firewall only: --run-firewall=true --run-router=false --run-service-proxy=false), so the
# NetworkPolicies are enforced there as a CNI that enforces them would on kind, minikube or EKS. It programs
# iptables chains and ipsets (scripts/tools/10-cluster-packages.sh installs the ipset command it calls); this
# kernel lacks the nftables `queue` expression that kube-network-policies needs (deploy/k8s/README.md).
# The version is pinned: the module proxy's version list and @latest give v2.1.0, which has reported security
# flaws. The proxy here answers 403 "This module version is not available" for v2.11.0 and v2.11.1 (checked
# 2026-12-06; v2.11 adds an experimental nftables backend and a GoBGP bump, neither used here); v2.10.0 downloads,
# but the netlink pseudo-version it requires (v1.3.2-0.20260505…) is refused the same way, so a small wrapper module
# builds it with netlink v1.3.1, the newest tagged release before it (kube-router compiles against it unchanged).
source "$(dirname "$0")/../lib.sh"
KUBE_ROUTER_VERSION="v2.10.0"
NETLINK_VERSION="v1.3.1"
OUT="$TRACEMESH_CACHE/cluster/bin"
if stamp_ok kube-router "$KUBE_ROUTER_VERSION+netlink-$NETLINK_VERSION" && [ -x "$OUT/kube-router" ]; then exit 0; fi
go_env
log "building kube-router $KUBE_ROUTER_VERSION (one-off, ~4 min)"
module="github.com/cloudnativelabs/kube-router/v2"
dir="$TRACEMESH_CACHE/build/kube-router-$KUBE_ROUTER_VERSION"
rm -rf "$dir" && mkdir -p "$dir" "$OUT"
cat >"$dir/go.mod" <<GOMOD
module tracemesh.local/kube-router-wrapper

go 1.26.0

require $module $KUBE_ROUTER_VERSION

replace github.com/vishvananda/netlink => github.com/vishvananda/netlink $NETLINK_VERSION
GOMOD
cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
GO
cd "$dir"
go mod tidy
CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "-s -w -X $module/pkg/version.Version=$KUBE_ROUTER_VERSION" \
  -o "$OUT/kube-router" "$module/cmd/kube-router"
stamp_set kube-router "$KUBE_ROUTER_VERSION+netlink-$NETLINK_VERSION"
