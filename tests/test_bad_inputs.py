"""The bad-input matrix: bad files mixed among good clips, as a careless user or an attacker would, against deepfake_prep, deepfake_train
and deepfake_predict. Each case builds its own inputs in a temporary folder; every case ends in a clear error or a counted status,
and 'nothing lost' is checked by comparing the tables with the records and the crops on disk."""
import json, os, shutil, signal, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
BIN = Path(sys.executable).parent

def _video(fn, w=64, h=64, n=12, fourcc='mp4v'):
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

def _folder(tmp, good, extra:dict):
    "A folder-layout dataset: the good clips under real/ and fake/, plus `extra` {relative path: maker}."
    d = tmp/'ds'
    (d/'real').mkdir(parents=True); (d/'fake').mkdir(parents=True)
    shutil.copy(good[0], d/'real'/'good_real.mp4'); shutil.copy(good[1], d/'fake'/'good_fake.mp4')
    for rel, make in extra.items(): make(d/rel)
    return d

def nothing_lost(out, index):
    "Every indexed video is in videos.csv exactly once; every crop listed exists, is listed once, and every crop on disk is listed."
    v, f = pd.read_csv(out/'videos.csv'), pd.read_csv(out/'faces.csv')
    assert sorted(v.path) == sorted(index.path), 'a video was lost or doubled'
    assert v.video.is_unique and f.crop.is_unique
    assert all((out/c).is_file() for c in f.crop)
    assert sorted(str(p.relative_to(out)) for p in (out/'faces').rglob('*.png')) == sorted(f.crop) if (out/'faces').exists() else not len(f)
    assert (v.groupby('video').n_faces.first().reindex(f.video.unique()) == f.groupby('video').size()).all()
    return v.set_index('path'), f

def _prep(d, out, **kw): return prepare_dataset(d, out, frames=kw.pop('frames', 3), size=64, workers=0, valid=0, test=0, progress=False, **kw)

# ---- prep: one bad video is one status, never a failed sweep
def test_tiny_video_is_no_face_not_a_crash(good, tmp_path):
    d = _folder(tmp_path, good, {'fake/tiny.mp4': lambda p: _video(p, 16, 16)})
    s = _prep(d, tmp_path/'out')
    v, f = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/tiny.mp4', 'status'] == 'no_face' and 'too small' in v.loc['fake/tiny.mp4', 'message']
    assert (v.loc[['real/good_real.mp4', 'fake/good_fake.mp4'], 'status'] == 'ok').all() and s['no_face'] == 1

def test_an_exception_in_one_video_is_its_status(good, tmp_path, monkeypatch):
    "Any exception while detecting one video becomes that video's record (status error, with the type); the others go on, and a rerun resumes."
    import deepfake_study.data_prep as dp
    real_detect = dp.FaceExtractor.detect
    def boom(self, frames):
        if frames[0].shape[:2] == (56, 72): raise RuntimeError('detector blew up')  # the noise video only
        return real_detect(self, frames)
    monkeypatch.setattr(dp.FaceExtractor, 'detect', boom)
    d = _folder(tmp_path, good, {'fake/bright.mp4': lambda p: _video(p, 72, 56)})
    s = _prep(d, tmp_path/'out')
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/bright.mp4', 'status'] == 'error' and 'RuntimeError: detector blew up' in v.loc['fake/bright.mp4', 'message'] and s['error'] == 1
    assert s['ok'] == 2
    assert _prep(d, tmp_path/'out')['processed'] == 0  # the error is recorded: a rerun goes on, it does not stop at that video

def test_same_stem_two_extensions_stay_two_videos(good, tmp_path):
    d = _folder(tmp_path, good, {'fake/x.mp4': lambda p: shutil.copy(good[1], p), 'fake/x.avi': lambda p: _video(p, n=8, fourcc='MJPG')})
    _prep(d, tmp_path/'out')
    v, f = nothing_lost(tmp_path/'out', index_videos(d))
    assert {v.loc['fake/x.mp4', 'video'], v.loc['fake/x.avi', 'video']} == {'fake/x.mp4', 'fake/x.avi'}
    assert v.loc['fake/x.mp4', 'n_faces'] > 0 and not f.duplicated(['video', 'frame', 'face']).any()

