#!/usr/bin/env bash
# A real redis-server for the integration and end-to-end tests (Debian's package).
source "$(dirname "$0")/../lib.sh"
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
# Debian starts a system-wide instance on 6379; the tests never use it (they pick free ports).
