#!/usr/bin/env bash
# Starts or stops the Redis Stack that the demo uses, on loopback.
#   scripts/redis-stack.sh start   prints the redis:// URL of a running server
#   scripts/redis-stack.sh stop    stops the server this script started
#   scripts/redis-stack.sh cli ... runs redis-cli against that server with the given arguments
# With DOCSEARCH_REDIS_URL set, `start` only prints that URL: the services then use that Redis, which
# must have the search module. Otherwise `redis-stack-server` on PATH is used when present, else the
# Redis Stack that scripts/provision.sh keeps in its cache. The server listens on DOCSEARCH_REDIS_PORT
# (default 6399) and keeps its pid, log and data under $DOCSEARCH_RUN_DIR (default <cache>/run).
set -euo pipefail

CACHE_DIR=${DOCSEARCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docsearch}
RUN_DIR=${DOCSEARCH_RUN_DIR:-$CACHE_DIR/run}
PORT=${DOCSEARCH_REDIS_PORT:-6399}
PID_FILE=$RUN_DIR/redis.pid
ROOT=$(cd "$(dirname "$0")/.." && pwd)

is_running() {
  [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

start() {
  if [[ -n ${DOCSEARCH_REDIS_URL:-} ]]; then
    echo "$DOCSEARCH_REDIS_URL"
    return
  fi
  mkdir -p "$RUN_DIR/redis-data"
  if is_running; then
    echo "redis://127.0.0.1:$(cat "$RUN_DIR/redis.port")"
    return
  fi
  local args=(--port "$PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis-data" --save "" --appendonly no
    --daemonize yes --pidfile "$PID_FILE" --logfile "$RUN_DIR/redis.log")
  if command -v redis-stack-server >/dev/null 2>&1; then
    redis-stack-server "${args[@]}" >/dev/null
  else
    "$ROOT/scripts/provision.sh" redis
    local dir=$CACHE_DIR/redis-stack
    LD_LIBRARY_PATH=$dir/ssl/usr/lib/x86_64-linux-gnu "$dir/bin/redis-server" "${args[@]}" \
      --loadmodule "$dir/lib/redisearch.so" --loadmodule "$dir/lib/rejson.so"
  fi
  echo "$PORT" >"$RUN_DIR/redis.port"
  for _ in $(seq 1 100); do
    if is_running && (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      echo "redis://127.0.0.1:$PORT"
      return
    fi
    sleep 0.1
  done
  echo "redis-stack: the server did not start on port $PORT; see $RUN_DIR/redis.log" >&2
  tail -n 20 "$RUN_DIR/redis.log" >&2 || true
  exit 1
}

stop() {
  if is_running; then
    kill "$(cat "$PID_FILE")"
    rm -f "$PID_FILE"
    echo "redis-stack: stopped" >&2
  fi
}

# Runs redis-cli on the server's port. The cached redis-cli, like redis-server, links the libssl1.1 that
# provision.sh unpacks beside it.
cli() {
  local port=$PORT
  [[ -f $RUN_DIR/redis.port ]] && port=$(cat "$RUN_DIR/redis.port")
  if command -v redis-cli >/dev/null 2>&1; then
    exec redis-cli -h 127.0.0.1 -p "$port" "$@"
  fi
  local dir=$CACHE_DIR/redis-stack
  LD_LIBRARY_PATH=$dir/ssl/usr/lib/x86_64-linux-gnu exec "$dir/bin/redis-cli" -h 127.0.0.1 -p "$port" "$@"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  cli) shift; cli "$@" ;;
  *) echo "usage: $0 start|stop|cli [redis-cli arguments]" >&2; exit 2 ;;
esac
