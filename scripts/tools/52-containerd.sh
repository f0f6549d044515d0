#!/usr/bin/env bash
# containerd 2.x for the CI cluster (scripts/cluster.sh): containerd, containerd-shim-runc-v2 and ctr, plus crictl
# (sigs.k8s.io/cri-tools), from the Go module proxy in one wrapper module. runc and the CNI plugins come from
# Debian (10-cluster-packages.sh). Static builds (CGO off) leave out the btrfs snapshotter, which needs cgo;
# the cluster uses overlayfs.
source "$(dirname "$0")/../lib.sh"
CONTAINERD_VERSION="v2.4.2"
CRI_TOOLS_VERSION="v1.37.0"
KEY="$CONTAINERD_VERSION+$CRI_TOOLS_VERSION"
OUT="$TRACEMESH_CACHE/cluster/bin"
all_there() { local b; for b in containerd containerd-shim-runc-v2 ctr crictl; do [ -x "$OUT/$b" ] || return 1; done; }
if stamp_ok containerd "$KEY" && all_there; then exit 0; fi
go_env
log "building containerd $CONTAINERD_VERSION and crictl $CRI_TOOLS_VERSION (one-off, ~3 min)"
WRAPPER_GOMOD="go 1.26.6

require (
	github.com/containerd/containerd/v2 $CONTAINERD_VERSION
	sigs.k8s.io/cri-tools $CRI_TOOLS_VERSION
)"
c=github.com/containerd/containerd/v2
go_wrapper_build "$TRACEMESH_CACHE/build/containerd-$KEY" "$OUT" \
  "-s -w -X $c/version.Version=$CONTAINERD_VERSION -X $c/version.Revision=module-proxy -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
  "$c/cmd/containerd" "$c/cmd/containerd-shim-runc-v2" "$c/cmd/ctr" sigs.k8s.io/cri-tools/cmd/crictl
all_there || die "go build finished but some containerd binaries are missing in $OUT"
stamp_set containerd "$KEY"
