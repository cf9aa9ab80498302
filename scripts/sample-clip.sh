#!/usr/bin/env bash
# Generates the sample clip the demo and the end-to-end tests dub: an English
# narration spoken by espeak-ng over a test-pattern video, and a separate
# background tone. Nothing binary is committed; this makes it on the spot.
#   usage: scripts/sample-clip.sh OUT_DIR
# Writes OUT_DIR/clip.mp4 (video + narration over the tone, kept quiet so
# speech recognition hears the words),
# OUT_DIR/background.wav (the tone alone) and OUT_DIR/narration.txt.
set -euo pipefail
out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
# Short, common sentences, a slow rate and pauses between words: what
# pocketsphinx recognizes best in espeak-ng's synthetic speech (it is far
# worse on synthetic speech than on people; see docs/engines.md).
narration=${VOXLINE_SAMPLE_TEXT:-"Welcome to the show. Today we talk about music. I like to read books. Thank you very much."}
printf '%s\n' "$narration" > "$out/narration.txt"
# VOXLINE_SAMPLE_VOICE (an espeak-ng voice) and VOXLINE_SAMPLE_LANG (the
# ISO 639-2 tag of the audio track) make a clip in another language.
espeak-ng -v "${VOXLINE_SAMPLE_VOICE:-en-us+f2}" -s 125 -g 5 -w "$out/narration.wav" "$narration"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out/narration.wav")
# One second of silence before and after the speech.
total=$(awk -v d="$dur" 'BEGIN { printf "%.2f", d + 2 }')
ffmpeg -nostdin -v error -y -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=$total" \
  -af "volume=0.25" -ac 2 "$out/background.wav"
ffmpeg -nostdin -v error -y \
  -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$total" \
  -i "$out/narration.wav" -i "$out/background.wav" \
  -filter_complex "[1:a]aresample=48000,adelay=1000|1000,apad[v];[2:a]volume=0.2[bg];[v][bg]amix=inputs=2:duration=longest:normalize=0,aformat=channel_layouts=stereo[a]" \
  -map 0:v -map "[a]" -t "$total" -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 128k \
  -metadata:s:a:0 language="${VOXLINE_SAMPLE_LANG:-eng}" -movflags +faststart "$out/clip.mp4"
echo "$out/clip.mp4"
