"""Baseline for the GPU bench (issue 6): torch eager fp32 on the same GPU, input starting in host memory
(pageable, and page-locked with pin_memory) and output returned to host memory, for torchvision models with random weights; also exports the same
architectures to ONNX (dynamic batch) so the .NET bench runs exactly the networks torch ran.

python3 torch_baseline.py --out DIR [--models resnet50,mobilenet_v2,vgg16] [--batches 128,100] [--repeats 20]
"""
import argparse, json, os, statistics, time
import torch, torchvision

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--models", default="resnet50,mobilenet_v2,vgg16")
p.add_argument("--batches", default="128,100")
p.add_argument("--repeats", type=int, default=20)
p.add_argument("--warmup", type=int, default=5)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
torch.manual_seed(0)
dev = torch.device("cuda")
results = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0),
           "cudnn": torch.backends.cudnn.version(), "allow_tf32_conv": torch.backends.cudnn.allow_tf32,
           "allow_tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "models": {}}
for name in a.models.split(","):
    model = getattr(torchvision.models, name)(weights=None).eval()
    onnx_path = os.path.join(a.out, f"{name}.onnx")
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, onnx_path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
    model = model.to(dev)
    entry = {"onnx": onnx_path}
    for b in [int(s) for s in a.batches.split(",")]:
        host = torch.randn(b, 3, 224, 224)
        with torch.inference_mode():
            def host_to_host():
                out = model(host.to(dev))
                return out.cpu()
            pinned = host.pin_memory()
            def pinned_to_host():
                out = model(pinned.to(dev, non_blocking=True))
                return out.cpu()
            xd = host.to(dev)
            def on_device():
                out = model(xd)
                torch.cuda.synchronize()
                return out
            for fn, key in ((host_to_host, "host_to_host_ms"), (pinned_to_host, "pinned_host_to_host_ms"), (on_device, "on_device_ms")):
                for _ in range(a.warmup): fn()
                torch.cuda.synchronize()
                times = []
                for _ in range(a.repeats):
                    t = time.perf_counter(); fn(); torch.cuda.synchronize(); times.append((time.perf_counter() - t) * 1000)
                entry[f"b{b}_{key}"] = statistics.median(times)
        entry[f"b{b}_host_to_host_img_s"] = b * 1000 / entry[f"b{b}_host_to_host_ms"]
        entry[f"b{b}_pinned_host_to_host_img_s"] = b * 1000 / entry[f"b{b}_pinned_host_to_host_ms"]
        entry[f"b{b}_on_device_img_s"] = b * 1000 / entry[f"b{b}_on_device_ms"]
    results["models"][name] = entry
    print(name, json.dumps(entry), flush=True)
with open(os.path.join(a.out, "torch_baseline.json"), "w") as f:
    json.dump(results, f, indent=2)
