"""Training throughput: this project's fastai training path against a plain PyTorch loop over the same timm model, batch size,
image size and crops, measured in the same run. Prints images/s for both and the ratio. The plain loop feeds the network
the NHWC->NCHW permuted batch as it comes (channels-last strides), the fast layout for oneDNN convolutions on CPU.

    python benchmarks/train.py [--arch lite0] [--size 128] [--bs 32] [--batches 12]"""
import argparse, time
import numpy as np, torch
from PIL import Image
from deepfake_study.core import seed_everything
from deepfake_study.demo import demo_data
from deepfake_study.train import load_faces, get_dls, build_learner
from deepfake_study.models import create_model

def plain_loop(fns, labels, arch, size, bs, n_batches, mean, std):
    model, _ = create_model(arch, pretrained=False); model.train()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    m, s = torch.tensor(mean).view(1,3,1,1), torch.tensor(std).view(1,3,1,1)
    lossf = torch.nn.CrossEntropyLoss()
    n = 0; t = None
    for b in range(n_batches+1):
        if b == 1: t = time.perf_counter()  # the first batch warms up
        i = (b*bs) % max(len(fns)-bs, 1)
        x = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert('RGB').resize((size,size), Image.BILINEAR)) for f in fns[i:i+bs]]))
        x = (x.permute(0,3,1,2).float()/255 - m)/s
        y = torch.tensor(labels[i:i+bs])
        loss = lossf(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
        if b: n += len(y)
    return n/(time.perf_counter()-t)

def fastai_path(faces, arch, size, bs, n_batches):
    dls = get_dls(faces, size, bs, aug='', workers=0)
    learn, info = build_learner(dls, arch, 'baseline', 'adam')
    from fastai.callback.core import Callback, CancelFitException
    class Stop(Callback):
        def before_batch(self):
            if self.iter == 1: self.t = time.perf_counter()
        def after_batch(self):
            if self.iter == n_batches: self.learn.rate = n_batches*bs/(time.perf_counter()-self.t); raise CancelFitException()
    learn.remove_cb(learn.progress)
    with learn.no_logging(): learn.fit(1, 1e-4, cbs=Stop())
    return learn.rate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--arch', default='lite0'); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--batches', type=int, default=12); a = ap.parse_args()
    seed_everything(0)
    faces = load_faces(demo_data()['dfdc'])
    tr = faces[faces.split=='train'].sample(frac=1, random_state=0)
    _, info = create_model(a.arch, pretrained=False)
    print(f"{a.arch} size={a.size} bs={a.bs}, {a.batches} timed batches, torch threads={torch.get_num_threads()}")
    plain = plain_loop(tr.fn.tolist(), tr.label.tolist(), a.arch, a.size, a.bs, a.batches, info['mean'], info['std'])
    print(f"plain PyTorch loop: {plain:7.1f} img/s")
    ours = fastai_path(faces, a.arch, a.size, a.bs, a.batches)
    print(f"deepfake_study (fastai): {ours:7.1f} img/s")
    print(f"ratio: {ours/plain:.2f}x (goal >= 0.9x)")
