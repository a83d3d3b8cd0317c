"""Training throughput: this project's fastai training path (crop cache, the training augmentations as batch transforms, the
run's optimizer and callbacks) against the raw ceiling measured in the same run: a plain timm training loop on tensors already
on the device (no decoding, no augmentation). Prints images/s for both and the ratio (goal on a GPU: >= 0.8x).
On CUDA both use bf16 autocast and channels-last, as train_run does.

    python benchmarks/train.py [--arch lite0] [--size 128] [--bs 32] [--batches 12] [--device cpu] [--workers 0]"""
import argparse, time, contextlib
import numpy as np, torch
from deepfake_study.core import seed_everything, get_device
from deepfake_study.demo import demo_data
from deepfake_study.data import load_faces, get_dls
from deepfake_study.train import build_learner
from deepfake_study.models import create_model

def raw_loop(arch, size, bs, n_batches, dev):
    model, _ = create_model(arch, pretrained=False); model.train().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), 1e-4); lossf = torch.nn.CrossEntropyLoss()
    x = torch.randn(bs, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last); y = torch.randint(0, 2, (bs,), device=dev)
    amp = torch.autocast('cuda', torch.bfloat16) if dev.type=='cuda' else contextlib.nullcontext()
    for b in range(n_batches+2):
        if b == 2:
            if dev.type=='cuda': torch.cuda.synchronize()
            t = time.perf_counter()  # two batches warm up
        with amp: loss = lossf(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    if dev.type=='cuda': torch.cuda.synchronize()
    return n_batches*bs/(time.perf_counter()-t)

def project(faces, arch, size, bs, n_batches, dev, workers):
    dls = get_dls(faces, size, bs, workers=workers, device=dev)  # default augmentations, crop cache
    learn, info = build_learner(dls, arch, 'baseline', 'adam')
    from fastai.callback.core import Callback, CancelFitException
    class Stop(Callback):
        order = 99
        def before_batch(self):
            if self.iter == 2:
                if dev.type=='cuda': torch.cuda.synchronize()
                self.t = time.perf_counter()
        def after_batch(self):
            if self.iter == n_batches+1:
                if dev.type=='cuda': torch.cuda.synchronize()
                self.learn.rate = n_batches*bs/(time.perf_counter()-self.t); raise CancelFitException()
    learn.remove_cb(learn.progress)
    with learn.no_logging(): learn.fit(1, 1e-4, cbs=Stop())
    return learn.rate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--arch', default='lite0'); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--batches', type=int, default=12); ap.add_argument('--device', default='cpu')
    ap.add_argument('--workers', type=int, default=0); ap.add_argument('--data', default=None); a = ap.parse_args()
    seed_everything(0); dev = get_device(a.device)
    faces = load_faces(a.data or demo_data()['dfdc'])
    if (faces.split=='train').sum() < a.bs*(a.batches+2): raise SystemExit(f"too few training crops for {a.batches+2} batches of {a.bs}")
    print(f"{a.arch} size={a.size} bs={a.bs}, {a.batches} timed batches, device {dev}, workers {a.workers}, torch threads={torch.get_num_threads()}")
    raw = raw_loop(a.arch, a.size, a.bs, a.batches, dev)
    print(f"raw timm loop, tensors on the device: {raw:8.1f} img/s")
    ours = project(faces, a.arch, a.size, a.bs, a.batches, dev, a.workers)
    print(f"deepfake_study (fastai, augmented):   {ours:8.1f} img/s")
    print(f"ratio: {ours/raw:.2f}x (goal on a GPU >= 0.8x)")
