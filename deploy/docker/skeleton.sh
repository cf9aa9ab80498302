#!/bin/sh
# Copies the workspace's manifests from SRC to OUT with every build target
# replaced by an empty stub, so that the Dockerfile's dependency layer
# (`cargo build` on the skeleton) changes only when a Cargo.toml, Cargo.lock
# or the set of targets does. The same trick cargo-chef plays.
#   skeleton.sh SRC OUT
set -eu
src=$1
out=$2
mkdir -p "$out"
cd "$src"
cp Cargo.toml Cargo.lock "$out/"
# .cargo/config.toml carries build environment (WHISPER_DONT_GENERATE_BINDINGS).
[ -d .cargo ] && cp -R .cargo "$out/"
[ -f rust-toolchain.toml ] && cp rust-toolchain.toml "$out/"
for manifest in crates/*/Cargo.toml services/*/Cargo.toml; do
  dir=$(dirname "$manifest")
  mkdir -p "$out/$dir"
  cp "$manifest" "$out/$dir/"
  # Target roots cargo looks for or that a manifest names ([[bin]], [[bench]]).
  for target in "$dir"/src/lib.rs "$dir"/src/main.rs "$dir"/src/bin/*.rs \
    "$dir"/benches/*.rs "$dir"/build.rs; do
    [ -f "$target" ] || continue
    mkdir -p "$out/$(dirname "$target")"
    case "$target" in
      */src/lib.rs) : >"$out/$target" ;;
      *) echo 'fn main() {}' >"$out/$target" ;;
    esac
  done
done
