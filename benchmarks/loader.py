"""The input pipeline alone, no model: augmented training images/s per CPU core at the training size, for the per-image PIL
path (PNG decode, resize and PIL augmentations per item, fastai batch transforms) and the crop cache with batch augmentations
(`BatchAugment`), beside the raw PNG decode + resize of the same crops measured in the same run. One process, one thread
(workers=0, torch threads 1), so the figures are per core; the goal is >= 750 augmented 224-px images/s per core.
#38: the packed crops (`crop_pack`: the encoded crops in one file, decoded by the loader) beside the raw cache, with the
bytes each keeps per crop, for the prepared crops as they are and as JPEG (quality 90, what `--encoding jpeg` writes),
the study's encoding. Writes benchmarks/results/loader-cpu.json.

    python benchmarks/loader.py [--size 224] [--bs 64] [--batches 20] [--data PREPARED] [--device cpu] [--aug flip,color]"""
import argparse, time, shutil, sys, tempfile
from pathlib import Path
import cv2, pandas as pd
import numpy as np, torch
from PIL import Image
from deepfake_study.core import seed_everything, safe_join
from deepfake_study.data import load_faces, get_dls, crop_cache, DEFAULT_AUG
from deepfake_study.models import face_pixels

def rate(dl, n_batches):
    it = iter(dl); next(it)  # the first batch warms up (workers, caches)
    t, n = time.perf_counter(), 0
    for _ in range(n_batches):
        try: x, y = next(it)
        except StopIteration: it = iter(dl); x, y = next(it)
        n += len(y)
    if x.device.type == 'cuda': torch.cuda.synchronize()
    return n/(time.perf_counter()-t)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--size', type=int, default=224); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--batches', type=int, default=20); ap.add_argument('--data', default=None); ap.add_argument('--device', default='cpu')
    ap.add_argument('--aug', default=DEFAULT_AUG); a = ap.parse_args()
    torch.set_num_threads(1); seed_everything(0)
    if a.data: prepared = a.data
    else:
        from deepfake_study.demo import demo_data
        prepared = demo_data()['dfdc']
    faces = load_faces(prepared)
    print(f"{len(faces)} crops from {prepared}, {a.size} px, bs {a.bs}, {a.batches} timed batches, one core, device {a.device}, augmentations {a.aug}")
    fns = faces[faces.split=='train'].fn.tolist()
    t = time.perf_counter(); n = min(len(fns), a.bs*a.batches)
    for f in fns[:n]: face_pixels(f, a.size)
    raw = n/(time.perf_counter()-t)
    print(f"raw PNG decode + resize, no augmentation: {raw:8.1f} img/s per core")
    pil = rate(get_dls(faces, a.size, a.bs, aug=a.aug, loader='pil', device=a.device, workers=0).train, a.batches)
    print(f"per-image PIL path with augmentations:     {pil:8.1f} img/s per core  ({pil/raw:.2f}x the raw decode)")
    t = time.perf_counter(); arr, _ = crop_cache(prepared, a.size, workers=1, progress=False); build = time.perf_counter()-t
    print(f"crop cache at {a.size} px: {arr.shape[0]} crops, {arr.nbytes/arr.shape[0]/1e3:.0f} KB each ({arr.nbytes/arr.shape[0]:.0f} B x 1e6 = {arr.nbytes/arr.shape[0]/1e3:.0f} GB per million crops), "
          f"built or checked in {build:.1f} s")
    cache = rate(get_dls(faces, a.size, a.bs, aug=a.aug, loader='cache', device=a.device, workers=0).train, a.batches)
    print(f"crop cache + batch augmentations:          {cache:8.1f} img/s per core  ({cache/raw:.2f}x the raw decode, {cache/pil:.2f}x the PIL path)")
    print(f"goal: >= 750 augmented {a.size}-px images/s per core: {'met' if cache >= 750 else 'NOT met'} ({cache/750:.2f}x)")
    from deepfake_study.data import crop_pack
    figs = dict(size=a.size, raw_decode_img_s=raw, pil_img_s=pil, cache_img_s=cache, cache_bytes_per_crop=arr.nbytes/arr.shape[0])
    with tempfile.TemporaryDirectory() as tmp:
        jp = Path(tmp)/'jpeg'; jp.mkdir()  # the same crops as JPEG at quality 90, as deepfake_prep --encoding jpeg writes them
        f = pd.read_csv(Path(prepared)/'faces.csv'); shutil.copy(Path(prepared)/'prep.json', jp); shutil.copy(Path(prepared)/'videos.csv', jp)
        f['crop'] = [c.rsplit('.', 1)[0] + '.jpg' for c in f.crop]
        for c, o in zip(f.crop, pd.read_csv(Path(prepared)/'faces.csv').crop):
            (jp/c).parent.mkdir(parents=True, exist_ok=True); cv2.imwrite(str(jp/c), cv2.imread(str(Path(prepared)/o)), [cv2.IMWRITE_JPEG_QUALITY, 90])
        f.to_csv(jp/'faces.csv', index=False)
        for name, folder in (('as prepared', prepared), ('as JPEG q90', jp)):
            ff = load_faces(folder)
            data, off = crop_pack(folder, ff[ff.split.isin(['train', 'valid'])].crop.tolist(), progress=False)
            per = data.nbytes/(len(off)-1)
            pk = rate(get_dls(ff, a.size, a.bs, aug=a.aug, loader='pack', device=a.device, workers=0, prepared=folder).train, a.batches)
            print(f"packed crops ({name}) + batch augmentations: {pk:8.1f} img/s per core ({pk/cache:.2f}x the raw cache), "
                  f"{per/1e3:.1f} KB per crop ({per/(a.size*a.size*3):.3f}x the raw cache's {a.size*a.size*3/1e3:.0f} KB)")
            figs[f"pack_{'jpeg' if 'JPEG' in name else 'prepared'}_img_s"] = pk
            figs[f"pack_{'jpeg' if 'JPEG' in name else 'prepared'}_bytes_per_crop"] = per
    sys.path.insert(0, str(Path(__file__).parent)); from results import save_result
    save_result('loader-cpu', figs, command=' '.join(['python', *sys.argv]), note='one process, one thread: per core')
