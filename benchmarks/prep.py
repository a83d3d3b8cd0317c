"""Face extraction: this project's pipeline (frames decoded by grab/read, MTCNN batched over a video's frames on frames
downscaled to 960 px) against a naive loop (seek and decode each sampled frame, MTCNN on one full-resolution frame at a time),
on the same videos in the same run. Prints faces/s for both, the ratio and the faces each found.

    python benchmarks/prep.py [VIDEO_DIR] [--frames 32] [--device cpu]

VIDEO_DIR defaults to ../shared/data/samples/dfdc/videos (real 1080p DFDC clips), else the demo's raw videos."""
import argparse, time, sys
from pathlib import Path
import numpy as np, cv2, torch
from deepfake_study.data_prep import FaceExtractor, read_frames, frame_indices

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

def pipeline(fns, n, device):
    fx = FaceExtractor(device=device)
    faces = 0
    for fn in fns:
        _, frames = read_frames(fn, n)
        faces += len(fx.extract(frames))
    return faces

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('videos', nargs='?'); ap.add_argument('--frames', type=int, default=32); ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    d = Path(a.videos) if a.videos else Path(__file__).resolve().parents[1].parent/'shared'/'data'/'samples'/'dfdc'/'videos'
    if not d.exists():
        from deepfake_study.demo import demo_data
        d = demo_data()['raw']/'dfdc'
    fns = sorted(p for p in d.rglob('*.mp4'))
    print(f"{len(fns)} videos from {d}, {a.frames} frames each, device={a.device}, torch threads={torch.get_num_threads()}")
    res = {}
    for name, fn in (('naive', naive), ('pipeline', pipeline)):
        t = time.perf_counter(); faces = fn(fns, a.frames, a.device); dt = time.perf_counter()-t
        res[name] = (faces, dt); print(f"{name:9s} {faces:5d} faces in {dt:7.1f} s = {faces/dt:6.2f} faces/s, {len(fns)*a.frames/dt:6.2f} frames/s")
    (fn_, tn), (fp, tp) = res['naive'], res['pipeline']
    print(f"speed-up (faces/s): {(fp/tp)/(fn_/tn):.2f}x   faces found: pipeline {fp} vs naive {fn_}")
