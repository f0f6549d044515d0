#!/usr/bin/env bash
# skaffold, built from the Go module proxy. Its go.mod has `replace` directives, so `go install pkg@version`
# refuses it: we build it from a small wrapper module (in the cache, not the repo) that requires skaffold and
# repeats those replace directives, read from skaffold's own go.mod so they cannot go stale.
# v2.16.1 is the newest version the module proxy serves here; it reads skaffold.yaml up to apiVersion
# skaffold/v4beta13.
source "$(dirname "$0")/../lib.sh"
SKAFFOLD_VERSION="v2.16.1"
if stamp_ok skaffold "$SKAFFOLD_VERSION" && [ -x "$TRACEMESH_BIN/skaffold" ]; then exit 0; fi
go_env
module="github.com/GoogleContainerTools/skaffold/v2"
log "building skaffold $SKAFFOLD_VERSION from a wrapper module (one-off, ~10 min on 2 cores)"
src_dir="$(go mod download -json "$module@$SKAFFOLD_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
wrapper="$TRACEMESH_CACHE/build/skaffold-$SKAFFOLD_VERSION"
rm -rf "$wrapper" && mkdir -p "$wrapper"
{
  echo "module tracemesh.local/skaffold-wrapper"
  echo
  grep -E '^go [0-9.]+$' "$src_dir/go.mod"
  echo
  echo "require $module $SKAFFOLD_VERSION"
  echo
  # single-line replace directives (the form skaffold uses)
  grep -E '^replace [^(]' "$src_dir/go.mod"
} >"$wrapper/go.mod"
# A replace block `replace ( … )` would need copying too; fail loudly rather than build something different.
if grep -qE '^replace \($' "$src_dir/go.mod"; then die "skaffold's go.mod has a replace block: extend 33-skaffold.sh"; fi
cat >"$wrapper/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"
GO
cd "$wrapper"
go mod tidy >/dev/null 2>&1 || true
go build -trimpath -ldflags "-s -w -X $module/pkg/skaffold/version.version=$SKAFFOLD_VERSION" \
  -o "$TRACEMESH_BIN/skaffold" "$module/cmd/skaffold"
stamp_set skaffold "$SKAFFOLD_VERSION"
