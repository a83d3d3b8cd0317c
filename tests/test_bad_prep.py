"""Bad input at one stage, deepfake_prep over a dataset: one bad video is one status, never a failed sweep; metadata, resumes, a growing dataset, a long name, a full disk, a read-only folder; nothing lost (the tables match the records and the crops on disk).
Each case builds its own inputs in a temporary folder and ends in a clear error or a counted status."""
import json, os, re, shutil, signal, struct, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
from conftest import BIN, noise_video, folder_with, face_frames, avi

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

def test_tiny_video_is_no_face_not_a_crash(good, tmp_path):
    d = folder_with(tmp_path, good, {'fake/tiny.mp4': lambda p: noise_video(p, 16, 16)})
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
    d = folder_with(tmp_path, good, {'fake/bright.mp4': lambda p: noise_video(p, 72, 56)})
    s = _prep(d, tmp_path/'out')
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/bright.mp4', 'status'] == 'error' and 'RuntimeError: detector blew up' in v.loc['fake/bright.mp4', 'message'] and s['error'] == 1
    assert s['ok'] == 2
    assert _prep(d, tmp_path/'out')['processed'] == 0  # the error is recorded: a rerun goes on, it does not stop at that video

def test_same_stem_two_extensions_stay_two_videos(good, tmp_path):
    d = folder_with(tmp_path, good, {'fake/x.mp4': lambda p: shutil.copy(good[1], p), 'fake/x.avi': lambda p: noise_video(p, n=8, fourcc='MJPG')})
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
    secret = noise_video(tmp_path/'outside'/'secret.mp4')
    d = folder_with(tmp_path, good, {'real/link.mp4': lambda p: os.symlink(secret, p)})
    s = _prep(d, tmp_path/'out')
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['real/link.mp4', 'status'] == 'unsafe_path' and s['unsafe_path'] == 1 and s['videos'] == 3

def test_a_second_writer_is_refused(good, tmp_path):
    d = folder_with(tmp_path, good, {}); out = tmp_path/'out'; out.mkdir()
    with open(out/'.prep.lock', 'a+') as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); f.write('pid 4242'); f.flush()
        with pytest.raises(ValueError, match='being prepared by another process'): _prep(d, out)
    assert not (out/'videos.csv').exists()
    _prep(d, out)  # the lock went with its holder
    r = subprocess.run([str(BIN/'deepfake_prep'), str(d), str(out), '--frames', '4', '--size', '64'], capture_output=True, text=True)
    assert r.returncode == 1 and 'prepared with other settings' in r.stderr and 'Traceback' not in r.stderr

def test_stale_frames_make_a_partial_video(good, tmp_path, monkeypatch):
    import deepfake_study.data_prep as dp
    real = dp.read_frames
    def few(fn, n, seek_gap=60, info=None):
        idxs, frs = real(fn, n, seek_gap, info)
        return (idxs[:2], frs[:2]) if 'good_fake' in str(fn) else (idxs, frs)
    monkeypatch.setattr(dp, 'read_frames', few)
    d = folder_with(tmp_path, good, {})
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
    d = folder_with(tmp_path, good, {})
    r = subprocess.run([str(BIN/'deepfake_prep'), str(d), str(tmp_path/'o'), '--frames', '0'], capture_output=True, text=True)
    assert r.returncode == 1 and 'frames=0' in r.stderr and 'Traceback' not in r.stderr

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

def test_a_failed_detector_batch_in_overlapped_prep_is_its_videos_status(good, tmp_path, monkeypatch):
    "On the overlapped (GPU) path, a detector batch that raises (out of GPU memory, say) fails the videos in it with the reason, never the run, and never stalls it; a rerun resumes."
    import deepfake_study.data_prep as dp
    real = dp.FaceExtractor.detect_videos
    def boom(self, videos, batch=None, **kw):
        if any(small[0].shape[:2] == (56, 72) for small, _ in videos): raise RuntimeError('CUDA out of memory (simulated)')
        return real(self, videos, batch, **kw)
    monkeypatch.setattr(dp.FaceExtractor, 'detect_videos', boom)
    d = folder_with(tmp_path, good, {'fake/bright.mp4': lambda p: noise_video(p, 72, 56)})
    s = prepare_dataset(d, tmp_path/'out', frames=4, size=32, workers=2, device='cpu', overlap=True, valid=0, test=0, progress=False)
    v, _ = nothing_lost(tmp_path/'out', index_videos(d))
    assert v.loc['fake/bright.mp4', 'status'] == 'error' and 'CUDA out of memory (simulated)' in v.loc['fake/bright.mp4', 'message']
    assert s['error'] >= 1 and s['error'] + s['ok'] + s['no_face'] == len(v)
    assert prepare_dataset(d, tmp_path/'out', frames=4, size=32, workers=2, device='cpu', overlap=True, valid=0, test=0, progress=False)['processed'] == 0

