#!/usr/bin/env bash
# wrk (Debian's package): benchmark 2 compares loadgen with it; the bench smoke test runs it too.
source "$(dirname "$0")/../lib.sh"
command -v wrk >/dev/null 2>&1 || apt_install wrk
