#!/usr/bin/env bash
# The issue-11 GPU run in one command on the lent GPU machine, after the staged module was unpacked under
# /tmp/gpu-unpacked/.gpu-stage (../shared/gpu/stage-module.sh with this folder's scripts as extras):
#   bash /tmp/gpu-unpacked/.gpu-stage/extra/run-h200.sh [SECTIONS]
# torch first (it also exports the ONNX files both sides run), then the cmdlet bench, then an output check;
# everything lands in $OUT (or /tmp/hb-bench/out).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/hb-bench/out}; modeldir=/tmp/hb-bench/models
mkdir -p "$out" "$modeldir"
sections=${1:-profile,b128,npy,sequence,predict,cold}
models=${MODELS:-resnet50,mobilenet_v2,vgg16}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; uname -r; } > "$out/machine.txt" 2>&1
export PYTHONUNBUFFERED=1
python3 "$here/torch_tuned.py" --out "$modeldir" --models "$models" 2>&1 | tee "$out/torch.log"
cp "$modeldir/torch_tuned.json" "$out/" 2>/dev/null
"$here/../run-pwsh.sh" -File "$here/Invoke-CmdletBench.ps1" -ModelDir "$modeldir" -Out "$out" -Models "$models" -Sections "$sections" 2>&1 | tee "$out/cmdlet.log"
# The module's outputs against torch's on the same input (fp32; TF32 allowed on both sides).
python3 - "$modeldir" "$out" <<'PY' 2>&1 | tee "$out/check.log"
import sys, os, json, numpy as np
models, out = sys.argv[1], sys.argv[2]
res = {}
for m in ("resnet50", "mobilenet_v2", "vgg16"):
    a, b = f"/tmp/hb-bench/hb_out_{m}.npy", f"{models}/torch_out_{m}.npy"
    if os.path.exists(a) and os.path.exists(b):
        x, y = np.load(a), np.load(b)
        res[m] = {"shape": list(x.shape), "max_abs_diff": float(np.abs(x - y).max()), "max_abs": float(np.abs(y).max())}
print(json.dumps(res))
json.dump(res, open(f"{out}/check.json", "w"), indent=1)
PY
