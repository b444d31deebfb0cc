#!/usr/bin/env bash
# Runs a command (by default the sessionlab-redis tests) on a machine where Redis is installed.
#
#   bash redis/ci.sh                           # the sessionlab-redis tests
#   bash redis/ci.sh cargo test --workspace    # any command
#
# The Redis tests start their own redis-server (and cluster) on free loopback ports whenever
# the binary is on the PATH, so all this script adds is installing Debian's redis-server where
# it is missing: CI then never skips a Redis test. SESSIONLAB_REDIS_URL, if set, still points
# the tests at a server of your own instead.
set -euo pipefail

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "redis/ci.sh: installing redis-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq redis-server >/dev/null
fi
echo "redis/ci.sh: $(redis-server --version | cut -d' ' -f1-3)"

if [[ $# -eq 0 ]]; then
    set -- cargo test -p sessionlab-redis
fi
"$@"
