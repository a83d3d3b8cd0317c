import json, pickle, shutil, subprocess, sys
from pathlib import Path
import pytest
BIN = Path(sys.executable).parent

def _predict(*args):
    return subprocess.run([str(BIN/'deepfake_predict'), *map(str, args)], capture_output=True, text=True)

def test_real_clips_and_bad_files(samples, tiny_run, tmp_path):
    "Every real DFDC clip gets p_fake in [0, 1]; a 0-byte file and a text file named .mp4 get a status and do not stop the others."
    (tmp_path/'empty.mp4').write_bytes(b''); (tmp_path/'notes.mp4').write_text('not a video\n'*50)
    r = _predict(samples/'videos', tmp_path/'empty.mp4', tmp_path/'notes.mp4', '--model', tiny_run, '--frames', '8')
    assert r.returncode == 1, r.stderr[-2000:]
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    by = {Path(l['path']).name: l for l in lines}
    clips = sorted(p.name for p in (samples/'videos').glob('*.mp4'))
    assert set(clips) | {'empty.mp4','notes.mp4'} == set(by)
    for c in clips: assert by[c]['status'] == 'ok' and 0 <= by[c]['p_fake'] <= 1 and by[c]['faces_found'] > 0
    for b in ('empty.mp4','notes.mp4'): assert by[b]['status'] == 'unreadable' and by[b]['p_fake'] is None and by[b]['message']

def test_all_scored_exits_zero_csv(demo, tiny_run, tmp_path):
    vids = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[:2]
    r = _predict(*vids, '--model', tiny_run, '--frames', '4', '--format', 'csv', '--out', tmp_path/'p.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    import pandas as pd
    df = pd.read_csv(tmp_path/'p.csv'); assert len(df) == 2 and df.p_fake.between(0, 1).all() and set(df.label) <= {'real','fake'}

def test_bad_arguments_exit_two(tiny_run, tmp_path):
    assert _predict(tmp_path, '--model', tmp_path/'nope').returncode == 2
    assert _predict(tmp_path, '--model', tiny_run, '--bogus').returncode == 2

def test_pickled_model_is_refused(tiny_run, tmp_path):
    evil = tmp_path/'evil'; shutil.copytree(tiny_run, evil)
    (evil/'model.safetensors').write_bytes(pickle.dumps({'fc.weight': [1.0]}))
    r = _predict(tmp_path, '--model', evil)
    assert r.returncode == 2 and 'refused' in r.stderr
