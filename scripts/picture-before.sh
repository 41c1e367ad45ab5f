#!/usr/bin/env bash
# What the picture before a P picture adds, on the validation's compressed LR: each validation
# image's luma is downscaled x2 (FFmpeg's bicubic), shown as the second picture of a two-picture
# shot whose first picture is the same LR moved by (2, 1) pixels (as `dysr eval --lr-crf` makes
# it), encoded by libx264 (veryfast, one thread) at CRF N and decoded. Both decoded pictures, the
# intra one moved back, are upscaled by bicubic and by rungs r0 and r5 and scored against the
# image (PSNR-Y on the region both cover). A network that drew perfectly on the picture before
# could do about as well as the same upscaling of that picture.
#
#   scripts/picture-before.sh [CRF]   # default 28; the means go to stdout
#
# Needs the ffmpeg CLI and a release build of dysr ($DYSR, default the project's target folder).
set -euo pipefail

crf=${1:-28}
dysr=${DYSR:-${CARGO_TARGET_DIR:-$HOME/.cache/dysr-target}/release/dysr}
validation=$(cd "$(dirname "$0")/.." && pwd)/assets/validation
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# PSNR-Y of a WxH+X+Y crop of $1 against the same-sized crop at (0, 0) of the image.
psnr() {
  ffmpeg -i "$1" -i hr.png -lavfi "[0]format=gray,crop=$2[a];[1]format=gray,crop=$3[b];[a][b]psnr" -f null - 2>&1 |
    grep -o "average:[0-9.inf]*" | cut -d: -f2
}

for image in "$validation"/*.png; do
  ffmpeg -v error -y -i "$image" -vf "crop=trunc(iw/4)*4:trunc(ih/4)*4:0:0,format=gray" hr.png
  ffmpeg -v error -y -i hr.png -vf "scale=iw/2:ih/2:flags=bicubic" lr.png
  IFS=, read -r width height < <(ffprobe -v error -show_entries stream=width,height -of csv=p=0 hr.png)
  ffmpeg -v error -y -i lr.png -vf "crop=iw-2:ih-1:0:0,pad=iw+2:ih+1:2:1,fillborders=left=2:top=1:mode=smear" moved.png
  ffmpeg -v error -y -i moved.png -i lr.png -filter_complex "[0][1]concat=n=2:v=1,format=yuv420p" \
    -c:v libx264 -crf "$crf" -preset veryfast -threads 1 shot.mkv
  ffmpeg -v error -y -i shot.mkv -vf "select=eq(n\,0),format=gray" -frames:v 1 before.png
  ffmpeg -v error -y -i shot.mkv -vf "select=eq(n\,1),format=gray" -frames:v 1 shown.png
  region="$((width - 4)):$((height - 2))"
  row=$(basename "$image" .png)
  for picture in before shown; do
    ffmpeg -v error -y -i "$picture.png" -vf "scale=iw*2:ih*2:flags=bicubic" "$picture-bicubic.png"
    "$dysr" upscale "$picture.png" -o "$picture-r0.png" -y --rung 0 >/dev/null
    "$dysr" upscale "$picture.png" -o "$picture-r5.png" -y --rung 5 >/dev/null
    # The picture before shows the image 4 x 2 HR pixels to the right of and below where it is.
    if [ "$picture" = before ]; then at=4:2; else at=0:0; fi
    for method in bicubic r0 r5; do
      row="$row $(psnr "$picture-$method.png" "$region:$at" "$region:0:0")"
    done
  done
  echo "$row"
done | awk -v crf="$crf" '
  { n++; for (i = 2; i <= 7; i++) sum[i] += $i }
  END {
    printf "CRF %d, %d images, mean PSNR-Y (dB): bicubic / r0 / r5\n", crf, n
    printf "  upscaling the P picture:          %.3f / %.3f / %.3f\n", sum[5] / n, sum[6] / n, sum[7] / n
    printf "  upscaling the picture before it:  %.3f / %.3f / %.3f\n", sum[2] / n, sum[3] / n, sum[4] / n
    printf "  the picture before over bicubic of the P picture: r0 %+.3f, r5 %+.3f\n", (sum[3] - sum[5]) / n, (sum[4] - sum[5]) / n
  }'
