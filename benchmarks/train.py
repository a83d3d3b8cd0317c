"""Training throughput: this project's fastai training path (by default the crop cache with the training augmentations as batch
transforms on the device; `--loader pil` for the per-image path), with the run's optimizer and callbacks, against the raw ceiling
measured in the same run: a plain timm training loop on tensors already on the device (no decoding, no augmentation). Prints
images/s for both and the ratio (goal on a GPU: >= 0.8x). On CUDA both use bf16 autocast and channels-last, as train_run does.

    python benchmarks/train.py [--arch lite0] [--size 128] [--bs 32] [--batches 12] [--device cpu] [--workers N] [--loader cache]
                               [--data PREPARED] [--synthetic N] [--save throughput.yaml]

--synthetic N makes (once) a prepared folder of N random 256-px JPEG crops at --data, for timing on a machine without a dataset:
speed does not depend on what the crops show. --save adds the measured raw rate of the architecture to a throughput file
(the format of configs/throughput.yaml, which `deepfake_report --dry-run` reads) and the project's ratio beside it."""
import argparse, time, contextlib, os, json
from pathlib import Path
import numpy as np, pandas as pd, torch
from deepfake_study.core import seed_everything, get_device, save_json
from deepfake_study.data import load_faces, get_dls, DEFAULT_AUG
from deepfake_study.train import build_learner
from deepfake_study.models import create_model, resolve_arch

def synthetic(folder, n, size=256):
    "A prepared folder of `n` random JPEG crops, 8 per video, 85% train and 15% valid, labels alternating by video."
    import cv2
    from concurrent.futures import ThreadPoolExecutor
    folder = Path(folder)
    if (folder/'faces.csv').is_file() and len(pd.read_csv(folder/'faces.csv')) >= n: return folder
    (folder/'faces').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = [dict(video=f'v{i//8:05d}', path=f'v{i//8:05d}.mp4', frame=i%8, face=0, crop=f'faces/{i:06d}.jpg', label=(i//8)%2,
                 group=f'v{i//8:05d}', split='valid' if (i//8)%7==0 else 'train', dataset='synthetic', method='', prob=1.0, box='[]', landmarks='[]') for i in range(n)]
    def one(r): cv2.imwrite(str(folder/r['crop']), rng.integers(0, 255, (size, size, 3), np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
    with ThreadPoolExecutor(os.cpu_count()) as ex: list(ex.map(one, rows))
    pd.DataFrame(rows).to_csv(folder/'faces.csv', index=False)
    save_json(dict(frames=8, size=size, encoding='jpeg', quality=95, synthetic=True), folder/'prep.json')
    return folder

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

def project(faces, arch, size, bs, n_batches, dev, workers, loader, prepared):
    dls = get_dls(faces, size, bs, workers=workers, device=dev, loader=loader, prepared=prepared)  # the default augmentations
    learn, info = build_learner(dls, arch, 'baseline', 'adam')
    from fastai.callback.core import Callback, CancelFitException
    class Stop(Callback):
        "Times batches 3 to n_batches+2, counted across epochs (a small dataset's epoch may hold fewer)."
        order = 99
        def before_fit(self): self.k = 0
        def before_batch(self):
            if self.k == 2:
                if dev.type=='cuda': torch.cuda.synchronize()
                self.t = time.perf_counter()
        def after_batch(self):
            self.k += 1
            if self.k == n_batches+2:
                if dev.type=='cuda': torch.cuda.synchronize()
                self.learn.rate = n_batches*bs/(time.perf_counter()-self.t); raise CancelFitException()
    learn.remove_cb(learn.progress)
    with learn.no_logging(): learn.fit(1000, 1e-4, cbs=Stop())
    return learn.rate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--arch', default='lite0'); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--batches', type=int, default=12); ap.add_argument('--device', default='cpu')
    ap.add_argument('--workers', type=int, default=None); ap.add_argument('--data', default=None); ap.add_argument('--loader', default='cache', choices=['cache','pil'])
    ap.add_argument('--synthetic', type=int, default=0); ap.add_argument('--save', default=None); a = ap.parse_args()
    seed_everything(0); dev = get_device(a.device)
    if a.synthetic: prepared = synthetic(a.data or '/tmp/deepfake-synthetic', a.synthetic)
    elif a.data: prepared = Path(a.data)
    else:
        from deepfake_study.demo import demo_data
        prepared = demo_data()['dfdc']
    faces = load_faces(prepared)
    if (faces.split=='train').sum() < a.bs: raise SystemExit(f"fewer training crops than one batch of {a.bs}")
    print(f"{resolve_arch(a.arch)} size={a.size} bs={a.bs}, {a.batches} timed batches, device {dev}, loader {a.loader} ({DEFAULT_AUG}), "
          f"workers {a.workers if a.workers is not None else 'default'}, torch threads={torch.get_num_threads()}")
    raw = raw_loop(a.arch, a.size, a.bs, a.batches, dev)
    print(f"raw timm loop, tensors on the device: {raw:8.1f} img/s")
    ours = project(faces, a.arch, a.size, a.bs, a.batches, dev, a.workers, a.loader, prepared)
    print(f"deepfake_study (fastai, augmented):   {ours:8.1f} img/s")
    print(f"ratio: {ours/raw:.2f}x (goal on a GPU >= 0.8x)")
    if a.save:
        import yaml
        fn = Path(a.save); t = yaml.safe_load(fn.read_text()) if fn.is_file() else {}
        name = torch.cuda.get_device_name(dev) if dev.type=='cuda' else 'cpu'
        t.update(device=f"{name}, {os.cpu_count()} CPU cores", size=a.size, source=f"benchmarks/train.py, {time.strftime('%Y-%m-%d')}, bs {a.bs}")
        t.setdefault('train_img_s', {})[resolve_arch(a.arch)] = round(raw)
        t.setdefault('project_ratio_by_arch', {})[resolve_arch(a.arch)] = round(ours/raw, 3)
        t['project_ratio'] = round(min(t['project_ratio_by_arch'].values()), 3)
        t['assumed'] = [k for k in t.get('assumed', []) if k != 'project_ratio']
        fn.write_text(yaml.safe_dump(t, sort_keys=False)); print(f"saved to {fn}")