def test_long_video_name_prepares_and_resumes(demo, tmp_path):
    "A video whose name is 250 bytes (legal) is prepared, its record written, and a resume finds it done instead of crashing."
    from deepfake_study.data_prep import prepare_dataset
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    r = [k for k, e in meta.items() if e['label'] == 'REAL'][:2]; f = [k for k, e in meta.items() if e['label'] == 'FAKE'][:2]
    d = tmp_path/'ds'; (d/'real').mkdir(parents=True); (d/'fake').mkdir()
    long = 'é' + 'x'*244 + '.mp4'  # 250 bytes in UTF-8
    assert len(long.encode()) == 250
    shutil.copy(src/r[0], d/'real'/long); shutil.copy(src/r[1], d/'real'/'b.mp4')
    for k in f: shutil.copy(src/k, d/'fake'/k)
    out = tmp_path/'prep'
    for _ in range(2):  # prepared, then resumed
        prepare_dataset(d, out, layout='folder', frames=4, size=64, valid=0.25, test=0.25, progress=False, workers=0)
        v = pd.read_csv(out/'videos.csv')
        assert len(v) == 4 and (v.status == 'ok').all(), v[['path', 'status', 'message']]
    assert not list(out.rglob('.*.tmp*'))

def test_grown_dataset_never_puts_a_group_in_two_splits(demo, tmp_path):
    "Prep a DFDC part, add new originals and new fakes of old originals to its metadata, prep again into the same folder: every identity group stays in one split."
    from deepfake_study.data_prep import prepare_dataset
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    reals = sorted(k for k, e in meta.items() if e['label'] == 'REAL')
    fakes = {k: e for k, e in meta.items() if e['label'] == 'FAKE'}
    d = tmp_path/'ds'/'dfdc_train_part_0'; d.mkdir(parents=True)
    for k in meta: shutil.copy(src/k, d/k)
    first = set(reals[:len(reals)//2])
    half = set(sorted(k for k, e in fakes.items() if e.get('original') in first)[::2])
    sub = {k: e for k, e in meta.items() if k in first or k in half}
    (d/'metadata.json').write_text(json.dumps(sub))
    out = tmp_path/'prep'
    kw = dict(layout='dfdc', frames=2, size=48, valid=0.25, test=0.25, progress=False, workers=0)
    prepare_dataset(d.parent, out, **kw)
    before = pd.read_csv(out/'videos.csv')
    (d/'metadata.json').write_text(json.dumps(meta))  # grown: new originals, and new fakes of old ones
    prepare_dataset(d.parent, out, **kw)
    after = pd.read_csv(out/'videos.csv')
    assert len(after) > len(before)
    spans = after.groupby('group').split.nunique()
    assert (spans == 1).all(), f"{int((spans > 1).sum())} of {len(spans)} identity groups span two splits"
    old = before.set_index('video').split
    assert (after.set_index('video').split[old.index] == old).all(), 'a video prepared before changed split'

def _mount(*args):
    return subprocess.run(['mount', *map(str, args)], capture_output=True, text=True).returncode == 0

@pytest.fixture
def small_disk(tmp_path):
    "A 160 KB filesystem (tmpfs, mounted as root; CI runs as root), unmounted afterwards: `grow()` gives it room."
    d = tmp_path/'disk'; d.mkdir()
    if not _mount('-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', d): pytest.skip('mounting a tmpfs needs root (CI runs as root)')
    yield d, lambda: _mount('-o', 'remount,size=64m', d)
    subprocess.run(['umount', '-l', str(d)])

def _four_videos(demo, d):
    "A folder-layout dataset of 2 real and 2 fake demo clips."
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    (d/'real').mkdir(parents=True); (d/'fake').mkdir()
    for lab in ('REAL', 'FAKE'):
        for k in [k for k, e in meta.items() if e['label'] == lab][:2]: shutil.copy(src/k, d/lab.lower()/k)
    return d

PREP = ['--layout', 'folder', '--frames', '4', '--size', '64']

def test_full_disk_stops_cleanly_and_resume_retries(demo, tmp_path, small_disk):
    "A prep that fills its disk stops with one line and rc 1, writes no 'error' verdict on the video it was at, and once there is room a resume prepares every video: the same faces as a prep that never ran out."
    disk, grow = small_disk
    src = _four_videos(demo, tmp_path/'ds')
    ref = tmp_path/'ref'
    assert subprocess.run([str(BIN/'deepfake_prep'), src, ref, *PREP], capture_output=True).returncode == 0
    r = subprocess.run([str(BIN/'deepfake_prep'), src, disk/'prep', *PREP], capture_output=True, text=True)
    assert r.returncode == 1 and 'Traceback' not in r.stderr and 'No space left on device' in r.stderr and 'run the same command again' in r.stderr, r.stderr[-3000:]
    recs = [json.loads(p.read_text()) for p in (disk/'prep'/'records').rglob('*.json')]
    assert len(recs) < 4 and all(x['status'] == 'ok' for x in recs), [(x['path'], x['status'], x['message']) for x in recs]
    assert grow()
    r = subprocess.run([str(BIN/'deepfake_prep'), src, disk/'prep', *PREP], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    got, want = pd.read_csv(disk/'prep'/'faces.csv'), pd.read_csv(ref/'faces.csv')
    assert (pd.read_csv(disk/'prep'/'videos.csv').status == 'ok').all()
    assert got[['video', 'frame', 'face', 'split']].equals(want[['video', 'frame', 'face', 'split']])

def test_full_disk_in_process_raises_prep_stopped(demo, tmp_path, small_disk):
    "In process (no pool), the same stop is a `PrepStopped` naming the video, and no record says 'error'."
    from deepfake_study.data_prep import prepare_dataset, PrepStopped
    disk, _ = small_disk
    src = _four_videos(demo, tmp_path/'ds')
    with pytest.raises(PrepStopped, match='No space left'):
        prepare_dataset(src, disk/'prep', layout='folder', frames=4, size=64, valid=0.25, test=0.25, progress=False, workers=0)
    assert all(json.loads(p.read_text())['status'] == 'ok' for p in (disk/'prep'/'records').rglob('*.json'))

@pytest.fixture
def read_only(tmp_path):
    "`make(folder)`: the folder seen through a read-only bind mount (root ignores permission bits), unmounted afterwards."
    mounts = []
    def make(d):
        ro = tmp_path/f'ro{len(mounts)}'; ro.mkdir()
        if os.geteuid() != 0:
            subprocess.run(['chmod', '-R', 'a-w', str(d)]); return d
        assert _mount('--bind', d, ro) and _mount('-o', 'remount,ro,bind', ro), 'bind mount'
        mounts.append(ro); return ro
    yield make
    for m in mounts: subprocess.run(['umount', '-l', str(m)])

def test_read_only_prepared_folder_reads_and_refuses_to_grow(demo, tmp_path, read_only):
    "A finished prep behind a read-only mount is read (the same tables, nothing written); one with videos left is a clear error, no traceback."
    from deepfake_study.data_prep import prepare_dataset
    src = _four_videos(demo, tmp_path/'ds')
    out = tmp_path/'prep'
    kw = dict(layout='folder', frames=4, size=64, progress=False, workers=0)
    s0 = prepare_dataset(src, out, **kw)
    ro = read_only(out)
    s1 = prepare_dataset(src, ro, **kw)
    assert s1['faces'] == s0['faces'] and s1['ok'] == 4 and s1['processed'] == 0
    # a video added to the dataset cannot be prepared there
    meta = json.loads((demo['raw']/'dfdc'/'dfdc_train_part_0'/'metadata.json').read_text())
    extra = [k for k, e in meta.items() if e['label'] == 'REAL'][2]
    shutil.copy(demo['raw']/'dfdc'/'dfdc_train_part_0'/extra, src/'real'/extra)
    r = subprocess.run([str(BIN/'deepfake_prep'), src, ro, *PREP], capture_output=True, text=True)
    assert r.returncode == 1 and 'Traceback' not in r.stderr and 'cannot be written' in r.stderr and '1 video(s) are still to prepare' in r.stderr, r.stderr[-2000:]
