#!/usr/bin/env bash
# `make up`: starts the whole system as separate processes, as it runs in
# production (the gateway, one worker per stage, the janitor), against a
# development database, and leaves it running. Prints the URLs, an API key
# and the admin token. `make down` (scripts/up.sh down) stops it. Running
# `make up` again while it is up only prints the same again.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug
port=${VOXLINE_UP_PORT:-8080}
state=.voxline/up
services=(voxline-gateway voxline-transcriber voxline-translator voxline-synthesizer voxline-renderer voxline-publisher voxline-janitor)

running() { [[ -f $state/$1.pid ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

if [[ ${1:-} == down ]]; then
  stopped=0
  for s in "${services[@]}"; do
    if running "$s"; then
      kill -TERM "$(cat "$state/$s.pid")" && stopped=$((stopped + 1))
    fi
  done
  # Each service finishes or hands back its work on SIGTERM; wait for them.
  for _ in $(seq 1 150); do
    alive=0
    for s in "${services[@]}"; do running "$s" && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.2
  done
  for s in "${services[@]}"; do
    running "$s" && { echo "$s did not stop within 30 s; killing it" >&2; kill -KILL "$(cat "$state/$s.pid")"; }
    rm -f "$state/$s.pid"
  done
  echo "stopped $stopped processes (logs stay in $state/logs/)"
  exit 0
fi

mkdir -p "$state/logs" "$state/objects"
export VOXLINE__DATABASE__URL=${VOXLINE__DATABASE__URL:-postgres://postgres@127.0.0.1:5432/voxline_dev}
export VOXLINE__REDIS__NAMESPACE=${VOXLINE__REDIS__NAMESPACE:-voxline-dev}
export VOXLINE__STORAGE__LOCAL_ROOT=${VOXLINE__STORAGE__LOCAL_ROOT:-$PWD/$state/objects}
export VOXLINE__SERVER__BIND=127.0.0.1:$port
export VOXLINE__SERVER__PUBLIC_URL=http://127.0.0.1:$port
export VOXLINE__PUBLISH__FOLDER=${VOXLINE__PUBLISH__FOLDER:-$PWD/$state/published}
export VOXLINE__TELEMETRY__LOG_FILTER=${VOXLINE__TELEMETRY__LOG_FILTER:-warn,voxline=info}
export VOXLINE__ENGINES__TRANSCRIBE=${VOXLINE__ENGINES__TRANSCRIBE:-whisper,pocketsphinx}
export VOXLINE__ENGINES__TRANSLATE=${VOXLINE__ENGINES__TRANSLATE:-bergamot,apertium}
export VOXLINE__ENGINES__SYNTHESIZE=${VOXLINE__ENGINES__SYNTHESIZE:-piper,kokoro,espeak-ng}
# The admin token is made once and kept with the state.
[[ -s $state/admin-token ]] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/admin-token"
export VOXLINE__AUTH__ADMIN_TOKEN=$(cat "$state/admin-token")

admin=${VOXLINE__DATABASE__URL%/*}/postgres
db=${VOXLINE__DATABASE__URL##*/}
if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql "$admin" -qc "CREATE DATABASE \"$db\""
fi
# One API key, made once (keys are shown only when made).
[[ -s $state/api-key ]] || $bin/voxline keys create --tenant dev --name "make up" > "$state/api-key"

# Each process serves its metrics and health on its own port: 9464, 9465, ...
ops=${VOXLINE_UP_OPS_PORT:-9464}
for i in "${!services[@]}"; do
  s=${services[$i]}
  if running "$s"; then continue; fi
  VOXLINE__TELEMETRY__OPS_BIND=127.0.0.1:$((ops + i)) nohup "$bin/$s" >> "$state/logs/$s.log" 2>&1 &
  echo $! > "$state/$s.pid"
done
failed() {
  echo "$1; see $state/logs/" >&2
  grep -h "^Error" "$state"/logs/*.log >&2 || true
  "$0" down >&2
  exit 1
}
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  running voxline-gateway || failed "the gateway stopped"
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || failed "the gateway is not ready after 30 s"
sleep 1
for s in "${services[@]}"; do running "$s" || failed "$s stopped"; done

cat <<INFO
Voxline is up: ${services[*]}
  (pids in $state/*.pid, logs in $state/logs/)
  API             http://127.0.0.1:$port/v1   (reference: http://127.0.0.1:$port/docs/)
  dashboard       http://127.0.0.1:$port/admin   (sign in with the admin token)
  studio          http://127.0.0.1:$port/studio  (sign in with the API key)
  API key         $(cat "$state/api-key")   (tenant dev)
  admin token     $(cat "$state/admin-token")
  metrics         http://127.0.0.1:$ops/metrics … :$((ops + ${#services[@]} - 1)) (one port per process, in the order above)
Try:  VOXLINE_SERVER=http://127.0.0.1:$port VOXLINE_API_KEY=\$(cat $state/api-key) $bin/voxline dub clip.mp4 --to es
Stop: make down
INFO
