#!/usr/bin/env bash
# etcd 3.6 for the CI cluster (scripts/cluster.sh), from the Go module proxy. etcd's own main package lives in the
# go.etcd.io/etcd/v3 module, whose go.mod replaces its sibling modules with folders (so `go install` refuses it):
# we build a tiny main that calls etcdmain.Main — the entry point etcd's binary uses. (Debian's etcd-server is
# 3.4: kube-apiserver accepts it but warns and falls back.)
source "$(dirname "$0")/../lib.sh"
ETCD_VERSION="v3.6.16"
OUT="$TRACEMESH_CACHE/cluster/bin"
if stamp_ok etcd "$ETCD_VERSION" && [ -x "$OUT/etcd" ]; then exit 0; fi
go_env
log "building etcd $ETCD_VERSION (one-off, ~1 min)"
dir="$TRACEMESH_CACHE/build/etcd-$ETCD_VERSION"
rm -rf "$dir" && mkdir -p "$dir" "$OUT"
printf 'module tracemesh.local/etcd-wrapper\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
cat >"$dir/main.go" <<'GO'
// etcd's own entry point, from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cd "$dir"
go mod tidy
CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "-s -w" -o "$OUT/etcd" .
stamp_set etcd "$ETCD_VERSION"
