"""How well sparse face detection (prediction's `detect_every`) places the boxes it does not detect, against detecting every
frame, and how many frames it runs the detector on.

    python benchmarks/sparse.py [VIDEO_DIR ...] [--frames 32] [--cache dets.pkl]

Each video's sampled frames are detected once, every frame (`FaceExtractor.detect`, CPU). Sparse strategies are then replayed
on those detections, so all of them see exactly the same detector output: `FaceExtractor.detect_sparse` at several
`every` and `min_iou`, and, as the baseline in the same run, the rule it replaced (interpolate between the k-th most confident
faces of two key frames when their counts agree; detect every frame between them otherwise). For each: detector frames per
video, frames whose face count differs, and the IoU of the first (most confident) face's box with the one detected on that
frame. VIDEO_DIR defaults to the real DFDC sample clips in ../shared/data/samples."""
import argparse, pickle, time
from pathlib import Path
import numpy as np
from deepfake_study.frames import read_frames
from deepfake_study.faces import FaceExtractor, box_iou

class Replay(FaceExtractor):
    "A FaceExtractor whose detector answers from recorded detections: frame i is a 1-pixel image holding i."
    def __init__(self, dets): self.dets, self.calls = dets, 0
    def detect(self, frames): self.calls += len(frames); return [self.dets[int(f[0,0,0])] for f in frames]

def rank_rule(fx, frames, every):
    "The rule before IoU pairing (kept here as the baseline only)."
    at = sorted(set(range(0, len(frames), every)) | {len(frames)-1})
    got = dict(zip(at, fx.detect([frames[i] for i in at])))
    gaps = [i for a, b in zip(at, at[1:]) if len(got[a][1]) != len(got[b][1]) or not len(got[a][1]) for i in range(a+1, b)]
    if gaps: got.update(zip(gaps, fx.detect([frames[i] for i in gaps])))
    at, out = sorted(got), []
    for i in range(len(frames)):
        if i in got: out.append(got[i]); continue
        a = max(j for j in at if j < i); b = min(j for j in at if j > i)
        (ba, pa, la), (bb, pb, lb) = got[a], got[b]
        if len(pa) and len(pa)==len(pb): t = (i-a)/(b-a); out.append(((1-t)*ba + t*bb, np.minimum(pa, pb), (1-t)*la + t*lb))
        else: out.append(got[a] if i-a <= b-i else got[b])
    return out

def score(name, dets, fn):
    calls, n, wrong, ious = 0, 0, 0, []
    for truth in dets.values():
        fx = Replay(truth); out = fn(fx, [np.full((1,1,3), i, np.uint8) for i in range(len(truth))])
        calls += fx.calls; n += len(truth)
        for (b, p, _), (tb, tp, _) in zip(out, truth):
            if len(p) != len(tp): wrong += 1
            elif len(p): ious.append(box_iou(b[:1], tb[:1])[0, 0])
    ious = np.array(ious)
    print(f"{name:34s} detector frames/video {calls/len(dets):5.1f} of {n/len(dets):.0f}; face count differs on {wrong/n*100:4.1f}% of frames; "
          f"first face's IoU with its frame's detection: mean {ious.mean():.3f}, below 0.7 {np.mean(ious < 0.7)*100:5.2f}%, below 0.5 {np.mean(ious < 0.5)*100:5.2f}%")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('videos', nargs='*'); ap.add_argument('--frames', type=int, default=32)
    ap.add_argument('--cache', help='save (or reuse) the per-frame detections here'); a = ap.parse_args()
    dirs = [Path(v) for v in a.videos] or [Path(__file__).resolve().parents[1].parent/'shared'/'data'/'samples'/'dfdc'/'videos']
    fns = sorted(f for d in dirs for f in d.rglob('*.mp4'))
    if not fns: raise SystemExit(f"no videos in {dirs}")
    if a.cache and Path(a.cache).is_file(): dets = pickle.loads(Path(a.cache).read_bytes())  # a file this script wrote
    else:
        fx, dets, t = FaceExtractor(device='cpu'), {}, time.time()
        for k, fn in enumerate(fns):
            dets[str(fn)] = fx.detect(read_frames(fn, a.frames)[1])
            print(f"\r{k+1}/{len(fns)} videos detected on every frame ({time.time()-t:.0f} s)", end='', flush=True)
        print()
        if a.cache: Path(a.cache).write_bytes(pickle.dumps(dets))
    print(f"{len(dets)} videos, {a.frames} frames each")
    for every in (4, 8):
        score(f"baseline (rank rule) every={every}", dets, lambda fx, fr, e=every: rank_rule(fx, fr, e))
        for mi in (0.3, 0.5, 0.7):
            score(f"detect_sparse every={every} min_iou={mi}", dets, lambda fx, fr, e=every, m=mi: fx.detect_sparse(fr, e, m))
