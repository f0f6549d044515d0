#!/usr/bin/env bash
# A real browser for the frontend's browser test (tests/test/e2e/frontend.browser.test.ts): Debian's
# chromium, driven by playwright-core (no browser download). Named 10-* so it runs with the other apt
# installs, before the lanes (apt holds one lock). fonts-dejavu-core: without any font the screenshots
# would show boxes.
source "$(dirname "$0")/../lib.sh"
command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi dejavu && exit 0
apt_install chromium fonts-dejavu-core
chromium --version
