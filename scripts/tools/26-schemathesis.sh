#!/usr/bin/env bash
# schemathesis (PyPI): fuzzes the HTTP API from its own OpenAPI document (GET /api/openapi.json) in
# tests/test/reliability/reliability-fuzz.test.ts. Installed into a virtualenv in the cache;
# $TRACEMESH_BIN/schemathesis.
source "$(dirname "$0")/../lib.sh"
SCHEMATHESIS_VERSION="4.32.5"
pip_tool schemathesis "$SCHEMATHESIS_VERSION" "schemathesis==$SCHEMATHESIS_VERSION" schemathesis --version
