#!/usr/bin/env bash
# The hardware GPU check in one go (3.6 minutes on an NVIDIA H200 with the binaries carried in,
# before the training benches were added): build, the GPU tests, `dysr bench rungs --device gpu` at
# 640x360, 1280x720 and 1920x1080 input (dysr's fused kernels beside burn's conv2d path), `dysr
# bench adapt --device gpu` on the demo clip at 360p and at 720p (the ladder and its load on the
# GPU), `dysr train --bench --device gpu` at batches of 16 and 64 (burn's autodiff on the GPU beside
# dysr's kernels on the machine's CPU), and everything written into one folder with the adapter's
# name. The README's GPU tables come from `rungs-*.csv`, `adapt-*/summary.csv` and
# `train-bench-*.txt` there.
#
#   scripts/gpu-check.sh [OUT_DIR]        (default: bench-out/gpu-check)
#
# DYSR_BIN=path/to/dysr and DYSR_TESTS=path/to/lib-test-binary skip the build (a machine without
# network or a Rust toolchain: build both here, carry them there).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bench-out/gpu-check}
mkdir -p "$out"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dysr-target}
log() { echo "[gpu-check $(date +%T)] $*" | tee -a "$out/log.txt"; }

if [ -z "${DYSR_BIN:-}" ]; then
  log "building"
  (cd "$root" && cargo build --release 2>&1 | tail -n 3) | tee -a "$out/log.txt"
  DYSR_BIN=$CARGO_TARGET_DIR/release/dysr
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "nvidia-smi: none"
  vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName|apiVersion' || true; } > "$out/adapter.txt"
log "adapter: $(head -n 2 "$out/adapter.txt" | tail -n 1)"

# The GPU tests: on a hardware adapter they run what CI runs on the software one.
tests_ok=true
if [ -n "${DYSR_TESTS:-}" ]; then
  "$DYSR_TESTS" --test-threads 1 gpu > "$out/tests.txt" 2>&1 || tests_ok=false
else
  (cd "$root" && cargo test --release --lib -- --test-threads 1 gpu) > "$out/tests.txt" 2>&1 || tests_ok=false
fi
log "tests: $(grep -E '^test result' "$out/tests.txt" | tail -n 1 || echo 'no result') (ok: $tests_ok)"

# A failed step is logged and the next one still runs: one visit to a GPU machine yields what it can.
benches_ok=true
for size in 640x360 1280x720 1920x1080; do
  log "bench rungs --device gpu --size $size"
  "$DYSR_BIN" bench rungs --device gpu --size "$size" --runs 50 --csv "$out/rungs-$size.csv" 2>&1 | tee "$out/rungs-$size.txt" \
    || { benches_ok=false; log "bench rungs at $size failed"; }
done

# The demo clip, then its 720p version as the input (x2 to 1440p), where the top rung no longer fits
# a frame's time even idle and the controller has to choose.
# (The demo clip is the default input: PSNR against its 720p version; the 720p input has none.)
for input in 360p 720p; do
  clip=(); [ $input = 720p ] && clip=("$root/assets/bbb-meadow-720p.mp4")
  log "bench adapt --device gpu, the demo clip at $input"
  "$DYSR_BIN" bench adapt "${clip[@]}" --device gpu --strategies adaptive,assemble,static:smallest,static:top \
    --out "$out/adapt-$input" 2>&1 | tee "$out/adapt-$input.txt" || { benches_ok=false; log "bench adapt at $input failed"; }
done

# Training: at the runs' batch burn's autodiff on an H200 was 3x slower than the CPU kernels beside
# it; four times the batch says whether the GPU is held back by too little work per step.
for batch in 16 64; do
  log "train --bench --device gpu --batch $batch"
  "$DYSR_BIN" train --bench --bench-steps 10 --patch 64 --batch "$batch" --device gpu 2>&1 | tee "$out/train-bench-$batch.txt" \
    || { benches_ok=false; log "train --bench at batch $batch failed"; }
done

log "done: $out (tests ok: $tests_ok, benches ok: $benches_ok)"
$tests_ok && $benches_ok
