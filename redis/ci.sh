#!/usr/bin/env bash
# Runs the Redis store's tests against a real, throwaway redis-server.
#
#   bash redis/ci.sh                   # the sessionlab-redis tests
#   bash redis/ci.sh cargo test --workspace   # any command, with the server up and the URL set
#
# Installs Debian's redis-server if it is missing, starts it on a loopback port with no
# persistence, exports SESSIONLAB_REDIS_URL, runs the command, and stops the server however the
# command ends. The fault tests start (and kill) servers of their own on other ports.
set -euo pipefail

port="${SESSIONLAB_REDIS_PORT:-6390}"

if ! command -v redis-server >/dev/null; then
    echo "redis/ci.sh: installing redis-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq redis-server >/dev/null
fi

if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "redis/ci.sh: something already answers on port $port; set SESSIONLAB_REDIS_PORT to a free one"
    exit 1
fi

dir="$(mktemp -d)"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
stop() {
    # Only the server this script started (its pidfile) is signalled; SIGTERM makes Redis shut
    # down cleanly, and with --save '' it writes nothing.
    if [[ -f "$dir/redis.pid" ]]; then
        local pid
        pid="$(cat "$dir/redis.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 100); do
    [[ -s "$dir/redis.pid" ]] && redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done
redis-cli -p "$port" ping >/dev/null || { echo "redis/ci.sh: redis-server did not start"; cat "$dir/redis.log"; exit 1; }

export SESSIONLAB_REDIS_URL="redis://127.0.0.1:$port/"
echo "redis/ci.sh: $(redis-server --version | cut -d' ' -f1-3) on $SESSIONLAB_REDIS_URL"

if [[ $# -eq 0 ]]; then
    set -- cargo test -p sessionlab-redis
fi
"$@"
