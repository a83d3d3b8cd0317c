"""Face extraction, three ways on the same videos in the same run:
- naive: seek and decode each sampled frame, MTCNN on one full-resolution frame at a time (the baseline);
- per video: this project's extractor (frames read by `read_frames`: PyAV decoding only the packets they depend on; MTCNN batched over a video's frames downscaled to 960 px),
  one video after another in one process (with its full-resolution retry of faceless frames, and without it: what prep
  did before `retry_full`);
- prepare_dataset: the whole of `deepfake_prep` as a user runs it (CPU: processes over videos; GPU: decode, detect and
  write overlapped, one detector per GPU), crops written and all.
Prints faces/s and sampled frames/s for each, the ratios against the naive loop and the faces each found (goal: within 2%).

    python benchmarks/prep.py [VIDEO_DIR] [--frames 32] [--device cpu] [--workers N]

VIDEO_DIR defaults to ../shared/data/samples/dfdc/videos (real 1080p DFDC clips), else the demo's raw videos."""
import argparse, time, sys
from pathlib import Path
import numpy as np, cv2, torch
from deepfake_study.frames import read_frames, frame_indices
from deepfake_study.faces import FaceExtractor

def naive(fns, n, device):
    from facenet_pytorch import MTCNN
    m = MTCNN(keep_all=True, device=device, post_process=False)
    faces = 0
    for fn in fns:
        cap = cv2.VideoCapture(str(fn)); total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        for i in frame_indices(total, n):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i); ok, fr = cap.read()
            if not ok: continue
            b, p = m.detect(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB))
            if b is not None and len(p) and max(np.asarray(p, np.float32)) >= 0.9: faces += 1
        cap.release()
    return faces

def pipeline(fns, n, device, retry_full=True):
    fx = FaceExtractor(device=device, retry_full=retry_full)
    faces = 0
    for fn in fns:
        _, frames = read_frames(fn, n)
        faces += len(fx.extract(frames))
    return faces

def prepared(d, n, device, workers):
    import tempfile
    from deepfake_study.data_prep import prepare_dataset
    s = prepare_dataset(d, tempfile.mkdtemp(), frames=n, device=device, workers=workers, progress=False)
    return s['faces']

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('videos', nargs='?'); ap.add_argument('--frames', type=int, default=32); ap.add_argument('--device', default='cpu')
    ap.add_argument('--workers', type=int, default=None)
    a = ap.parse_args()
    d = Path(a.videos) if a.videos else Path(__file__).resolve().parents[1].parent/'shared'/'data'/'samples'/'dfdc'/'videos'
    if not d.exists():
        from deepfake_study.demo import demo_data
        d = demo_data()['raw']/'dfdc'
    fns = sorted(p for p in d.rglob('*.mp4'))
    print(f"{len(fns)} videos from {d}, {a.frames} frames each, device={a.device}, torch threads={torch.get_num_threads()}")
    res = {}
    runs = [('naive', lambda: naive(fns, a.frames, a.device)), ('per video', lambda: pipeline(fns, a.frames, a.device)),
            ('no full retry', lambda: pipeline(fns, a.frames, a.device, retry_full=False))]  # what prep did before retry_full
    if (d/'metadata.json').is_file(): runs.append(('prepare_dataset', lambda: prepared(d, a.frames, a.device, a.workers)))
    for name, fn in runs:
        t = time.perf_counter(); faces = fn(); dt = time.perf_counter()-t
        res[name] = (faces, dt); print(f"{name:15s} {faces:5d} faces in {dt:7.1f} s = {faces/dt:6.2f} faces/s, {len(fns)*a.frames/dt:6.2f} sampled frames/s")
    fn_, tn = res['naive']
    for name in list(res)[1:]:
        fp, tp = res[name]
        print(f"{name}: {tn/tp:.2f}x the naive loop's speed; faces found {fp} vs naive {fn_} ({100*(fp-fn_)/max(fn_,1):+.1f}%)")
