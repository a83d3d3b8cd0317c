"""What goes where: a property of one function (its edge cases, its refusals) is a hidden test in that function's chapter;
`tests/` holds what a chapter cannot: command lines and subprocesses, browsers, the real clips, wheels and installs, and
the bad-input cases of each stage (test_bad_frames, _prep, _train, _study, _predict). Helpers two test files share live
here, once."""
import json, os, shutil, struct, sys
from pathlib import Path
import numpy as np, cv2, pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the console scripts of the environment running the tests
SHARED = ROOT.parent/'shared'/'data'/'samples'
os.environ.setdefault('HF_HUB_OFFLINE', '1')

@pytest.fixture(scope='session')
def samples():
    "The real DFDC samples beside the repo; tests using them skip cleanly where ../shared is absent."
    d = SHARED/'dfdc'
    if not (d/'videos'/'metadata.json').is_file(): pytest.skip('../shared/data/samples is not present')
    return d

@pytest.fixture(scope='session')
def demo():
    "The built-in demo datasets (built and prepared on first use, cached under DEEPFAKE_DATA)."
    from deepfake_study.demo import demo_data
    return demo_data()

@pytest.fixture(scope='session')
def tiny_run(demo, tmp_path_factory):
    "A small detector trained on the demo (seconds on a CPU), for tests that need a run folder."
    from deepfake_study.train import train_run
    out = tmp_path_factory.mktemp('runs')/'tiny'
    return train_run('resnet18', 'baseline', 'adam', 1e-3, epochs=1, size=48, max_frames=2, blackbox=None, out=out, n_boot=0, progress=False)['out']

# shared by the bad-input files
def noise_video(fn, w=64, h=64, n=12, fourcc='mp4v'):
    "A small noise video made by OpenCV."
    fn = Path(fn); fn.parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(fn), cv2.VideoWriter_fourcc(*fourcc), 10, (w, h))
    rng = np.random.default_rng(0)
    for _ in range(n): vw.write(rng.integers(0, 255, (h, w, 3), np.uint8))
    vw.release(); return fn

@pytest.fixture(scope='module')
def good(demo):
    "Two real-looking demo clips with faces (one real, one fake)."
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    r = next(k for k, e in meta.items() if e['label']=='REAL'); f = next(k for k, e in meta.items() if e['label']=='FAKE')
    return [src/r, src/f]

def folder_with(tmp, good, extra:dict):
    "A folder-layout dataset: the good clips under real/ and fake/, plus `extra` {relative path: maker}."
    d = tmp/'ds'
    (d/'real').mkdir(parents=True); (d/'fake').mkdir(parents=True)
    shutil.copy(good[0], d/'real'/'good_real.mp4'); shutil.copy(good[1], d/'fake'/'good_fake.mp4')
    for rel, make in extra.items(): make(d/rel)
    return d

def face_frames(demo, n=60):
    "`n` RGB frames of a demo clip with a face (its frames repeated)."
    from deepfake_study.frames import read_frames
    clip = sorted((demo['raw']/'dfdc'/'dfdc_train_part_0').glob('*.mp4'))[0]
    _, frs = read_frames(clip, 64)
    return clip, [frs[i % len(frs)] for i in range(n)]

def avi(fn, frames, claim=None):
    "An MJPG AVI of `frames`; with `claim`, its headers say it holds `claim` frames."
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(fn), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h))
    for f in frames: vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    if claim:
        b = bytearray(Path(fn).read_bytes())
        i = b.index(b'avih'); struct.pack_into('<I', b, i+8+16, claim)  # dwTotalFrames
        i = b.index(b'strh'); struct.pack_into('<I', b, i+8+32, claim)  # the stream's dwLength
        Path(fn).write_bytes(bytes(b))
    return Path(fn)

@pytest.fixture(scope='module')
def huge_video(tmp_path_factory):
    "An 8192 x 8192 H.264 clip of 6 frames (a few hundred KB on disk, 200 MB per RGB frame)."
    import av
    fn = tmp_path_factory.mktemp('huge')/'8k.mp4'
    with av.open(str(fn), 'w') as c:
        s = c.add_stream('libx264', rate=25); s.width = s.height = 8192; s.pix_fmt = 'yuv420p'; s.options = {'preset': 'ultrafast'}
        img = np.zeros((8192, 8192, 3), np.uint8); img[::64] = 255
        for _ in range(6):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format='rgb24')): c.mux(p)
        for p in s.encode(): c.mux(p)
    return fn
