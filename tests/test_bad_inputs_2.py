"""The second bad-input matrix (#29): real-world videos and long studies, as a careless or hostile user would bring them.
Each case builds its own inputs; wrong answers reported as success come first."""
import json, os, re, shutil, struct, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
BIN = Path(sys.executable).parent

def _predict(*args, **kw):
    return subprocess.run([str(BIN/'deepfake_predict'), *map(str, args)], capture_output=True, text=True, **kw)

def _face_frames(demo, n=60):
    "`n` RGB frames of a demo clip with a face (its frames repeated)."
    from deepfake_study.frames import read_frames
    clip = sorted((demo['raw']/'dfdc'/'dfdc_train_part_0').glob('*.mp4'))[0]
    _, frs = read_frames(clip, 64)
    return clip, [frs[i % len(frs)] for i in range(n)]

def _avi(fn, frames, claim=None):
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

# --- 2. a header that claims more frames than the file holds
@pytest.mark.parametrize('reader', ['auto', 'av', 'cv2'])
def test_lying_header_reads_what_the_file_holds(demo, tmp_path, reader):
    "An AVI whose header claims 600 frames and holds 60: every reader spreads its frames over the 60 there are, and says the header lied."
    from deepfake_study.frames import read_frames, frame_indices
    _, frs = _face_frames(demo)
    liar = _avi(tmp_path/'liar.avi', frs, claim=600)
    info = {}
    idxs, got = read_frames(liar, 8, info=info, reader=reader)
    assert idxs == frame_indices(60, 8) and info['total'] == 60 and info['header_frames'] == 600
    # the frames are the file's own frames (MJPG: compare with an honest copy read the same way)
    ref = read_frames(_avi(tmp_path/'honest.avi', frs), 8, reader=reader)
    assert ref[0] == idxs and all(np.array_equal(a, b) for a, b in zip(ref[1], got))

def test_lying_header_scores_as_the_intact_file(demo, tiny_run, tmp_path):
    "Predict scores the lying AVI from all 8 frames, with the intact file's p_fake, and its message says the header lied."
    _, frs = _face_frames(demo)
    honest, liar = _avi(tmp_path/'honest.avi', frs), _avi(tmp_path/'liar.avi', frs, claim=600)
    r = _predict(honest, liar, '--model', tiny_run, '--frames', '8')
    assert r.returncode == 0, r.stderr
    by = {Path(l['path']).name: l for l in map(json.loads, r.stdout.splitlines())}
    h, l = by['honest.avi'], by['liar.avi']
    assert h['status'] == l['status'] == 'ok' and h['frames_read'] == l['frames_read'] == 8
    assert abs(h['p_fake'] - l['p_fake']) < 1e-6 and 'claims 600' in l['message']

def test_damaged_frames_make_a_partial_not_an_ok(demo, tiny_run, tmp_path):
    "An AVI of 60 frames whose JPEG data is wiped after the second: whatever the reader, the score from 2 of 8 frames is 'partial', rc 1."
    from deepfake_study.frames import read_frames
    _, frs = _face_frames(demo)
    fn = _avi(tmp_path/'damaged.avi', frs); b = bytearray(fn.read_bytes())
    for m in list(re.finditer(rb'\xff\xd8\xff', bytes(b)))[2:]: b[m.start()+2:m.start()+600] = bytes(598)
    fn.write_bytes(bytes(b))
    for reader in ('auto', 'cv2'):
        info = {}; idxs, _ = read_frames(fn, 8, info=info, reader=reader)
        assert len(idxs) < info['wanted']/2 and info['wanted'] == 8, (reader, idxs, info)
    r = _predict(fn, '--model', tiny_run, '--frames', '8')
    l = json.loads(r.stdout)
    assert l['status'] == 'partial' and r.returncode == 1 and 'of the 8 frames' in l['message'], l

