"""Bad input at one stage, deepfake_predict: bad files among good ones each get a line, lying headers and damaged frames, NaN weights and non-finite outputs, output errors, odd paths, frames above 4K.
Each case builds its own inputs in a temporary folder and ends in a clear error or a counted status."""
import json, os, re, shutil, signal, struct, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
from conftest import BIN, noise_video, folder_with, face_frames, avi

def _predict(*args, **kw):
    return subprocess.run([str(BIN/'deepfake_predict'), *map(str, args)], capture_output=True, text=True, **kw)

def test_predict_bad_inputs_each_get_a_line(good, tiny_run, tmp_path):
    tiny = noise_video(tmp_path/'tiny.mp4', 16, 16)
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

def test_lying_header_scores_as_the_intact_file(demo, tiny_run, tmp_path):
    "Predict scores the lying AVI from all 8 frames, with the intact file's p_fake, and its message says the header lied."
    _, frs = face_frames(demo)
    honest, liar = avi(tmp_path/'honest.avi', frs), avi(tmp_path/'liar.avi', frs, claim=600)
    r = _predict(honest, liar, '--model', tiny_run, '--frames', '8')
    assert r.returncode == 0, r.stderr
    by = {Path(l['path']).name: l for l in map(json.loads, r.stdout.splitlines())}
    h, l = by['honest.avi'], by['liar.avi']
    assert h['status'] == l['status'] == 'ok' and h['frames_read'] == l['frames_read'] == 8
    assert abs(h['p_fake'] - l['p_fake']) < 1e-6 and 'claims 600' in l['message']

def test_damaged_frames_make_a_partial_not_an_ok(demo, tiny_run, tmp_path):
    "An AVI of 60 frames whose JPEG data is wiped after the second: whatever the reader, the score from 2 of 8 frames is 'partial', rc 1."
    from deepfake_study.frames import read_frames
    _, frs = face_frames(demo)
    fn = avi(tmp_path/'damaged.avi', frs); b = bytearray(fn.read_bytes())
    for m in list(re.finditer(rb'\xff\xd8\xff', bytes(b)))[2:]: b[m.start()+2:m.start()+600] = bytes(598)
    fn.write_bytes(bytes(b))
    for reader in ('auto', 'cv2'):
        info = {}; idxs, _ = read_frames(fn, 8, info=info, reader=reader)
        assert len(idxs) < info['wanted']/2 and info['wanted'] == 8, (reader, idxs, info)
    r = _predict(fn, '--model', tiny_run, '--frames', '8')
    l = json.loads(r.stdout)
    assert l['status'] == 'partial' and r.returncode == 1 and 'of the 8 frames' in l['message'], l

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

def test_huge_frames_in_predict_say_so(huge_video, tiny_run):
    "Predict on the 8K clip finishes with a status (no face in stripes), and says its frames were scaled."
    r = _predict(huge_video, '--model', tiny_run, '--frames', '4')
    l = json.loads(r.stdout)
    assert l['scaled_from'] == [8192, 8192] and l['status'] == 'no_face', l
