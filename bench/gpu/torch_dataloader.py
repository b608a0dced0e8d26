"""The torch baseline of the dataset-stream bench (issue 12), run on the GPU machine in the same run as stream-bench.ps1.

Generates the dataset when it is missing (JPEGs of 224-500 px per side, PIL, quality 90, seeded), exports
torchvision ResNet-50 (seeded random weights) to ONNX for the module, then streams the whole folder through torch as
a practitioner tunes it: torchvision-style Dataset with PIL decode + Resize(256) + CenterCrop(224) + ToTensor +
Normalize, DataLoader(num_workers = cores, pin_memory, persistent_workers, prefetch_factor 4), the model in
channels_last with cudnn.benchmark, non_blocking copies, inference_mode. Images/s over the whole dataset (one
warm-up pass over the first batches is left out of the timing and reported apart).

  python3 torch_dataloader.py --data DIR --out DIR [--count 20000] [--batch 256] [--workers N]

Writes OUT/resnet50.onnx and OUT/torch_dataloader.json.
"""
import argparse, json, os, time
import numpy as np
import torch, torchvision
from PIL import Image
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--out", required=True)
p.add_argument("--count", type=int, default=20000)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--workers", type=int, default=os.cpu_count())
a = p.parse_args()
os.makedirs(a.data, exist_ok=True)
os.makedirs(a.out, exist_ok=True)


def generate(i):
    rng = np.random.default_rng(1_000_003 + i)
    w, h = int(rng.integers(224, 501)), int(rng.integers(224, 501))
    yy, xx = np.mgrid[0:h, 0:w]
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = ((xx / w + yy / h) / 2)[..., None]
    img = c0 * (1 - t) + c1 * t
    for _ in range(12):  # discs
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(10, 120)
        m = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[m] = img[m] * 0.5 + rng.integers(0, 256, 3) * 0.5
    img = np.clip(img + rng.integers(-12, 13, (h, w, 1)), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(a.data, f"img{i:06d}.jpg"), quality=90)


have = len([f for f in os.listdir(a.data) if f.endswith(".jpg")])
if have < a.count:
    from multiprocessing import Pool
    t = time.perf_counter()
    with Pool(os.cpu_count()) as pool:
        pool.map(generate, range(a.count), chunksize=64)
    print(f"generated {a.count} JPEGs in {time.perf_counter() - t:.1f} s", flush=True)

torch.manual_seed(0)
model = torchvision.models.resnet50(weights=None).eval()
onnx_path = os.path.join(a.out, "resnet50.onnx")
if not os.path.exists(onnx_path):
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), onnx_path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)

files = sorted(f for f in os.listdir(a.data) if f.endswith(".jpg"))[: a.count]
tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])


class Files(torch.utils.data.Dataset):
    def __len__(self): return len(files)
    def __getitem__(self, i):
        with Image.open(os.path.join(a.data, files[i])) as im:
            return tf(im.convert("RGB"))


dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True
model = model.to(dev).to(memory_format=torch.channels_last)
loader = torch.utils.data.DataLoader(Files(), batch_size=a.batch, num_workers=a.workers, pin_memory=True,
                                     persistent_workers=True, prefetch_factor=4, shuffle=False)


def epoch(limit=None):
    n, t = 0, time.perf_counter()
    with torch.inference_mode():
        for k, x in enumerate(loader):
            if limit is not None and k >= limit: break
            y = model(x.to(dev, non_blocking=True).to(memory_format=torch.channels_last))
            y.float().cpu()
            n += x.shape[0]
    torch.cuda.synchronize()
    return n, time.perf_counter() - t


warm_n, warm_s = epoch(limit=4)  # cudnn.benchmark picks its kernels, workers start
n, s = epoch()
# The compute-bound limit: the same batches already on the GPU, no decoding.
x = torch.randn(a.batch, 3, 224, 224, device=dev).to(memory_format=torch.channels_last)
with torch.inference_mode():
    for _ in range(5): model(x)
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(20): model(x)
    torch.cuda.synchronize(); gpu_only = 20 * a.batch / (time.perf_counter() - t)
res = {"torch": torch.__version__, "torchvision": torchvision.__version__, "gpu": torch.cuda.get_device_name(0),
       "cores": os.cpu_count(), "workers": a.workers, "batch": a.batch, "images": n, "seconds": s,
       "images_per_s": n / s, "warmup_images": warm_n, "warmup_s": warm_s, "gpu_only_images_per_s": gpu_only,
       "settings": "PIL decode, Resize(256)+CenterCrop(224), DataLoader(num_workers=cores, pin_memory, persistent_workers, "
                   "prefetch_factor=4), channels_last, cudnn.benchmark, non_blocking, inference_mode, fp32"}
print(json.dumps(res), flush=True)
json.dump(res, open(os.path.join(a.out, "torch_dataloader.json"), "w"), indent=1)
