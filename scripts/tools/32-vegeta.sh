#!/usr/bin/env bash
# vegeta (open-loop HTTP load generator, Go): benchmark 2 runs it beside loadgen, at the same constant rate, for
# requests/s per core and for the stalled-server scenario; built from its Go module into the cache's bin/.
source "$(dirname "$0")/../lib.sh"
VEGETA_VERSION="v12.13.0"
if stamp_ok vegeta "$VEGETA_VERSION" && [ -x "$TRACEMESH_BIN/vegeta" ]; then exit 0; fi
go_env
log "building vegeta $VEGETA_VERSION"
GOBIN="$TRACEMESH_BIN" go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
stamp_set vegeta "$VEGETA_VERSION"
