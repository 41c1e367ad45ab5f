#!/usr/bin/env bash
# The README's table of inputs in the window: each clip played under Xvfb on a 1920x1080 virtual
# screen for 15 s (`dysr play --exit-after 15`), in the default window and fullscreen, one JSON
# summary line each, then a Markdown table of display fps, drops, SR share and peak memory.
#
# The test inputs are made from the demo's 720p reference (Big Buck Bunny, CC-BY 3.0, Blender
# Foundation) with the ffmpeg CLI: 1080p24, 2160p30, 4320p24, a phone-style rotated clip and a PAL
# anamorphic one. Run it with nothing else running: the numbers are timings.
#
#   scripts/window-table.sh [OUT_DIR]      (default: bench-out/window)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bench-out/window}
dysr=${DYSR:-${CARGO_TARGET_DIR:-$HOME/.cache/dysr-target}/release/dysr}
media=${DYSR_MEDIA_CACHE:-$HOME/.cache/dysr-media}/window
mkdir -p "$out" "$media"
reference=$root/assets/bbb-meadow-720p.mp4

make_clip() { # name, ffmpeg arguments after the input
  local name=$1; shift
  [ -f "$media/$name" ] && return
  ffmpeg -nostdin -loglevel error -y -i "$reference" "$@" "$media/partial-$name"
  mv "$media/partial-$name" "$media/$name"
}
make_clip bbb-1080p24.mp4 -vf scale=1920:1080:flags=lanczos -c:v libx264 -preset veryfast -crf 20 -c:a copy
make_clip bbb-2160p30.mp4 -t 10 -vf scale=3840:2160:flags=lanczos,fps=30 -c:v libx264 -preset ultrafast -crf 23 -c:a copy
make_clip bbb-4320p24.mp4 -t 5 -vf scale=7680:4320:flags=bilinear -c:v libx264 -preset ultrafast -crf 26 -c:a copy
# FFmpeg 5.1 writes a rotation (a display matrix) only when it copies the stream.
make_clip bbb-rotated.mp4 -t 15 -c copy -metadata:s:v:0 rotate=90
make_clip bbb-pal-sar16-15.mp4 -t 10 -vf scale=720:576,setsar=16/15 -c:v libx264 -preset veryfast -c:a copy

run() { # label, window mode (window|fullscreen), input
  local label=$1 mode=$2 input=$3 extra=()
  [ "$mode" = fullscreen ] && extra=(--fullscreen)
  local shot="$out/$label-$mode.png"
  xvfb-run -a -s "-screen 0 1920x1080x24" "$dysr" play "$input" --audio silent --exit-after 15 \
    --screenshot "$shot" "${extra[@]}" 2>"$out/$label-$mode.log" | tail -n 1 > "$out/$label-$mode.json" || true
  printf '%s\t%s\t%s\n' "$label" "$mode" "$(cat "$out/$label-$mode.json")"
}

{
  run demo-360p window "$root/assets/bbb-meadow-360p.mp4"
  run demo-360p fullscreen "$root/assets/bbb-meadow-360p.mp4"
  run demo-720p fullscreen "$reference"
  run 1080p24 window "$media/bbb-1080p24.mp4"
  run 1080p24 fullscreen "$media/bbb-1080p24.mp4"
  run 2160p30 fullscreen "$media/bbb-2160p30.mp4"
  run 4320p24 fullscreen "$media/bbb-4320p24.mp4"
  run rotated window "$media/bbb-rotated.mp4"
  run pal-sar16-15 window "$media/bbb-pal-sar16-15.mp4"
} > "$out/runs.tsv"

python3 - "$out/runs.tsv" <<'PY'
import json, sys
print("| input | window | display fps (stream) | dropped at display / before SR | SR share | shown at | peak RSS |")
print("|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    label, mode, text = line.rstrip("\n").split("\t", 2)
    try:
        s = json.loads(text)
    except ValueError:
        print(f"| {label} | {mode} | no summary (see {label}-{mode}.log) | | | | |")
        continue
    late, early, decoded = s["frames_dropped_late"], s["frames_dropped_early"], max(s["frames_decoded"], 1)
    print(f"| {label} {s['width']}x{s['height']} | {mode} | {s['display_fps']:.1f} ({s['stream_fps']:.0f}) "
          f"| {late} / {early} of {decoded} ({100 * (late + early) / decoded:.1f}%) | {100 * s['sr_share']:.0f}% "
          f"| {s['displayed_width']}x{s['displayed_height']} in {s['view_width']}x{s['view_height']} | {s['peak_rss_mib']:.0f} MiB |")
PY
