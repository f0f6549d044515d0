#!/usr/bin/env bash
# moto's server (PyPI `moto[server]`): the local stand-in for the AWS X-Ray API in the tests and the
# demo. The real Collector's awsxray exporter sends PutTraceSegments to it; tests read the segments
# back with BatchGetTraces. Installed into a virtualenv in the cache; $TRACEMESH_BIN/moto_server.
source "$(dirname "$0")/../lib.sh"
MOTO_VERSION="5.2.5"
pip_tool moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" moto_server --help
