#!/usr/bin/env bash
# Short ablations of the training recipe: the same run (same seed, data, steps and schedule) with
# one setting changed at a time, each scored on the validation images (clean LR and LR through
# H.264 at CRF 28) for three subgraphs, with the last weights and their moving average.
#
#   scripts/ablate.sh [STEPS] [PATCH]      # defaults: 3000 steps of batch 16 of 32x32 LR patches
#
# Runs go to $DYSR_ABLATIONS (default ~/.cache/dysr-runs/ablations/NAME); a finished run is not
# run again, so the script can be stopped and restarted. The table goes to stdout and to
# ablations.csv in that folder. Nothing else should run meanwhile if the times matter (they do not
# here: only the scores are compared).
set -euo pipefail

steps=${1:-3000}
patch=${2:-32}
root=${DYSR_ABLATIONS:-$HOME/.cache/dysr-runs/ablations}
dysr=${DYSR:-${CARGO_TARGET_DIR:-$HOME/.cache/dysr-target}/release/dysr}
specs=d1w8,d4w16,d6w40
mkdir -p "$root"

# name and the flags that differ from the base run
configs=(
  "base|"
  "reparam|--reparam"
  "degraded-0.25|--degraded-share 0.25"
  "favour-ladder|--favour-ladder 0.5"
  "l2-finish|--l2-steps $((steps / 6))"
  "degraded-0|--degraded-share 0"
)

for config in "${configs[@]}"; do
  name=${config%%|*}
  flags=${config#*|}
  out="$root/$name-s$steps-p$patch"
  if ! grep -q "\"step\": $steps," "$out/progress.json" 2>/dev/null; then
    # shellcheck disable=SC2086 # the flags are words
    nice -n 5 "$dysr" train --out "$out" --steps "$steps" --patch "$patch" --batch 16 --seed 1 \
      --ema 0.999 --checkpoint-every 500 $flags $( [ -f "$out/progress.json" ] && echo --resume ) \
      > "$out.log" 2>&1 || { echo "$name: training failed, see $out.log" >&2; continue; }
  fi
done

echo "run,weights,lr,$(echo $specs | tr , ,)" > "$root/ablations.csv"
printf '%-26s %-9s %-6s %s\n' run weights LR "$specs (PSNR-Y dB)"
for config in "${configs[@]}"; do
  name=${config%%|*}
  out="$root/$name-s$steps-p$patch"
  [ -f "$out/weights.bpk" ] || continue
  for weights in last averaged; do
    for crf in clean 28; do
      crf_flag=()
      [ "$crf" = clean ] || crf_flag=(--lr-crf "$crf")
      # No peers (DYSR_PEERS at an empty folder): only the subgraphs are compared.
      DYSR_PEERS=$root/no-peers "$dysr" eval --trained "$out" --weights "$weights" --spec "$specs" "${crf_flag[@]}" \
        --csv "$root/eval.csv" > /dev/null
      scores=$(awk -F, -v specs="$specs" 'BEGIN { n = split(specs, s, ",") } { v[$1] = $3 } END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "," : ""), v[s[i]] }' "$root/eval.csv")
      echo "$name,$weights,$crf,$scores" >> "$root/ablations.csv"
      printf '%-26s %-9s %-6s %s\n' "$name" "$weights" "$crf" "$scores"
    done
  done
done
