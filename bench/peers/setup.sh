#!/usr/bin/env bash
# Installs the peer systems of the pipeline-throughput benchmark (issue #8):
# Celery with its Redis transport into target/tools/bench-venv and BullMQ into
# target/tools/bench-npm. Idempotent and quiet when nothing changed: each
# folder keeps the pins it was installed with in .pins and is installed anew
# only when the pins below differ. No stdin is read (CI=true safe).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/venv.sh
. "$root/scripts/lib/venv.sh"
venv="$root/target/tools/bench-venv"
npm_dir="$root/target/tools/bench-npm"

# Celery 5.7 and the Redis client kombu's redis transport asks for
# (redis>=6.4,<9); kombu pinned with it since celery only asks for >=5.7.
pip_pins=("celery[redis]==5.7.0" kombu==5.7.0 redis==8.1.0)
# The newest 5.x (6.x exists; the issue names 5.x). It brings ioredis 5.
npm_pins=(bullmq@5.81.5)
pip_stamp="${pip_pins[*]}"
npm_stamp="${npm_pins[*]}"

log() { echo "bench-peers setup: $*" >&2; }

if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pip_stamp" ]; then
  log "installing ${pip_pins[*]} into target/tools/bench-venv"
  fresh_venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${pip_pins[@]}" </dev/null
  echo "$pip_stamp" >"$venv/.pins"
fi

if [ "$(cat "$npm_dir/.pins" 2>/dev/null)" != "$npm_stamp" ]; then
  command -v npm >/dev/null || { log "needs node and npm (Debian: apt-get install nodejs npm)"; exit 1; }
  log "installing ${npm_pins[*]} into target/tools/bench-npm"
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent "${npm_pins[@]}" </dev/null >/dev/null 2>&1 \
    || npm install --prefix "$npm_dir" --no-audit --no-fund "${npm_pins[@]}" </dev/null
  echo "$npm_stamp" >"$npm_dir/.pins"
fi