# --- 6. NaN weights
def test_nan_weights_are_refused_not_scored(demo, tiny_run, tmp_path):
    "A run whose weights hold NaN is refused (rc 2, one line), never a NaN p_fake labelled 'real' with status ok."
    from safetensors.torch import load_file, save_file
    bad = tmp_path/'nan_run'; shutil.copytree(tiny_run, bad)
    sd = load_file(str(bad/'model.safetensors')); k = next(k for k, v in sd.items() if v.is_floating_point() and v.ndim == 4)
    sd[k][0] = float('nan'); save_file(sd, str(bad/'model.safetensors'))
    vid = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[0]
    r = _predict(vid, '--model', bad, '--frames', '4')
    assert r.returncode == 2 and 'NaN' in r.stderr and 'Traceback' not in r.stderr and not r.stdout, (r.returncode, r.stderr[-500:])

def test_non_finite_outputs_are_an_error_status(demo, tiny_run):
    "A network whose outputs are not finite gives that video status 'error' and no p_fake or label; the JSON stays standard."
    import torch
    from deepfake_study.predict import load_detector, predict_video
    det = load_detector(tiny_run, 'cpu')
    class NaNNet(torch.nn.Module):
        def forward(self, x): return torch.full((len(x), 2), float('nan'))
    det._net = NaNNet()
    vid = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[0]
    res = predict_video(vid, det, frames=4)
    assert res['status'] == 'error' and res['p_fake'] is None and res['label'] is None and 'not finite' in res['message']
    json.dumps({k: res[k] for k in ('p_fake', 'label', 'status')}, allow_nan=False)

