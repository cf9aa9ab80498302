#!/usr/bin/env bash
# `make demo`: starts the whole system (one standalone process) against a
# demo database, dubs the generated sample clip into Spanish and Portuguese
# with the `voxline` CLI, prints where every result is and each dub's quality
# report, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bin=target/debug
port=${VOXLINE_DEMO_PORT:-8787}
state=.voxline/demo
out=demo-output
# Each run replaces the previous run's results.
rm -rf "$out/results" "$out/published"
mkdir -p "$state" "$out"

export VOXLINE__DATABASE__URL=${VOXLINE__DATABASE__URL:-postgres://postgres@127.0.0.1:5432/voxline_demo}
export VOXLINE__REDIS__NAMESPACE=voxline-demo
export VOXLINE__STORAGE__LOCAL_ROOT=$state/objects
export VOXLINE__SERVER__BIND=127.0.0.1:$port
export VOXLINE__SERVER__PUBLIC_URL=http://127.0.0.1:$port
export VOXLINE__PUBLISH__FOLDER=$out/published
export VOXLINE__TELEMETRY__LOG_FILTER=${VOXLINE__TELEMETRY__LOG_FILTER:-warn,voxline=info}
# The best offline engines this machine has: whisper hears the narration
# (pocketsphinx if it cannot); Bergamot's neural model translates into
# Portuguese, apertium the rest; Piper speaks English, Kokoro the languages
# it knows, espeak-ng the rest.
export VOXLINE__ENGINES__TRANSCRIBE=${VOXLINE__ENGINES__TRANSCRIBE:-whisper,pocketsphinx}
export VOXLINE__ENGINES__TRANSLATE=${VOXLINE__ENGINES__TRANSLATE:-bergamot,apertium}
export VOXLINE__ENGINES__SYNTHESIZE=${VOXLINE__ENGINES__SYNTHESIZE:-piper,kokoro,espeak-ng}

# The demo database (created once).
admin=${VOXLINE__DATABASE__URL%/*}/postgres
if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'voxline_demo'" | grep -q 1; then
  psql "$admin" -qc "CREATE DATABASE voxline_demo"
fi

echo "== generating the sample clip"
scripts/sample-clip.sh "$out/sample" >/dev/null
echo "   $out/sample/clip.mp4: \"$(cat "$out/sample/narration.txt")\""

echo "== creating an API key"
VOXLINE_API_KEY=$($bin/voxline keys create --tenant demo --name demo 2>/dev/null)
export VOXLINE_API_KEY

echo "== starting Voxline on 127.0.0.1:$port"
$bin/voxline-standalone > "$state/standalone.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { echo "the server stopped; see $state/standalone.log" >&2; tail -20 "$state/standalone.log" >&2; exit 1; }
  sleep 0.2
done

echo "== dubbing into Spanish and Portuguese"
VOXLINE_SERVER=http://127.0.0.1:$port $bin/voxline dub "$out/sample/clip.mp4" --to es,pt \
  --background "$out/sample/background.wav" --out "$out/results"

echo
echo "== done in $(( $(date +%s) - start )) s"
echo "   dubbed videos (the dub + original English, soft subtitles): $(ls "$out"/results/*/{es,pt}/dub.mp4 | tr '\n' ' ')"
echo "   everything downloaded:   $out/results/"
echo "   published copy:          $out/published/"
echo "   server log:              $state/standalone.log"
