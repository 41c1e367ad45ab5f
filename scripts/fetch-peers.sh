#!/usr/bin/env bash
# Fetches the peers `dysr eval` scores the ladder against: Anime4K's real-time x2 CNNs (S, M, L),
# with the original weights (`an`) and those retrained on real-life video (`rl`), as published in
# npm `@websr/websr` 0.0.15 (MIT): package/weights/anime4k/cnn-2x-{s,m,l}-{an,rl}.json.
#
# Output: $DYSR_PEERS (default ~/.cache/dysr-media/peers/anime4k), where `dysr eval` looks.
set -euo pipefail

cache=${DYSR_MEDIA_CACHE:-$HOME/.cache/dysr-media}/peers
out=${DYSR_PEERS:-$cache/anime4k}
mkdir -p "$cache" "$out"
cd "$cache"
[ -f websr-websr-0.0.15.tgz ] || npm pack --silent @websr/websr@0.0.15 >/dev/null
tar -xzf websr-websr-0.0.15.tgz package/weights/anime4k
for size in s m l; do
  for weights in an rl; do
    cp "package/weights/anime4k/cnn-2x-$size-$weights.json" "$out/"
  done
done
echo "Anime4K weights in $out: $(ls "$out" | tr '\n' ' ')"