# --- 16. output errors
def test_predict_output_errors(demo, tiny_run, tmp_path):
    "--out in a missing folder, --out a folder and a full device: rc 2 and one line; a reader that goes away (| head) ends quietly."
    vid = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[0]
    for out in (tmp_path/'nope'/'p.jsonl', tmp_path):
        r = _predict(vid, '--model', tiny_run, '--out', out)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr, r.stderr
    if Path('/dev/full').exists():
        r = _predict(vid, '--model', tiny_run, '--frames', '2', '--out', '/dev/full')
        assert r.returncode == 2 and 'Traceback' not in r.stderr and 'cannot write' in r.stderr, r.stderr[-500:]
    vids = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[:3]
    p = subprocess.Popen([str(BIN/'deepfake_predict'), *map(str, vids), '--model', str(tiny_run), '--frames', '2'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first line
    err = p.stderr.read().decode(); p.wait(timeout=300)
    assert p.returncode == 0 and 'Traceback' not in err and 'BrokenPipe' not in err, (p.returncode, err[-800:])
    r = subprocess.run(f"'{BIN/'deepfake_predict'}' '{vid}' --model '{tiny_run}' --frames 2 >&-", shell=True, capture_output=True, text=True)
    assert r.returncode == 2 and 'standard output is closed' in r.stderr, r.stderr[-500:]

# --- 19. a folder named like a video; one file named twice
def test_empty_folder_named_mp4_and_repeated_file(demo, tiny_run, tmp_path, monkeypatch):
    "An empty folder named x.mp4 gets a line with a status; one file named by a relative and an absolute path is scored once."
    (tmp_path/'x.mp4').mkdir()
    vid = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[0]
    shutil.copy(vid, tmp_path/'v.mp4')
    r = _predict(tmp_path/'x.mp4', 'v.mp4', tmp_path/'v.mp4', '--model', tiny_run, '--frames', '2', cwd=tmp_path)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 2, lines
    by = {Path(l['path']).name: l for l in lines}
    assert by['x.mp4']['status'] == 'unreadable' and 'folder' in by['x.mp4']['message']
    assert by['v.mp4']['status'] == 'ok' and r.returncode == 1

# --- 8 and 14. typos and alias bombs in a study config
@pytest.mark.parametrize('text,msg', [
    ("grid:\n  - {arch: lite0, mode: finetune}\nepoch: 7\n", "unknown key 'epoch' in the config; did you mean 'epochs'?"),
    ("grid:\n  - {arch: lite0, mode: finetune, lrs: [0.1]}\n", "unknown key 'lrs'"),
    ("data: {train: demo, blackbx: demo}\ngrid:\n  - {arch: lite0, mode: finetune}\n", "did you mean 'blackbox'?"),
    ("grid:\n  - {arch: lite00, mode: finetune}\n", "unknown architecture 'lite00'; did you mean lite0"),
])
def test_config_typos_are_errors(tmp_path, text, msg):
    "An unknown key names itself and the nearest known one; an unknown architecture fails the config, not one run of it."
    from deepfake_study.study import load_config
    fn = tmp_path/'c.yaml'; fn.write_text(text)
    with pytest.raises(ValueError, match=None) as e: load_config(fn)
    assert msg in str(e.value), str(e.value)
    r = subprocess.run([str(BIN/'deepfake_report'), '--config', str(fn), '--out', str(tmp_path/'r')], capture_output=True, text=True)
    assert r.returncode != 0 and msg in r.stderr and 'Traceback' not in r.stderr and not (tmp_path/'r').exists(), r.stderr[-800:]

def test_yaml_alias_bomb_is_refused_at_once(tmp_path):
    "A 'billion laughs' of nested aliases in any section is refused in well under a second, before anything expands."
    from deepfake_study.study import load_config
    lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'] + [f'a{i}: &a{i} [' + ', '.join([f'*a{i-1}']*9) + ']' for i in range(1, 10)]
    for where in ('context', 'grid', 'embeddings'):
        fn = tmp_path/f'{where}.yaml'
        fn.write_text('anchors:\n' + '\n'.join('  ' + l for l in lines) + f'\n{where}: *a9\n' + ('grid: []\n' if where != 'grid' else ''))
        assert fn.stat().st_size < 1000
        t = time.time()
        with pytest.raises(ValueError, match='aliases'): load_config(fn)
        assert time.time() - t < 1

# --- 12 and 13. deepfake_train: SIGTERM, and a bad --data over a finished run
def test_train_bad_data_leaves_a_finished_run_alone(tiny_run, tmp_path):
    "`deepfake_train --out <finished run> --data <missing>` is a one-line error, and the finished run still loads for prediction."
    run = tmp_path/'run'; shutil.copytree(tiny_run, run)
    before = (run/'config.json').read_text()
    r = subprocess.run([str(BIN/'deepfake_train'), '--data', str(tmp_path/'nope'), '--out', str(run), '--arch', 'resnet18', '--epochs', '1'], capture_output=True, text=True)
    assert r.returncode != 0 and 'does not exist' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-800:]
    assert (run/'config.json').read_text() == before
    from deepfake_study.predict import load_detector
    load_detector(run, 'cpu')

def test_train_sigterm_marks_the_run_failed(demo, tmp_path):
    "SIGTERM during deepfake_train ends it as Ctrl-C does: config.json says 'failed' with the signal, never 'running' forever."
    import signal
    out = tmp_path/'run'
    p = subprocess.Popen([str(BIN/'deepfake_train'), '--arch', 'resnet18', '--mode', 'baseline', '--epochs', '50', '--size', '48', '--out', str(out), '--blackbox', 'none'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        time.sleep(0.5)
        if (out/'config.json').is_file() and json.loads((out/'config.json').read_text()).get('status') == 'running': break
    time.sleep(3); p.send_signal(signal.SIGTERM); p.communicate(timeout=120)
    cfg = json.loads((out/'config.json').read_text())
    assert cfg['status'] == 'failed' and 'SIGTERM' in cfg['error'], cfg.get('status')

# --- 1 and 3. phone rotation, several video streams
def _mp4(fn, streams):
    "An MP4 with one H.264 (or MPEG-4) video stream per list of RGB frames, in that order."
    import av
    with av.open(str(fn), 'w') as c:
        codec = 'libx264' if 'libx264' in av.codecs_available else 'mpeg4'
        ss = []
        for frames in streams:
            s = c.add_stream(codec, rate=10); s.height, s.width = frames[0].shape[:2]; s.pix_fmt = 'yuv420p'; ss.append(s)
        for s, frames in zip(ss, streams):
            for f in frames:
                for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format='rgb24')): c.mux(p)
            for p in s.encode(): c.mux(p)
    return Path(fn)

_ROT = {90: [0, -1, 0, 1, 0, 0, 0, 0, 1], 180: [-1, 0, 0, 0, -1, 0, 0, 0, 1], 270: [0, 1, 0, -1, 0, 0, 0, 0, 1]}

def _rotate_tag(fn, deg):
    "Set the track's display matrix (the tkhd box), as a phone does for a clip stored sideways."
    b = bytearray(Path(fn).read_bytes()); i = b.index(b'tkhd') - 4
    off = i + 8 + 4 + (32 if b[i+8] == 1 else 20) + 8 + 8
    struct.pack_into('>9i', b, off, *[v*(1 << 16) if k < 8 else v*(1 << 30) for k, v in enumerate(_ROT[deg])])
    Path(fn).write_bytes(bytes(b))

@pytest.mark.parametrize('deg', [90, 180, 270])
def test_rotated_phone_video_reads_upright(demo, tiny_run, tmp_path, deg):
    "A clip stored sideways with a display-matrix rotation: both readers return the same upright frames, and prediction finds the face."
    from deepfake_study.frames import read_frames
    from deepfake_study.predict import load_detector, predict_video
    _, frs = _face_frames(demo, 12)
    upright = _mp4(tmp_path/'upright.mp4', [frs])
    k = {90: 3, 180: 2, 270: 1}[deg]  # stored turned the other way, so that the tag turns it back
    fn = _mp4(tmp_path/f'rot{deg}.mp4', [[np.rot90(f, k) for f in frs]]); _rotate_tag(fn, deg)
    (ia, fa), (ic, fc), (iu, fu) = read_frames(fn, 6, reader='av'), read_frames(fn, 6, reader='cv2'), read_frames(upright, 6)
    assert ia == ic == iu and fa[0].shape == fc[0].shape == fu[0].shape, (fa[0].shape, fc[0].shape, fu[0].shape)
    assert max(np.abs(a.astype(int) - c.astype(int)).mean() for a, c in zip(fa, fc)) < 1, 'PyAV and OpenCV disagree'
    assert max(np.abs(a.astype(int) - u.astype(int)).mean() for a, u in zip(fa, fu)) < 3, 'not upright'
    det = load_detector(tiny_run, 'cpu')
    r, u = predict_video(fn, det, frames=6), predict_video(upright, det, frames=6)
    assert r['status'] == 'ok' and r['faces_found'] == u['faces_found'] > 0 and abs(r['p_fake'] - u['p_fake']) < 0.02, (r['status'], r['message'])

def test_several_video_streams_read_the_real_clip(demo, tmp_path):
    "An MP4 whose first video stream is a one-frame still and whose second is the clip: the clip is read, and the stream is recorded."
    from deepfake_study.frames import read_frames
    _, frs = _face_frames(demo, 12)
    still = [np.full((32, 32, 3), 128, np.uint8)]
    fn = _mp4(tmp_path/'two.mp4', [still, frs])
    info = {}
    idxs, got = read_frames(fn, 6, info=info)
    assert info['stream'] == 1 and len(idxs) == 6 and got[0].shape == frs[0].shape, (info, got[0].shape)

# --- 7. training and black-box sets prepared differently
def test_blackbox_prepared_differently_is_refused(demo, tmp_path):
    "A black-box folder prepared with another crop size and margin than the training data is refused before training, naming both."
    other = tmp_path/'fav-other'; shutil.copytree(demo['fakeavceleb'], other, ignore=shutil.ignore_patterns('cache'))
    p = json.loads((other/'prep.json').read_text()); p.update(size=64, margin=0.1); (other/'prep.json').write_text(json.dumps(p))
    t = time.time()
    r = subprocess.run([str(BIN/'deepfake_train'), '--arch', 'resnet18', '--mode', 'baseline', '--epochs', '1', '--size', '48',
                        '--blackbox', str(other), '--out', str(tmp_path/'run')], capture_output=True, text=True)
    assert r.returncode != 0 and 'prepared differently' in r.stderr and "'margin': (0.33, 0.1)" in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]
    assert json.loads((tmp_path/'run'/'config.json').read_text())['status'] == 'failed'

