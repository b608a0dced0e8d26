#!/usr/bin/env bash
# The issue-12 stream bench in one command on the GPU machine, after the staged module was unpacked under
# /tmp/gpu-unpacked/.gpu-stage (../shared/gpu/stage-module.sh .gpu-stage bench/gpu/run-stream-h200.sh
# bench/gpu/torch_dataloader.py bench/gpu/stream-bench.ps1):
#   bash /tmp/gpu-unpacked/.gpu-stage/extra/run-stream-h200.sh
# torch first (it generates the 20,000 JPEGs and exports ResNet-50), then the module on the same files;
# everything lands in $OUT (or /tmp/hb-stream-bench/out).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/hb-stream-bench/out}; data=/tmp/hb-stream-bench/jpegs; models=/tmp/hb-stream-bench/models
mkdir -p "$out" "$data" "$models"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; uname -r; } > "$out/machine.txt" 2>&1
export PYTHONUNBUFFERED=1
python3 "$here/torch_dataloader.py" --data "$data" --out "$models" --count 20000 2>&1 | tee "$out/torch.log"
cp "$models/torch_dataloader.json" "$out/" 2>/dev/null
"$here/../run-pwsh.sh" -File "$here/stream-bench.ps1" -Data "$data" -ModelDir "$models" -Out "$out" 2>&1 | tee "$out/stream.log"
