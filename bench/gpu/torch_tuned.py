"""The tuned torch baseline of the cmdlet bench (issue 11), measured in the same run as the module.

Exports torchvision ResNet-50, MobileNetV2 and VGG-16 (seeded random weights) to ONNX with a dynamic batch, so the
module runs exactly the networks torch runs, then times torch as a practitioner tunes it: channels_last,
cudnn.benchmark, input in page-locked host memory copied with non_blocking, output copied back into a page-locked
buffer; fp32 and fp16 (input fp32 on the host, converted on the GPU, as -Precision Half keeps fp32 edges).

  python3 torch_tuned.py --out DIR [--models resnet50,mobilenet_v2,vgg16] [--repeats 30]

Writes DIR/<model>.onnx, DIR/<model>.pt (weights, for the cold-process test), DIR/in128.npy and
DIR/torch_tuned.json.
"""
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np
import torch, torchvision

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--models", default="resnet50,mobilenet_v2,vgg16")
p.add_argument("--repeats", type=int, default=30)
p.add_argument("--warmup", type=int, default=10)
p.add_argument("--sequence", default="37,100,128,99,256,1000")
p.add_argument("--cold-only", action="store_true")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True
res = {"torch": torch.__version__, "torchvision": torchvision.__version__, "gpu": torch.cuda.get_device_name(0),
       "cudnn": torch.backends.cudnn.version(), "cuda": torch.version.cuda, "numpy": np.__version__,
       "settings": "eval, inference_mode, channels_last, cudnn.benchmark=True, pinned input (non_blocking) and pinned output; "
                   "fp16 = model.half(), fp32 host input converted on the GPU; TF32 at torch defaults "
                   f"(conv {torch.backends.cudnn.allow_tf32}, matmul {torch.backends.cuda.matmul.allow_tf32})",
       "models": {}}

def median_ms(fn, repeats, warmup):
    for _ in range(warmup): fn()
    torch.cuda.synchronize()
    t = []
    for _ in range(repeats):
        s = time.perf_counter(); fn(); torch.cuda.synchronize(); t.append((time.perf_counter() - s) * 1000)
    return statistics.median(t)

rng = np.random.default_rng(0)
in128 = os.path.join(a.out, "in128.npy")
np.save(in128, rng.uniform(-1, 1, size=(128, 3, 224, 224)).astype(np.float32))

for name in a.models.split(","):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    onnx_path = os.path.join(a.out, f"{name}.onnx")
    if not os.path.exists(onnx_path):
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), onnx_path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    torch.save(model.state_dict(), os.path.join(a.out, f"{name}.pt"))
    entry = {"onnx": onnx_path}
    for prec in ("fp32", "fp16"):
        m = getattr(torchvision.models, name)(weights=None).eval()
        m.load_state_dict(torch.load(os.path.join(a.out, f"{name}.pt")))
        m = m.to(dev).to(memory_format=torch.channels_last)
        if prec == "fp16": m = m.half()
        bufs = {}
        def run(b, first=False):
            if b not in bufs:
                bufs[b] = (torch.rand(b, 3, 224, 224).pin_memory(), torch.empty(b, 1000, dtype=torch.float32).pin_memory())
            x, out = bufs[b]
            with torch.inference_mode():
                xd = x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
                if prec == "fp16": xd = xd.half()
                y = m(xd)
                out.copy_(y.float(), non_blocking=True)
            torch.cuda.synchronize()
        e = {}
        e["b128_ms"] = median_ms(lambda: run(128), a.repeats, a.warmup)
        e["b128_img_s"] = 128 * 1000 / e["b128_ms"]
        # A sequence of sizes, three rounds: the first round pays cudnn.benchmark's search per new size.
        seq = [int(s) for s in a.sequence.split(",")]
        rounds = []
        for r in range(3):
            row = []
            for b in seq:
                s = time.perf_counter(); run(b); row.append((time.perf_counter() - s) * 1000)
            rounds.append(row)
        e["sequence"] = seq
        e["sequence_rounds_ms"] = rounds
        for b in seq:
            e[f"b{b}_steady_ms"] = median_ms(lambda: run(b), 10, 2)
        if prec == "fp32":
            # .npy file to .npy file: np.load -> GPU -> np.save, pageable and pinned variants; the faster is the baseline.
            outp = os.path.join(a.out, f"torch_out_{name}.npy")
            def npy_pageable():
                arr = np.load(in128)
                with torch.inference_mode():
                    y = m(torch.from_numpy(arr).to(dev).contiguous(memory_format=torch.channels_last))
                np.save(outp, y.cpu().numpy())
            def npy_pinned():
                arr = np.load(in128)
                with torch.inference_mode():
                    y = m(torch.from_numpy(arr).pin_memory().to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last))
                np.save(outp, y.cpu().numpy())
            e["npy_to_npy_pageable_ms"] = median_ms(npy_pageable, 10, 3)
            e["npy_to_npy_pinned_ms"] = median_ms(npy_pinned, 10, 3)
            e["npy_to_npy_ms"] = min(e["npy_to_npy_pageable_ms"], e["npy_to_npy_pinned_ms"])
        entry[prec] = e
        del m, bufs
        torch.cuda.empty_cache()
    res["models"][name] = entry
    print(name, json.dumps(entry), flush=True)

# A new process that imports torch, builds the model, loads its weights and runs ResNet-50 b128 once (host to host).
cold = r'''
import time; t0 = time.perf_counter()
import torch, torchvision, sys
torch.backends.cudnn.benchmark = True
m = torchvision.models.resnet50(weights=None).eval()
m.load_state_dict(torch.load(sys.argv[1]))
m = m.cuda().to(memory_format=torch.channels_last)
x = torch.rand(128, 3, 224, 224).pin_memory()
with torch.inference_mode():
    y = m(x.cuda(non_blocking=True).contiguous(memory_format=torch.channels_last)).cpu()
print(f"inner {(time.perf_counter() - t0) * 1000:.1f}")
'''
colds = []
for i in range(3):
    s = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", cold, os.path.join(a.out, "resnet50.pt")], capture_output=True, text=True)
    colds.append({"total_ms": (time.perf_counter() - s) * 1000, "stdout": r.stdout.strip(), "rc": r.returncode})
res["cold_process_resnet50_b128"] = colds
with open(os.path.join(a.out, "torch_tuned.json"), "w") as f:
    json.dump(res, f, indent=2)
print(json.dumps(colds), flush=True)
