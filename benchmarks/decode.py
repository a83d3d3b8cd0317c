"""Seconds per video to read the sampled frames, PyAV reader (decodes only the packets the frames depend on) against the
OpenCV reader (decodes every frame up to the last one wanted) as the baseline in the same run, and whether the two give the
same frames, pixel for pixel.

    python benchmarks/decode.py [VIDEO_DIR ...] [--frames 32] [--repeat 1]

VIDEO_DIR defaults to ../shared/data/samples/dfdc/videos (real 10 s DFDC clips). Each folder is searched recursively for
videos. Both readers run on every video, in alternating order, one after another on this process (the decoder's own
threads as each library sets them)."""
import argparse, time
from pathlib import Path
import numpy as np
from deepfake_study.core import VIDEO_EXTS
from deepfake_study.frames import read_frames, VideoReadError

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('dirs', nargs='*'); ap.add_argument('--frames', type=int, default=32)
    ap.add_argument('--repeat', type=int, default=1); a = ap.parse_args()
    dirs = [Path(d) for d in a.dirs] or [Path(__file__).resolve().parents[1].parent/'shared'/'data'/'samples'/'dfdc'/'videos']
    src = {f: d for d in dirs for f in d.rglob('*') if f.suffix.lower() in VIDEO_EXTS}
    fns = sorted(src)
    if not fns: raise SystemExit(f"no videos in {[str(d) for d in dirs]}")
    print(f"{len(fns)} videos, {a.frames} frames each, {a.repeat} repeat(s)")
    t = {'av': [], 'cv2': []}; same, differ, failed, dec, tot = 0, [], [], [], []
    for k, fn in enumerate(fns):
        out = {}
        for r in (('av', 'cv2') if k % 2 == 0 else ('cv2', 'av')):
            ts = []
            for _ in range(a.repeat):
                info = {}; t0 = time.perf_counter()
                try: out[r] = read_frames(fn, a.frames, reader=r, info=info, seek_gap=10**9)  # OpenCV decodes straight through; PyAV plans its own
                except VideoReadError as e: out[r] = e
                ts.append(time.perf_counter()-t0)
            t[r].append(min(ts))
            if r == 'av' and 'decoded' in info: dec.append(info['decoded']); tot.append(info['total'])
        if any(isinstance(o, Exception) for o in out.values()): failed.append(f"{fn.name}: " + ', '.join(f"{r} {o}" for r,o in out.items() if isinstance(o, Exception))); continue
        (ia, fa), (ic, fc) = out['av'], out['cv2']
        if ia == ic and all(np.array_equal(x, y) for x, y in zip(fa, fc)): same += 1
        else: differ.append(f"{fn.relative_to(fn.parents[1])}: indices {'same' if ia==ic else f'{len(ia)} vs {len(ic)}'}")
    if len(dirs) > 1:
        for d in dirs:
            k = [i for i,f in enumerate(fns) if src[f] == d]
            if k: print(f"  {d.name}: {len(k)} videos, OpenCV {np.mean([t['cv2'][i] for i in k]):.3f} s/video, PyAV {np.mean([t['av'][i] for i in k]):.3f} s/video")
    ta, tc = np.mean(t['av']), np.mean(t['cv2'])
    print(f"OpenCV reader (baseline): {tc:.3f} s/video; PyAV reader: {ta:.3f} s/video; {tc/ta:.2f}x faster")
    if dec: print(f"PyAV sent {np.sum(dec)/np.sum(tot)*100:.0f}% of the packets to the decoder ({np.mean(dec):.0f} of {np.mean(tot):.0f} per video)")
    print(f"identical frames (indices and every pixel): {same} of {len(fns)-len(failed)} videos")
    for d in differ: print('  differ:', d)
    for f in failed: print('  failed:', f)
