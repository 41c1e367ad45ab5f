#!/usr/bin/env bash
# Rebuilds the bundled demo clip from its registry source, so its provenance is reproducible.
#
# Source: Big Buck Bunny (CC-BY 3.0, (c) Blender Foundation, www.bigbuckbunny.org), the whole film as
# shipped inside the PyPI source archive of moviepy 2.2.1 (docs media). We cut 20 s from 60 s to 80 s
# (the bunny in a meadow: grass, sky, fur) and write:
#   assets/bbb-meadow-720p.mp4  1280x720, the high-resolution reference for quality measurements
#   assets/bbb-meadow-360p.mp4  640x360, H.264 crf 23 + AAC 96k stereo: the player's demo input
# Both cuts start on the same frame and have the same frame count, so frame i of one matches frame i
# of the other.
set -euo pipefail

cache=${DYSR_MEDIA_CACHE:-$HOME/.cache/dysr-media}
out=${1:-$(cd "$(dirname "$0")/.." && pwd)/assets}
mkdir -p "$cache" "$out"

sdist="$cache/moviepy-2.2.1.tar.gz"
if [ ! -f "$sdist" ]; then
  python3 -m pip download --quiet --no-deps --no-binary :all: moviepy==2.2.1 -d "$cache"
fi
film="$cache/bbb.mp4"
if [ ! -f "$film" ]; then
  zip_member=moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip
  tar -xzf "$sdist" -C "$cache" "$zip_member"
  unzip -p "$cache/$zip_member" moviepy_10_minutes/resources/bbb.mp4 > "$film.part"
  mv "$film.part" "$film"
fi

cut=(-ss 60 -i "$film" -t 20 -map 0:v:0 -map 0:a:0 -map_metadata -1)
ffmpeg -nostdin -loglevel error -y "${cut[@]}" \
  -c:v libx264 -preset slow -crf 18 -pix_fmt yuv420p -c:a aac -b:a 128k -movflags +faststart \
  "$out/bbb-meadow-720p.mp4.part.mp4"
ffmpeg -nostdin -loglevel error -y "${cut[@]}" \
  -vf scale=640:360:flags=lanczos -c:v libx264 -preset slow -crf 23 -pix_fmt yuv420p \
  -c:a aac -b:a 96k -ac 2 -movflags +faststart \
  "$out/bbb-meadow-360p.mp4.part.mp4"
mv "$out/bbb-meadow-720p.mp4.part.mp4" "$out/bbb-meadow-720p.mp4"
mv "$out/bbb-meadow-360p.mp4.part.mp4" "$out/bbb-meadow-360p.mp4"
ls -l "$out"/bbb-meadow-*.mp4