# --- 9. a long (legal) file name
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

# --- 17. a report folder that holds the user's own files
def test_report_never_overwrites_a_users_folder(tmp_path):
    "deepfake_report --out a folder holding the user's own index.html and study.json refuses, and leaves both as they were."
    out = tmp_path/'mine'; out.mkdir()
    (out/'index.html').write_text('<p>my page</p>'); (out/'study.json').write_text('{"mine": 1}')
    cfg = tmp_path/'c.yaml'; cfg.write_text("grid:\n  - {arch: resnet18, mode: baseline}\n")
    r = subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True)
    assert r.returncode != 0 and 'did not write' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-800:]
    assert (out/'index.html').read_text() == '<p>my page</p>' and (out/'study.json').read_text() == '{"mine": 1}'
    assert sorted(p.name for p in out.iterdir()) == ['index.html', 'study.json']

# --- 18. garbage bytes in a crop
def test_damaged_crop_is_one_line_naming_it(demo, tmp_path):
    "A training crop replaced by garbage bytes: deepfake_train fails with one line naming the crop, not a PIL traceback."
    d = tmp_path/'prep'; shutil.copytree(demo['dfdc'], d, ignore=shutil.ignore_patterns('cache'))
    f = pd.read_csv(d/'faces.csv'); crop = f[f.split == 'train'].crop.iloc[0]
    (d/crop).write_bytes(os.urandom(2000))
    r = subprocess.run([str(BIN/'deepfake_train'), '--data', str(d), '--arch', 'resnet18', '--mode', 'baseline', '--epochs', '1', '--size', '48',
                        '--blackbox', 'none', '--loader', 'pil', '--out', str(tmp_path/'run')], capture_output=True, text=True)
    assert r.returncode != 0 and 'damaged' in r.stderr and Path(crop).name in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]

