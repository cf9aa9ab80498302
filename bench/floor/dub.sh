#!/usr/bin/env bash
# The floor of the media-overhead benchmark (issue #8,
# crates/testkit/benches/media_overhead.rs): dubs a clip into Spanish with
# the engines of Voxline's default offline pipeline, chained directly by
# this script. No database, no queue, no object storage: files in a temp
# dir, one program after another (but 4 lines spoken at once, as Voxline does).
#   usage: bench/floor/dub.sh CLIP.mp4 OUT_DIR
# Writes OUT_DIR/dub.mp4 (the source's video copied, the Spanish dub as the
# first audio track, the English original as the second, soft Spanish
# subtitles), OUT_DIR/voice.m4a, subtitles.srt and .vtt, transcript.tsv,
# translation.tsv, placements.tsv, and times.tsv (seconds per step and the
# timing fit's figures, for the benchmark).
#
# The commands are the ones Voxline runs with its default settings
# (config/voxline.example.toml, crates/config/src/sections.rs):
#   transcribe  crates/providers/src/pocketsphinx.rs (16 kHz mono PCM via
#               ffmpeg, `pocketsphinx_continuous -infile … -time yes`, the
#               default en-us model; words grouped into lines per utterance,
#               split at pauses over 0.6 s and at 12 s)
#   translate   crates/providers/src/apertium.rs (`apertium -u -f txt
#               eng-spa`, every line in one call, a blank line between them;
#               line by line if the count comes back different)
#   synthesize  crates/providers/src/espeak.rs and services/synthesizer
#               (`espeak-ng -v es -s 160 --stdin -w`, resampled to 48 kHz
#               mono, its length probed; 4 lines at once, engines.lines_at_once)
#   render      services/renderer/src/dub.rs with crates/media/src/
#               timeline.rs (timing fit, atempo up to 1.3×), mix.rs (the
#               sidechain-ducked mix over the original at 0.15) and mux.rs.
#
# What this simplifies compared with Voxline (the benchmark's report says so
# too):
# - no timeouts or kill-on-drop around the child processes, no retries, no
#   fallback chains, no stderr tails in errors: `set -e` stops at the first
#   failure;
# - no upload, probing and storing of the source, no artifacts written to and
#   read back from object storage, no transcript.json / translation.json /
#   synthesis.json, no transcript SRT/VTT, no usage or progress rows, no
#   per-line audio cache (Voxline hashes each line to reuse it on re-runs);
# - the voice track is assembled by ffmpeg (adelay per line, amix with
#   normalize=0, padded and cut to the source's length in samples) where
#   Voxline sums the samples in Rust: the same placement to the sample, the
#   same clipping, but floating-point mixing;
# - the source must have video (Voxline also dubs audio-only media into
#   dub.m4a); no background upload (the original is the background, as for
#   a job without `background_upload_id`); soft subtitles only;
# - an empty line is not special-cased (espeak-ng speaks nothing; Voxline
#   writes 0.1 s of silence), and lines are never shortened (Voxline only
#   shortens with a chat-model translator, which the default chain has none of).
set -euo pipefail
# Decimal points in awk's and printf's numbers whatever the locale.
export LC_NUMERIC=C
clip=${1:?usage: $0 CLIP.mp4 OUT_DIR}
out=${2:?usage: $0 CLIP.mp4 OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/voxline-floor.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Voxline's defaults (engines.*).
ESPEAK_RATE=${FLOOR_ESPEAK_RATE:-160}
MAX_TEMPO=${FLOOR_MAX_TEMPO:-1.3}
ORIGINAL_GAIN=${FLOOR_ORIGINAL_GAIN:-0.15}
LINES_AT_ONCE=${FLOOR_LINES_AT_ONCE:-4}
RATE=48000
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)

: > "$out/times.tsv"
step_started=$EPOCHREALTIME
step() { # records the seconds since the previous step under the name $1
  local now=$EPOCHREALTIME
  awk -v n="$1" -v a="$step_started" -v b="$now" 'BEGIN { printf "%s\t%.3f\n", n, b - a }' >> "$out/times.tsv"
  step_started=$now
}
probe_duration() {
  ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"
}

# ---- probe -------------------------------------------------------------
total=$(probe_duration "$clip")
[[ -n $(ffprobe -v error -select_streams v -show_entries stream=index -of csv=p=0 "$clip") ]] ||
  { echo "$clip has no video stream: the floor only dubs video" >&2; exit 1; }
step probe

