#!/usr/bin/env bash
# One call on a lent GPU machine (see bench/RESULTS.md, "Running the GPU check"): everything the open issues
# need measured, most important first, each step under its own time limit so a slow one cannot eat the rest.
# Results land in $OUT (JSON, plus a log); a step that fails leaves the others' files intact.
#   run: source .gpu/boot.sh && bash bench/device-run.sh        (carry .gpu and dist; worst case 10 minutes)
#   dry run here: CONFIG=tiny CONFIGS=tiny SMALL=tiny OUT=/tmp/dry bash bench/device-run.sh
set -u
OUT=${OUT:-/tmp/mm-device}; mkdir -p "$OUT"
CONFIG=${CONFIG:-134M}; CONFIGS=${CONFIGS:-5M,58M,134M}; SMALL=${SMALL:-5M}
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt"; }
step() { local secs=$1 name=$2; shift 2; log "start $name"; timeout "$secs" "$@" > "$OUT/$name.out" 2>&1; log "end $name rc=$?"; }
MM="node dist/cli/mm.js"

step 30  doctor        $MM doctor --json
# Where the H200 step time goes (per kernel, timestamp queries): the largest model f32 then f16, and the 5M
# decoder, the size where PyTorch eager is launch-bound and most within reach.
step 90  profile       $MM bench profile $CONFIG --steps 2 --json
step 60  profile-f16   $MM bench profile $CONFIG --steps 2 --f16 --json
step 40  profile-small $MM bench profile $SMALL --steps 3 --json
# Training throughput beside the PyTorch figures of issue #8, before tuning.
step 150 train         node dist/bench/train-main.js --configs "$CONFIGS" --precision f32,f16 --steps 5 --budget 120 --out "$OUT/train.json"
# Tune the largest step's matmuls (stored in MM_TUNING), then train again with the table.
export MM_TUNING="$OUT/matmul-tune.json"
step 90  tune          $MM bench tune $CONFIG --json
step 60  train-tuned   node dist/bench/train-main.js --configs "$CONFIG" --precision f32,f16 --steps 5 --budget 60 --out "$OUT/train-tuned.json"
# Kernel benchmarks beside TensorFlow.js (matmul, memory, attention and block fwd+bwd).
step 70  kernels       $MM bench kernels --quick --json
log done
