"""#38: the training input at DFDC's size. A crop cache on a disk too small stops with one line (no signal, no partial
file); the packed crops give the raw cache's pixels; the plan counts disk."""
import json, os, re, shutil, subprocess, sys, textwrap
from pathlib import Path
import numpy as np, pandas as pd, pytest

@pytest.fixture
def small_disk(tmp_path):
    "A 40 MB tmpfs (as #38 reproduced the SIGBUS on), unmounted after the test."
    d = tmp_path/'disk'; d.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', str(d)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    yield d
    subprocess.run(['umount', str(d)], check=False)

def _subset(demo, dst:Path, n:int)->Path:
    "A prepared folder holding the first `n` crops of the demo's DFDC set."
    src = Path(demo['dfdc']); dst.mkdir(parents=True)
    f = pd.read_csv(src/'faces.csv').head(n)
    for c in f.crop: (dst/c).parent.mkdir(parents=True, exist_ok=True); shutil.copy(src/c, dst/c)
    f.to_csv(dst/'faces.csv', index=False)
    for x in ('videos.csv', 'prep.json'): shutil.copy(src/x, dst/x)
    return dst

BUILD = textwrap.dedent('''
    import sys, shutil, collections
    if sys.argv[2] == 'lie':  # a disk that says it has room: the up-front allocation must still catch it
        shutil.disk_usage = lambda p: collections.namedtuple('u', 'total used free')(10**12, 0, 10**12)
    from deepfake_study.data import crop_cache
    crop_cache(sys.argv[1], 224, progress=False)
''')

@pytest.mark.parametrize('how', ['honest', 'lie'])
def test_a_cache_too_big_for_its_disk_stops_with_one_line(demo, small_disk, how):
    "300 crops at 224 px need 45 MB; the disk has about 31 MB left. Whether the free space is read right or the disk lies about it, the build stops with CacheSpaceError, no SIGBUS, and leaves no partial file."
    p = _subset(demo, small_disk/'prep', 300)
    r = subprocess.run([sys.executable, '-c', BUILD, str(p), how], capture_output=True, text=True)
    assert r.returncode == 1, (r.returncode, r.stderr[-1500:])   # 135 was the SIGBUS
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('deepfake_study.data.CacheSpaceError: the crop cache of 300 crops at 224 px needs 0.05 GB'), last
    assert not [f.name for f in (p/'cache').iterdir() if '.part' in f.name or f.suffix == '.u8'], list((p/'cache').iterdir())
    assert shutil.disk_usage(small_disk).free > 25e6  # the space is given back

def test_deepfake_train_says_it_in_one_line(demo, small_disk, tmp_path):
    "Too little room even for the packed crops: deepfake_train stops before training, in one line naming the need, the free space and the way out."
    p = _subset(demo, small_disk/'prep', 300)
    with open(small_disk/'filler', 'wb') as f: os.posix_fallocate(f.fileno(), 0, shutil.disk_usage(small_disk).free - 4_000_000)
    r = subprocess.run([str(Path(sys.executable).parent/'deepfake_train'), '--data', str(p), '--arch', 'resnet18', '--mode', 'baseline',
                        '--epochs', '1', '--size', '224', '--loader', 'cache', '--blackbox', 'none', '--out', str(tmp_path/'run'),
                        '--device', 'cpu'], capture_output=True, text=True)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and err[-1].startswith('deepfake_train: error: the crop pack of ') and 'Traceback' not in r.stderr, r.stderr[-1500:]
    assert "loader='pil'" in err[-1] and 'GB free' in err[-1] and 'does not fit' in r.stderr  # the raw cache was tried first
    assert not [f for f in (p/'cache').iterdir() if '.part' in f.name]

def test_the_packed_crops_give_the_raw_caches_pixels(demo):
    from deepfake_study.data import crop_cache, crop_pack, PackDataset, load_faces
    f = load_faces(demo['dfdc'])
    crops = f.crop.tolist()[::3]
    arr, _ = crop_cache(demo['dfdc'], 96, crops=crops, progress=False)
    data, off = crop_pack(demo['dfdc'], crops, progress=False)
    assert off.dtype == np.int64 and len(off) == len(crops) + 1 and data.nbytes == off[-1]
    x, _ = PackDataset(data, off, np.arange(len(crops))[::-1], np.zeros(len(crops)), 96).batch(list(range(len(crops))))
    assert np.array_equal(x.numpy(), np.asarray(arr)[::-1])

