#!/usr/bin/env bash
# schemathesis (PyPI): fuzzes the HTTP API from its own OpenAPI document (GET /api/openapi.json) in
# tests/test/reliability-fuzz.test.ts. Installed into a virtualenv in the cache;
# $TRACEMESH_BIN/schemathesis.
source "$(dirname "$0")/../lib.sh"
SCHEMATHESIS_VERSION="4.32.5"
venv="$TRACEMESH_CACHE/schemathesis/$SCHEMATHESIS_VERSION"
if stamp_ok schemathesis "$SCHEMATHESIS_VERSION" && [ -x "$venv/bin/schemathesis" ]; then
  ln -sfn "$venv/bin/schemathesis" "$TRACEMESH_BIN/schemathesis"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
log "installing schemathesis $SCHEMATHESIS_VERSION (API fuzzing) into $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
"$venv/bin/schemathesis" --version >/dev/null || die "schemathesis does not run"
ln -sfn "$venv/bin/schemathesis" "$TRACEMESH_BIN/schemathesis"
stamp_set schemathesis "$SCHEMATHESIS_VERSION"
