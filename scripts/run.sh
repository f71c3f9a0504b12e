#!/usr/bin/env bash
# Start Redis, a Celery worker, Celery beat (the periodic full sync, see CELLTYPES_MIRROR_INTERVAL) and the web
# server; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PORT="${PORT:-8000}"
REDIS_PORT="${REDIS_PORT:-6379}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}"
mkdir -p var/log

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping: ${pids[*]:-}"
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if "$VENV/bin/python" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL', socket_connect_timeout=1).ping()" 2>/dev/null; then
  echo "using the Redis already running at $REDIS_URL"
else
  REDIS_SERVER="$(VENV=$VENV scripts/redis_server_path.sh)"
  echo "starting $REDIS_SERVER on port $REDIS_PORT"
  "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >var/log/redis.log 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    "$VENV/bin/python" -c "import redis; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
    sleep 0.1
  done
fi

# Static files under hashed names, gzip-compressed (see STATIC_MANIFEST in celltypes/settings.py).
export DJANGO_STATIC_MANIFEST="${DJANGO_STATIC_MANIFEST:-1}"
"$VENV/bin/python" manage.py collectstatic --noinput -v0

"$VENV/bin/celery" -A celltypes worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
pids+=($!)
echo "celery worker started (log: var/log/worker.log)"

"$VENV/bin/celery" -A celltypes beat --loglevel=INFO --schedule var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)
echo "celery beat started (log: var/log/beat.log)"

echo "celltypes on http://127.0.0.1:${PORT}/  (health: http://127.0.0.1:${PORT}/health)  Ctrl-C stops everything"
"$VENV/bin/gunicorn" celltypes.wsgi --bind "0.0.0.0:${PORT}" --workers "${WEB_WORKERS:-3}" --threads 4 \
  --access-logfile - &
pids+=($!)
wait -n "${pids[@]}"
