#!/usr/bin/env bash
# Kubernetes for the CI cluster (scripts/cluster.sh): kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy and kubectl of one release, built from the Go module proxy. k8s.io/kubernetes replaces its
# k8s.io/* staging modules with ./staging folders, so `go install` refuses it: a small wrapper module (in the
# cache, not the repo) requires it and replaces each staging module with its published v0.Y.Z twin — the list is
# read from k8s' own go.mod so it cannot go stale. One `go build` for all six binaries shares the compile work
# (one module graph); -p 2 keeps it to the machine's two cores. kind's default node image runs 1.37.
source "$(dirname "$0")/../lib.sh"
K8S_VERSION="v1.37.2"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
OUT="$TRACEMESH_CACHE/cluster/bin"
all_there() { local b; for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done; }
if stamp_ok kubernetes "$K8S_VERSION" && all_there; then exit 0; fi
go_env
log "building Kubernetes $K8S_VERSION (${BINARIES[*]}) from a wrapper module (one-off, ~15 min on 2 cores)"
src_dir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
staging_version="v0.${K8S_VERSION#v1.}"
wrapper="$TRACEMESH_CACHE/build/kubernetes-$K8S_VERSION"
rm -rf "$wrapper" && mkdir -p "$wrapper" "$OUT"
{
  echo "module tracemesh.local/kubernetes-wrapper"
  echo
  grep -E '^go [0-9.]+$' "$src_dir/go.mod"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  # `k8s.io/api => ./staging/src/k8s.io/api` becomes `k8s.io/api => k8s.io/api v0.37.2`
  sed -nE "s#^\s+(k8s\.io/[^ ]+) => \./staging/src/.*#\t\1 => \1 $staging_version#p" "$src_dir/go.mod"
  echo ")"
} >"$wrapper/go.mod"
count="$(grep -c " => k8s.io/" "$wrapper/go.mod")"
[ "$count" -ge 30 ] || die "found only $count staging modules in k8s' go.mod: its layout changed, fix 50-kubernetes.sh"
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  for b in "${BINARIES[@]}"; do echo "import _ \"k8s.io/kubernetes/cmd/$b\""; done
} >"$wrapper/tools.go"
cd "$wrapper"
go mod tidy
major="${K8S_VERSION#v}"; major="${major%%.*}"
minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
pkgs=()
for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
ldflags="-s -w"
for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  ldflags+=" -X $v.gitCommit=module-proxy -X $v.buildDate=1970-01-01T00:00:00Z"
done
CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "$ldflags" -o "$OUT/" "${pkgs[@]}"
all_there || die "go build finished but some Kubernetes binaries are missing in $OUT"
stamp_set kubernetes "$K8S_VERSION"
