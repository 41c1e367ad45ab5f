#!/usr/bin/env bash
# Short ablations of the training recipe: the same run (same seed, data, steps and schedule) with
# one setting changed at a time, each scored on the validation images (clean LR and LR through
# H.264 at CRF 28) for three subgraphs, with the last weights and their moving average. Then the
# weight-sharing penalty: four of the ladder's subgraphs trained alone (--fixed) the same way, each
# against the same subgraph of the base supernet.
#
#   scripts/ablate.sh [STEPS] [PATCH] [all|penalty]   # defaults: 3000 steps of batch 16 of 32x32
#                                                      # LR patches, all runs (penalty: the base
#                                                      # and the standalone runs only)
#
# Runs go to $DYSR_ABLATIONS (default ~/.cache/dysr-runs/ablations/NAME); a finished run is not
# run again, so the script can be stopped and restarted. The tables go to stdout and to
# ablations.csv and penalty.csv in that folder. Nothing else should run meanwhile if the times
# matter (they do not here: only the scores are compared).
set -euo pipefail

steps=${1:-3000}
patch=${2:-32}
which=${3:-all}
root=${DYSR_ABLATIONS:-$HOME/.cache/dysr-runs/ablations}
dysr=${DYSR:-${CARGO_TARGET_DIR:-$HOME/.cache/dysr-target}/release/dysr}
specs=d1w8,d4w16,d6w40
alone_specs=d1w8,d4w8,d4w16,d6w40
mkdir -p "$root"

# name and the flags that differ from the base run
configs=("base|")
if [ "$which" = all ]; then
  configs+=(
    "reparam|--reparam"
    "degraded-0.25|--degraded-share 0.25"
    "favour-ladder|--favour-ladder 0.5"
    "l2-finish|--l2-steps $((steps / 6))"
    "degraded-0|--degraded-share 0"
  )
fi
for spec in ${alone_specs//,/ }; do
  configs+=("alone-$spec|--fixed $spec")
done

run_dir() { echo "$root/$1-s$steps-p$patch"; }

# Trains run $1 with the flags $2, unless it has finished.
train() {
  local out
  out=$(run_dir "$1")
  if ! grep -q "\"step\": $steps," "$out/progress.json" 2>/dev/null; then
    # shellcheck disable=SC2046,SC2086 # the flags are words
    nice -n 5 "$dysr" train --out "$out" --steps "$steps" --patch "$patch" --batch 16 --seed 1 \
      --ema 0.999 --checkpoint-every 500 $2 $( [ -f "$out/progress.json" ] && echo --resume ) \
      > "$out.log" 2>&1 || { echo "$1: training failed, see $out.log" >&2; return 0; }
  fi
}

# PSNR-Y of the subgraphs $4 (comma-separated) of run $1, weights $2 (last or averaged), LR $3
# (clean or a CRF), comma-separated.
score() {
  local crf_flag=()
  [ "$3" = clean ] || crf_flag=(--lr-crf "$3")
  # No peers (DYSR_PEERS at an empty folder): only the subgraphs are compared.
  DYSR_PEERS=$root/no-peers "$dysr" eval --trained "$(run_dir "$1")" --weights "$2" --spec "$4" "${crf_flag[@]}" \
    --csv "$root/eval.csv" > /dev/null
  awk -F, -v specs="$4" 'BEGIN { n = split(specs, s, ",") } { v[$1] = $3 } END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "," : ""), v[s[i]] }' "$root/eval.csv"
}

for config in "${configs[@]}"; do
  train "${config%%|*}" "${config#*|}"
done

echo "run,weights,lr,$specs" > "$root/ablations.csv"
printf '%-26s %-9s %-6s %s\n' run weights LR "$specs (PSNR-Y dB)"
for config in "${configs[@]}"; do
  name=${config%%|*}
  case $name in alone-*) continue ;; esac
  [ -f "$(run_dir "$name")/weights.bpk" ] || continue
  for weights in last averaged; do
    for crf in clean 28; do
      scores=$(score "$name" "$weights" "$crf" "$specs")
      echo "$name,$weights,$crf,$scores" >> "$root/ablations.csv"
      printf '%-26s %-9s %-6s %s\n' "$name" "$weights" "$crf" "$scores"
    done
  done
done

echo
echo "subgraph,weights,lr,supernet,alone,penalty" > "$root/penalty.csv"
printf '%-9s %-9s %-6s %-9s %-9s %s\n' subgraph weights LR supernet alone "penalty (dB)"
[ -f "$(run_dir base)/weights.bpk" ] || exit 0
for weights in last averaged; do
  for crf in clean 28; do
    IFS=, read -r -a shared <<< "$(score base "$weights" "$crf" "$alone_specs")"
    i=0
    for spec in ${alone_specs//,/ }; do
      if [ -f "$(run_dir "alone-$spec")/weights.bpk" ]; then
        alone=$(score "alone-$spec" "$weights" "$crf" "$spec")
        penalty=$(awk -v a="$alone" -v s="${shared[$i]}" 'BEGIN { printf "%.3f", a - s }')
        echo "$spec,$weights,$crf,${shared[$i]},$alone,$penalty" >> "$root/penalty.csv"
        printf '%-9s %-9s %-6s %-9s %-9s %s\n' "$spec" "$weights" "$crf" "${shared[$i]}" "$alone" "$penalty"
      fi
      i=$((i + 1))
    done
  done
done