@pytest.mark.parametrize('encoding', ['png', 'jpeg'])
def test_the_packed_crops_on_real_clips(tmp_path, encoding):
    "The same on real footage: four 1080p DFDC clips and four FF++ c23 clips prepared here, as PNG and as JPEG crops (skips where the real set is not rebuilt)."
    import shutil
    from deepfake_study.core import study_dir
    from deepfake_study.data_prep import prepare_dataset
    real = Path(os.environ['DEEPFAKE_REAL']) if os.environ.get('DEEPFAKE_REAL') else study_dir('data')/'real'
    clips = sorted((real/'dfdc').rglob('*.mp4'))[:4] + sorted((real/'ffpp').rglob('*.mp4'))[:4]
    if len(clips) < 8: pytest.skip('the real clips are not rebuilt here (../shared/data/real/rebuild.sh)')
    src = tmp_path/'ds'
    for i, c in enumerate(clips): (src/('fake' if i % 2 else 'real')).mkdir(parents=True, exist_ok=True); shutil.copy(c, src/('fake' if i % 2 else 'real')/f'{i}_{c.name}')
    p = tmp_path/'prep'
    prepare_dataset(src, p, layout='folder', frames=4, size=128, valid=0, test=0, encoding=encoding, progress=False, workers=0)
    from deepfake_study.data import crop_cache, crop_pack, PackDataset
    crops = pd.read_csv(p/'faces.csv').crop.tolist()
    assert len(crops) >= 24, len(crops)
    arr, _ = crop_cache(p, 112, crops=crops, progress=False); data, off = crop_pack(p, crops, progress=False)
    x, _ = PackDataset(data, off, np.arange(len(crops)), np.zeros(len(crops)), 112).batch(list(range(len(crops))))
    assert np.array_equal(x.numpy(), np.asarray(arr))

def test_the_dry_run_states_the_disk_and_checks_it():
    r = subprocess.run([str(Path(sys.executable).parent/'deepfake_report'), '--config', 'study', '--dry-run'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
    o = r.stdout
    for stage in ('face crops (prep)', 'training input', 'run folders', 'embeddings of'): assert stage in o, o[-3000:]
    assert 'disk in all:' in o and 'peak RAM of the bookkeeping' in o and 'GB' in o
    from deepfake_study.study import load_config, find_config
    from deepfake_study.plan import disk_plan, _crops, load_throughput
    c = load_config(find_config('study')); cr = _crops(c)
    # at the study's size the raw pixels never fit on a 64 GB GPU machine: the plan says the packed crops feed training
    raw = sum(n*s*s*3 for s, n in {224: cr['train'] + cr['valid'], 331: cr['train'] + cr['valid']}.items())
    assert raw > 300e9 and cr['train'] > 600_000, cr

def test_a_study_that_cannot_fit_is_refused_before_anything_runs(demo, small_disk):
    "A report folder on a 40 MB disk: the run folders alone need more. Refused in one line before any run, naming the stage, GB needed and free, and the fix."
    cfg = small_disk.parent/'tiny.yaml'
    cfg.write_text("data: {train: demo, blackbox: demo}\nsize: 48\nepochs: 1\nmax_frames: 2\ngrid:\n  - {arch: resnet18, mode: baseline}\n")
    r = subprocess.run([str(Path(sys.executable).parent/'deepfake_report'), '--config', str(cfg), '--out', str(small_disk/'report')],
                       capture_output=True, text=True)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and last.startswith('deepfake_report: error: the study does not fit: run folders needs 0.') and 'GB free there' in last, r.stderr[-2000:]
    assert 'Traceback' not in r.stderr and not (small_disk/'report'/'runs'/'baseline-resnet18-adam-lr0.001').exists()

def test_a_damaged_record_is_redone_not_a_crash(demo, tmp_path):
    "Records are written without fsync (119,000 of them would cost minutes of it): one cut short by a crash is removed when the tables are built, and the next prep redoes its video."
    from deepfake_study.data_prep import build_tables, videos_to_do, _record_path
    p = tmp_path/'prep'; shutil.copytree(demo['dfdc'], p, ignore=shutil.ignore_patterns('cache'))
    idx = pd.read_csv(p/'videos.csv')
    idx = idx[[c for c in idx.columns if c not in ('status', 'n_frames', 'n_faces', 'message')]]
    v = idx.video.iloc[3]; rp = _record_path(p, v); rp.write_text(rp.read_text()[:40])
    videos, faces = build_tables(p, idx)
    assert v not in set(videos.video) and v not in set(faces.video) and len(videos) == len(idx) - 1
    assert [r['video'] for r in videos_to_do(idx, p)] == [v]

def test_the_scale_benchmark_small(tmp_path):
    "benchmarks/scale.py at 1/80 and 1/20 of DFDC: every step runs, and none grows much faster than the videos (4x the videos, at most 2.5x that in CPU per video)."
    from conftest import ROOT
    r = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'scale.py'), '--videos', '6000', '--fractions', '0.25,1', '--root', str(tmp_path), '--runs', '4'],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    g = re.search(r'as a multiple of linear.*?\n\s+(.*)\n', r.stdout)[1]
    growth = dict((k, float(v)) for k, v in (x.rsplit(' ', 1) for x in g.split(', ')))
    assert set(growth) == {'index', 'split', 'records', 'resume', 'build_tables', 'load_faces', 'loader_index', 'report_tables'}, growth
    assert all(v < 2.5 for v in growth.values()), growth
