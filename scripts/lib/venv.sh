# Sourced by the scripts that keep Python tools in a venv under target/tools.

# fresh_venv DIR: an empty virtual environment at DIR, installing Debian's
# python3-venv first where Python cannot make one.
fresh_venv() {
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  rm -rf "$1"
  python3 -m venv "$1"
}
