"""The cost of self-blended training images made on the fly: items/s of the data pipeline (load, resize, augment, collate)
with fakes='sbi' against the same pipeline over the dataset's own crops, in the same run, on the demo's training faces.

    python benchmarks/sbi.py [--size 128] [--bs 32] [--batches 12]"""
import argparse, time
from deepfake_study.core import seed_everything
from deepfake_study.demo import demo_data
from deepfake_study.data import load_faces, get_dls

def rate(faces, fakes, size, bs, n):
    seed_everything(0)
    dls = get_dls(faces, size, bs, fakes=fakes)
    it = iter(dls.train); next(it)  # warm-up batch
    t = time.perf_counter(); k = 0
    for _ in range(n):
        try: xb, yb = next(it)
        except StopIteration: it = iter(dls.train); xb, yb = next(it)
        k += len(yb)
    return k/(time.perf_counter()-t)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=128); ap.add_argument('--bs', type=int, default=32); ap.add_argument('--batches', type=int, default=12)
    a = ap.parse_args()
    faces = load_faces(demo_data()['dfdc'], max_frames=4)
    base = rate(faces, 'dataset', a.size, a.bs, a.batches)
    sbi = rate(faces, 'sbi', a.size, a.bs, a.batches)
    print(f"data pipeline, dataset crops: {base:.0f} items/s")
    print(f"data pipeline, fakes='sbi' (half the items self-blended on the fly): {sbi:.0f} items/s")
    print(f"sbi / dataset crops: {sbi/base:.2f}x")