def test_csv_duplicates(tmp_path, caplog):
    d = tmp_path/'ds'; d.mkdir()
    for n in ('a', 'b'): (d/f'{n}.mp4').write_bytes(b'')
    (d/'list.csv').write_text('path,label\na.mp4,1\nb.mp4,0\na.mp4,0\n')
    with pytest.raises(MetadataError, match=r"'a.mp4' twice with different values \(list.csv line 2: label 1, list.csv line 4: label 0\)"): index_videos(d, 'folder')
    (d/'list.csv').write_text('path,label\na.mp4,1\nb.mp4,0\na.mp4,1\n')
    df = index_videos(d, 'folder')
    assert sorted(df.path) == ['a.mp4', 'b.mp4'] and 'more than once' in caplog.text

def test_outward_symlink_is_an_unsafe_path_row(good, tmp_path):
    secret = _video(tmp_path/'outside'/'secret.mp4')
    d = _folder(tmp_path, good, {'real/link.mp4': lambda p: os.symlink(secret, p)})
    s = _prep(d, tmp_path/'out')
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['real/link.mp4', 'status'] == 'unsafe_path' and s['unsafe_path'] == 1 and s['videos'] == 3

def test_a_second_writer_is_refused(good, tmp_path):
    d = _folder(tmp_path, good, {}); out = tmp_path/'out'; out.mkdir()
    with open(out/'.prep.lock', 'a+') as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); f.write('pid 4242'); f.flush()
        with pytest.raises(ValueError, match='being prepared by another process'): _prep(d, out)
    assert not (out/'videos.csv').exists()
    _prep(d, out)  # the lock went with its holder
    r = subprocess.run([str(BIN/'deepfake_prep'), str(d), str(out), '--frames', '4', '--size', '64'], capture_output=True, text=True)
    assert r.returncode == 1 and 'prepared with other settings' in r.stderr and 'Traceback' not in r.stderr

def test_stale_frames_after_a_seek_are_not_frames(tmp_path, monkeypatch):
    "A damaged file whose seeks past frame 84 hand back the last good frame: those are dropped, and prep marks the video partial."
    import deepfake_study.data_prep as dp
    class Damaged:
        "300 frames claimed, 85 decodable; reading past them returns the last good frame again (what OpenCV does on such files)."
        def __init__(self, fn): self.pos = 0
        def isOpened(self): return True
        def get(self, prop): return 300
        def set(self, prop, v): self.pos = int(v)
        def _frame(self): return np.full((32, 32, 3), min(self.pos, 84), np.uint8)
        def grab(self): self.pos += 1; return True
        def read(self): fr = self._frame(); self.pos += 1; return True, fr
        def release(self): pass
    monkeypatch.setattr(dp.cv2, 'VideoCapture', Damaged)
    fn = tmp_path/'damaged.mp4'; fn.write_bytes(b'x')
    idxs, frames = read_frames(fn, 8, seek_gap=10)
    assert [int(f[0, 0, 0]) for f in frames] == [min(i, 84) for i in idxs] and len(set(int(f[0,0,0]) for f in frames)) == len(frames)
    assert idxs == [0, 43, 85]  # 85 is the first stale read that a seek cannot tell; beyond, every repeat is dropped
    info = {}; read_frames(fn, 32, seek_gap=5, info=info)
    assert info == dict(total=300, wanted=32)

def test_stale_frames_make_a_partial_video(good, tmp_path, monkeypatch):
    import deepfake_study.data_prep as dp
    real = dp.read_frames
    def few(fn, n, seek_gap=60, info=None):
        idxs, frs = real(fn, n, seek_gap, info)
        return (idxs[:2], frs[:2]) if 'good_fake' in str(fn) else (idxs, frs)
    monkeypatch.setattr(dp, 'read_frames', few)
    d = _folder(tmp_path, good, {})
    s = _prep(d, tmp_path/'out', frames=8)
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/good_fake.mp4', 'status'] == 'partial' and 'only 2 distinct frames of the 8' in v.loc['fake/good_fake.mp4', 'message']
    assert v.loc['real/good_real.mp4', 'status'] == 'ok' and s['partial'] == 1