# ---- transcribe: pocketsphinx ------------------------------------------
"${FF[@]}" -i "$clip" -map 0:a:0 -vn -acodec pcm_s16le -ar 16000 -ac 1 "$work/speech.wav"
pocketsphinx_continuous -infile "$work/speech.wav" -time yes -logfn /dev/null > "$work/ps.txt"
# Timed words (`word start end confidence`) into lines: one per utterance
# (`</s>` ends one), split at pauses over 0.6 s and when a line would run
# past 12 s; `<sil>`, `[NOISE]`, `++FILLER++` dropped, `word(2)` read as
# `word`; each line capitalized, `i` as `I`, with a final period.
awk -v pause=0.6 -v max_line=12 '
  function flush(   text, c) {
    if (n == 0) return
    text = words
    c = toupper(substr(text, 1, 1)); text = c substr(text, 2)
    gsub(/ i /, " I ", text); gsub(/ i\047/, " I\047", text)
    printf "%d\t%.3f\t%.3f\t%s.\n", ++id, first, last, text
    n = 0; words = ""
  }
  NF == 4 && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9.]+$/ && $4 ~ /^[0-9.]+$/ {
    if ($1 == "</s>") { flush(); next }
    if ($1 ~ /^(<|\[|\+\+)/) next
    w = $1; sub(/\(.*/, "", w)
    if (n > 0 && ($2 - last > pause || $3 - first > max_line)) flush()
    if (n == 0) first = $2
    words = (n > 0 ? words " " : "") w; n++; last = $3
  }
  END { flush() }
' "$work/ps.txt" > "$out/transcript.tsv"
lines=$(wc -l < "$out/transcript.tsv")
step transcribe

# ---- translate: apertium eng-spa ---------------------------------------
cut -f4 "$out/transcript.tsv" | awk 'NR > 1 { printf "\n\n" } { printf "%s", $0 } END { if (NR) printf "\n" }' \
  > "$work/english.txt"
: > "$work/spanish.txt"
if (( lines > 0 )); then
  apertium -u -f txt eng-spa < "$work/english.txt" > "$work/apertium.txt"
  # Paragraphs back into lines, whitespace folded (Voxline's `tidy`).
  awk 'BEGIN { RS = "\n\n" } { gsub(/[ \t\n]+/, " "); sub(/^ /, ""); sub(/ $/, ""); print }' \
    "$work/apertium.txt" | head -n "$lines" > "$work/spanish.txt"
  if (( $(grep -c . "$work/spanish.txt" || true) != lines )); then
    # Paragraphs merged or split: line by line, as Voxline falls back to.
    : > "$work/spanish.txt"
    while IFS= read -r text; do
      printf '%s\n' "$text" | apertium -u -f txt eng-spa | tr -s ' \n' '  ' | sed 's/^ //; s/ $//' \
        >> "$work/spanish.txt"
      echo >> "$work/spanish.txt"
    done < <(cut -f4 "$out/transcript.tsv")
  fi
fi
paste <(cut -f1-3 "$out/transcript.tsv") "$work/spanish.txt" > "$out/translation.tsv"
step translate

# ---- synthesize: espeak-ng, 4 lines at once ----------------------------
speak() { # id text: line-ID.wav (48 kHz mono) and its seconds in line-ID.len
  local id=$1 text=$2
  printf '%s' "$text" | espeak-ng -v es -s "$ESPEAK_RATE" --stdin -w "$work/raw-$id.wav"
  "${FF[@]}" -i "$work/raw-$id.wav" -map 0:a:0 -vn -acodec pcm_s16le -ar "$RATE" -ac 1 "$work/line-$id.wav"
  probe_duration "$work/line-$id.wav" > "$work/line-$id.len"
}
export -f speak probe_duration
export work ESPEAK_RATE RATE
export FF_FLAGS="${FF[*]}"
if (( lines > 0 )); then
  # `export -f` cannot carry the FF array: rebuild it in each child.
  awk -F'\t' '{ printf "%s\0%s\0", $1, $4 }' "$out/translation.tsv" |
    xargs -0 -n 2 -P "$LINES_AT_ONCE" bash -c 'FF=($FF_FLAGS); speak "$1" "$2"' _
fi
step synthesize

# ---- render: timing fit, voice track, ducked mix, mux ------------------
# Placements (crates/media/src/timeline.rs): a line starts at its segment's
# start, or when the line before it ends; a line longer than its segment is
# sped up to at most MAX_TEMPO; what is still too long runs on.
while IFS=$'\t' read -r id start end _; do
  printf '%s\t%s\t%s\t%s\n' "$id" "$start" "$end" "$(cat "$work/line-$id.len")"
done < "$out/translation.tsv" |
  awk -F'\t' -v cap="$MAX_TEMPO" '{
    slot = $3 - $2; if (slot < 0.01) slot = 0.01
    tempo = $4 / slot; if (tempo < 1) tempo = 1; if (tempo > cap) tempo = cap
    dur = $4 / tempo; at = ($2 > free) ? $2 : free; free = at + dur
    printf "%s\t%.6f\t%.6f\t%.6f\t%s\n", $1, at, tempo, dur, $3
  }' > "$out/placements.tsv"
inputs=() graph="" mixes=""
n=0
while IFS=$'\t' read -r id at tempo dur _; do
  wav="$work/line-$id.wav"
  if awk -v t="$tempo" 'BEGIN { exit !(t > 1.001) }'; then
    "${FF[@]}" -i "$wav" -af "atempo=$(printf '%.5f' "$tempo")" -ar "$RATE" -ac 1 -acodec pcm_s16le "$work/tempo-$id.wav"
    wav="$work/tempo-$id.wav"
  fi
  inputs+=(-i "$wav")
  delay=$(awk -v a="$at" -v r="$RATE" 'BEGIN { printf "%d", a * r + 0.5 }')
  graph+="[$n:a]adelay=delays=${delay}S:all=1[l$n];"
  mixes+="[l$n]"
  n=$((n + 1))
done < "$out/placements.tsv"
samples=$(awk -v t="$total" -v r="$RATE" 'BEGIN { printf "%d", t * r + 0.5 }')
if (( n > 0 )); then
  graph+="${mixes}amix=inputs=$n:duration=longest:normalize=0,apad=whole_len=$samples,atrim=end_sample=$samples[v]"
else
  inputs=(-f lavfi -i "anullsrc=r=$RATE:cl=mono")
  graph="[0:a]atrim=end_sample=$samples[v]"
fi
"${FF[@]}" "${inputs[@]}" -filter_complex "$graph" -map "[v]" -ar "$RATE" -ac 1 -acodec pcm_s16le "$work/voice.wav"

# The soundtrack (crates/media/src/mix.rs): the original, ducked under the
# voice by sidechain compression, with the voice over it, exactly as long as
# the source.
format="aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
dur3=$(printf '%.3f' "$total")
"${FF[@]}" -i "$work/voice.wav" -i "$clip" -filter_complex \
  "[1:a:0]$format,volume=$(printf '%.3f' "$ORIGINAL_GAIN"),apad[bg];\
[0:a:0]$format,apad,asplit=2[voice][key];\
[bg][key]sidechaincompress=threshold=0.015:ratio=10:attack=15:release=350:makeup=1[ducked];\
[ducked][voice]amix=inputs=2:duration=first:normalize=0,atrim=end=$dur3[mix]" \
  -map "[mix]" -t "$dur3" -ar 48000 -c:a pcm_s16le "$work/mix.wav"

# The mix brought to the source's loudness (crates/media/src/loudness.rs):
# EBU R128 integrated loudness of both, the gain between them, held so the
# loudest sample stays at or under -1 dBFS when it raises the level.
loudness() { # prints "integrated peak" of $1's first audio stream
  ffmpeg -nostdin -hide_banner -nostats -i "$1" -map 0:a:0 -af ebur128=peak=sample -f null - 2>&1 |
    awk '/Summary:/ { s = 1 } s && $1 == "I:" { i = $2 } s && $1 == "Peak:" { p = $2 } END { print i, p }'
}
read -r source_i _ < <(loudness "$clip")
read -r mix_i mix_peak < <(loudness "$work/mix.wav")
# The gain in dB to two places, or "none" when under 0.1 dB either way
# (decided on the unrounded figure, as Voxline does).
gain=$(awk -v s="$source_i" -v m="$mix_i" -v p="$mix_peak" 'BEGIN {
  if (s <= -70 || m <= -70) { print "none"; exit }
  want = s - m
  if (p != "-inf") { room = -1 - p; if (room < 0) room = 0; g = (want < room) ? want : room; if (want < 0) g = want } else g = want
  if (g < 0.1 && g > -0.1) print "none"; else printf "%.2f\n", g }')
mix=$work/mix.wav
if [[ $gain != none ]]; then
  "${FF[@]}" -i "$work/mix.wav" -af "volume=${gain}dB" -c:a pcm_s16le "$work/mix-normalised.wav"
  mix=$work/mix-normalised.wav
fi

# The dubbed media (crates/media/src/mux.rs): video copied, the dub first
# (Spanish, default), the original second (English), soft subtitles.
subs=()
if [[ -s $out/subtitles.srt ]]; then
  subs=(-i "$out/subtitles.srt")
fi
maps=(-map 0:v:0 -map 1:a:0 -map 0:a:0)
sub_opts=()
if (( ${#subs[@]} )); then
  maps+=(-map 2:0)
  sub_opts=(-c:s mov_text -metadata:s:s:0 language=spa)
fi
"${FF[@]}" -i "$clip" -i "$mix" "${subs[@]}" "${maps[@]}" -c:v copy \
  -c:a aac -b:a 160k -ar 48000 \
  -metadata:s:a:0 language=spa -disposition:a:0 default \
  -metadata:s:a:1 language=eng -disposition:a:1 0 \
  "${sub_opts[@]}" -movflags +faststart "$out/dub.mp4"
# The voice alone, as Voxline's renderer also stores it.
"${FF[@]}" -i "$work/voice.wav" -vn -c:a aac -b:a 128k -movflags +faststart "$out/voice.m4a"
step render

# What the timing fit did, as Voxline's task stats report it (stats.stretch).
awk -F'\t' -v total="$total" -v lines="$lines" '
  { if ($3 > max) max = $3; sum += $3; end = $2 + $4 }
  END {
    printf "lines\t%d\nmax_tempo\t%.4f\nmean_tempo\t%.4f\ndrift\t%.3f\n", lines,
      NR ? max : 1, NR ? sum / NR : 1, (end > total) ? end - total : 0
  }' "$out/placements.tsv" >> "$out/times.tsv"
echo "$out/dub.mp4"