# --- 4. a dataset that grows between preps
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

# --- 15. huge frames
HUGE = r'''
import re, sys
from deepfake_study.frames import read_frames
info = {}; idxs, frs = read_frames(sys.argv[1], 8, reader=sys.argv[2], info=info)
import json; print(json.dumps(dict(n=len(idxs), side=max(max(f.shape[:2]) for f in frs), scaled=info.get('scaled_from'), rss_mb=int(re.search(r'VmHWM:\s+(\d+)', open('/proc/self/status').read())[1])//1024)))  # this process's peak (ru_maxrss keeps the forking parent's)
'''
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

@pytest.mark.parametrize('reader', ['av', 'cv2'])
def test_huge_frames_are_downscaled_while_decoding(huge_video, reader):
    "Frames above 4K come back at 3840 px on their longer side, flagged, and reading 6 of them stays far below the 1.2 GB their full-size RGB takes."
    r = subprocess.run([sys.executable, '-c', HUGE, str(huge_video), reader], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    o = json.loads(r.stdout)
    assert o['n'] == 6 and o['side'] == 3840 and o['scaled'] == [8192, 8192], o
    assert o['rss_mb'] < 1500, o  # full-size frames: 2.4 GB for the PyAV reader at 8 frames before the cap

def test_huge_frames_in_predict_say_so(huge_video, tiny_run):
    "Predict on the 8K clip finishes with a status (no face in stripes), and says its frames were scaled."
    r = _predict(huge_video, '--model', tiny_run, '--frames', '4')
    l = json.loads(r.stdout)
    assert l['scaled_from'] == [8192, 8192] and l['status'] == 'no_face', l

# --- 10 and 11. a full disk during prep; a read-only prepared folder
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