def test_workers_die_with_a_killed_parent(demo, tmp_path):
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    out = tmp_path/'out'
    p = subprocess.Popen([str(BIN/'deepfake_prep'), str(src), str(out), '--frames', '8', '--size', '64', '--workers', '2'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0, kids = time.time(), []
    while time.time()-t0 < 120 and not (len(kids) >= 2 and (out/'records').exists() and any((out/'records').glob('*.json'))):
        kids = [int(x) for x in Path(f'/proc/{p.pid}/task/{p.pid}/children').read_text().split()] if Path(f'/proc/{p.pid}').exists() else []
        kids = [k for k in kids if 'spawn' in Path(f'/proc/{k}/cmdline').read_bytes().decode(errors='replace')] if kids else []
        time.sleep(0.1)
    assert kids, 'the pool never started'
    os.kill(p.pid, signal.SIGKILL); p.wait()
    n_then = len(list((out/'records').glob('*.json')))
    time.sleep(3)
    alive = [k for k in kids if Path(f'/proc/{k}').exists() and Path(f'/proc/{k}/stat').read_text().split()[2] != 'Z']
    assert not alive, f'pool workers {alive} outlived their parent'
    time.sleep(1); assert len(list((out/'records').glob('*.json'))) == n_then  # nobody writes records after the parent died

def test_prep_arguments_checked(good, tmp_path):
    d = _folder(tmp_path, good, {})
    r = subprocess.run([str(BIN/'deepfake_prep'), str(d), str(tmp_path/'o'), '--frames', '0'], capture_output=True, text=True)
    assert r.returncode == 1 and 'frames=0' in r.stderr and 'Traceback' not in r.stderr

# ---- metadata
@pytest.mark.parametrize('content,msg', [
    (b'{"a.mp4": {"label": "FAKE", "original": 123}}', "entry 'a.mp4': 'original' must be a file name, got int"),
    (b'{"a.mp4": {"label": "FAKE", "original": ["b.mp4"]}}', "'original' must be a file name, got list"),
    (b'[' * 200_000 + b']' * 200_000, 'nested too deeply'),
    (b'{"a.mp4": {"label": "REAL"}, "\xff\xfe.mp4": {"label": "FAKE"}}', 'not valid UTF-8'),
    (b'{"a.mp4": {"label": "REAL"}, "a.mp4": {"label": "FAKE"}}', "duplicate key 'a.mp4'"),
])
def test_bad_metadata_is_a_clear_error(tmp_path, content, msg):
    (tmp_path/'metadata.json').write_bytes(content)
    with pytest.raises(MetadataError, match='metadata.json') as e: index_dfdc(tmp_path)
    assert msg in str(e.value)

def test_bad_metadata_from_the_command_line(tmp_path):
    (tmp_path/'metadata.json').write_bytes(b'{"a.mp4": {"label": "FAKE", "original": 123}}')
    r = subprocess.run([str(BIN/'deepfake_prep'), str(tmp_path), str(tmp_path/'o')], capture_output=True, text=True)
    assert r.returncode == 1 and "'original' must be a file name" in r.stderr and 'metadata.json' in r.stderr and 'Traceback' not in r.stderr

# ---- train
def _train(*args, cwd=None): return subprocess.run([str(BIN/'deepfake_train'), *map(str, args)], capture_output=True, text=True, cwd=cwd)

@pytest.mark.parametrize('kw,msg', [(dict(bs=0),'bs=0'), (dict(lr=-0.01),'lr=-0.01'), (dict(epochs=0),'epochs=0'), (dict(max_frames=0),'max_frames=0')])
def test_train_arguments_checked_at_the_door(tmp_path, kw, msg):
    from deepfake_study.train import train_run
    with pytest.raises(ValueError, match=msg): train_run('resnet18', 'baseline', **{'blackbox': None, 'out': tmp_path/'run', **kw})
    assert not (tmp_path/'run').exists()  # refused before any folder is made

def test_train_cli_bad_argument_is_a_message(tmp_path):
    r = _train('--arch', 'resnet18', '--mode', 'baseline', '--bs', '0', '--blackbox', 'none', '--out', tmp_path/'run')
    assert r.returncode == 1 and 'bs=0' in r.stderr and 'Traceback' not in r.stderr and not (tmp_path/'run').exists()

def test_train_on_too_little_data_fails_and_says_so(good, tmp_path):
    "Four raw videos: prepared, then too few crops for one batch: a clear error, and the run folder says failed (never running, never done)."
    d = _folder(tmp_path, good, {'real/r2.mp4': lambda p: shutil.copy(good[0], p), 'fake/f2.mp4': lambda p: shutil.copy(good[1], p)})
    r = _train('--arch', 'resnet18', '--mode', 'baseline', '--data', d, '--bs', '512', '--size', '32', '--blackbox', 'none', '--out', tmp_path/'run')
    assert r.returncode == 1 and 'fewer than one batch' in r.stderr and 'Traceback' not in r.stderr
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['status'] == 'failed' and 'fewer than one batch' in cfg['error']

# ---- predict
def test_predict_bad_inputs_each_get_a_line(good, tiny_run, tmp_path):
    tiny = _video(tmp_path/'tiny.mp4', 16, 16)
    r = subprocess.run([str(BIN/'deepfake_predict'), good[0], tiny, str(tmp_path/'nomatch*.mp4'), good[1], '--model', tiny_run, '--frames', '4'],
                       capture_output=True, text=True)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    st = {Path(l['path']).name: l for l in lines}
    assert len(lines) == 4 and st[good[0].name]['status'] == 'ok' and st[good[1].name]['status'] == 'ok'
    assert st['tiny.mp4']['status'] == 'no_face' and st['tiny.mp4']['p_fake'] is None
    assert st['nomatch*.mp4']['status'] == 'missing' and st['nomatch*.mp4']['p_fake'] is None
    r = subprocess.run([str(BIN/'deepfake_predict'), good[0], '--model', tiny_run, '--frames', '-1'], capture_output=True, text=True)
    assert r.returncode == 2 and '--frames -1' in r.stderr

def test_predict_zero_byte_text_and_missing_files(good, tiny_run, tmp_path):
    "Already worked; kept working: empty, text-as-mp4 and missing files are statuses, and the good clip is scored."
    (tmp_path/'empty.mp4').write_bytes(b''); (tmp_path/'text.mp4').write_text('no video here\n' * 20)
    r = subprocess.run([str(BIN/'deepfake_predict'), good[0], tmp_path/'empty.mp4', tmp_path/'text.mp4', tmp_path/'gone.mp4', '--model', tiny_run, '--frames', '2'],
                       capture_output=True, text=True)
    st = {Path(l['path']).name: l['status'] for l in map(json.loads, r.stdout.splitlines())}
    assert r.returncode == 1 and st == {good[0].name: 'ok', 'empty.mp4': 'unreadable', 'text.mp4': 'unreadable', 'gone.mp4': 'missing'}

def test_statuses_vocabulary():
    assert set(STATUSES) >= {'ok', 'partial', 'no_face', 'unreadable', 'missing', 'unsafe_path', 'error'}

def test_a_failed_detector_batch_in_overlapped_prep_is_its_videos_status(good, tmp_path, monkeypatch):
    "On the overlapped (GPU) path, a detector batch that raises (out of GPU memory, say) fails the videos in it with the reason, never the run, and never stalls it; a rerun resumes."
    import deepfake_study.data_prep as dp
    real = dp.FaceExtractor.detect_videos
    def boom(self, videos, batch=None, **kw):
        if any(small[0].shape[:2] == (56, 72) for small, _ in videos): raise RuntimeError('CUDA out of memory (simulated)')
        return real(self, videos, batch, **kw)
    monkeypatch.setattr(dp.FaceExtractor, 'detect_videos', boom)
    d = _folder(tmp_path, good, {'fake/bright.mp4': lambda p: _video(p, 72, 56)})
    s = prepare_dataset(d, tmp_path/'out', frames=4, size=32, workers=2, device='cpu', overlap=True, valid=0, test=0, progress=False)
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/bright.mp4', 'status'] == 'error' and 'CUDA out of memory (simulated)' in v.loc['fake/bright.mp4', 'message']
    assert s['error'] >= 1 and s['error'] + s['ok'] + s['no_face'] == len(v)
    assert prepare_dataset(d, tmp_path/'out', frames=4, size=32, workers=2, device='cpu', overlap=True, valid=0, test=0, progress=False)['processed'] == 0
