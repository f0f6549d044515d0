#!/usr/bin/env bash
# moto's server (PyPI `moto[server]`): the local stand-in for the AWS X-Ray API in the tests and the
# demo. The real Collector's awsxray exporter sends PutTraceSegments to it; tests read the segments
# back with BatchGetTraces. Installed into a virtualenv in the cache; $TRACEMESH_BIN/moto_server.
source "$(dirname "$0")/../lib.sh"
MOTO_VERSION="5.2.5"
venv="$TRACEMESH_CACHE/moto/$MOTO_VERSION"
if stamp_ok moto "$MOTO_VERSION" && [ -x "$venv/bin/moto_server" ]; then
  ln -sfn "$venv/bin/moto_server" "$TRACEMESH_BIN/moto_server"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
log "installing moto[server] $MOTO_VERSION (X-Ray stand-in) into $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$venv/bin/moto_server" --help >/dev/null || die "moto_server does not run"
ln -sfn "$venv/bin/moto_server" "$TRACEMESH_BIN/moto_server"
stamp_set moto "$MOTO_VERSION"
