#!/usr/bin/env bash
# What CI runs for the web app (sessionlab-web), from the repository root.
# The real-browser test needs Debian's chromium and chromedriver; install them first:
#   apt-get install -y chromium chromium-driver
# Without them tests/browser.rs says so plainly and checks nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "web/ci.sh: chromium/chromedriver missing; run: apt-get install -y chromium chromium-driver" >&2
    exit 1
fi
cargo test -p sessionlab-web
# Screenshots of the browser test: target/browser/*.png
