import json, pickle, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import BIN

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

def _test_videos(demo, n=None):
    "The demo's raw test-split videos with their labels."
    import pandas as pd
    v = pd.read_csv(demo['dfdc']/'videos.csv')
    v = v[(v.split=='test') & (v.status=='ok')].sort_values('path')
    return [(demo['raw']/'dfdc'/p, int(l)) for p, l in zip(v.path, v.label)][:n]

def test_confident_aggregation(demo, tiny_run):
    "`agg='confident'` is the confident mean of the same frame probabilities that `agg='mean'` averages; the CLI gives the API's number."
    import numpy as np
    from deepfake_study.predict import load_detector, predict_video
    from deepfake_study.metrics import confident_mean
    det = load_detector(tiny_run, 'cpu')
    v = _test_videos(demo)[0][0]
    a, b = predict_video(v, det, 8, 'mean'), predict_video(v, det, 8, 'confident')
    fp = [f['p_fake'] for f in a['frame_probs']]
    assert len(fp) >= 4 and [f['frame'] for f in a['frame_probs']] == [f['frame'] for f in b['frame_probs']]
    assert abs(a['p_fake'] - np.mean(fp)) < 1e-9 and abs(b['p_fake'] - confident_mean(fp)) < 1e-9
    r = _predict(v, '--model', tiny_run, '--frames', '8', '--agg', 'confident')
    assert abs(json.loads(r.stdout)['p_fake'] - b['p_fake']) < 1e-6

class _Crash:
    "A 'video' whose unpickling kills the process that receives it: a stand-in for a decoder that crashes its process."
    def __reduce__(self):
        import os
        return (os._exit, (3,))
    def __str__(self): return 'crash.mp4'

def test_worker_processes_match_in_process_and_survive_a_crash(demo, tiny_run):
    "On a CPU, `predict_videos` with worker processes gives the in-process results in input order; videos whose process dies (two in a row here) get status 'error' and the rest are still scored."
    from deepfake_study.predict import load_detector, predict_videos
    det = load_detector(tiny_run, 'cpu')
    vids = [p for p, _ in _test_videos(demo, 4)]
    ref = list(predict_videos(vids, det, frames=4, workers=0))
    assert [r['status'] for r in ref] == ['ok']*4
    got = list(predict_videos(vids[:1] + [_Crash(), _Crash()] + vids[1:], det, frames=4, workers=2))
    for crash in (got.pop(1), got.pop(1)):
        assert crash['status'] == 'error' and 'died' in crash['message'] and crash['path'] == 'crash.mp4' and crash['p_fake'] is None
    assert [(r['path'], r['status'], r['faces_found'], [f['frame'] for f in r['frame_probs']]) for r in got] == \
           [(r['path'], r['status'], r['faces_found'], [f['frame'] for f in r['frame_probs']]) for r in ref]
    for a, b in zip(got, ref): assert abs(a['p_fake'] - b['p_fake']) < 1e-4, (a['p_fake'], b['p_fake'])  # one torch thread per process: sums in another order

def test_worker_processes_that_cannot_start_raise(demo, tiny_run, tmp_path):
    "Worker processes that cannot load the detector (its run folder lost its weights after this process loaded them) end the run with a clear error, not a status 'error' on every video."
    from deepfake_study.predict import load_detector, predict_videos
    run = tmp_path/'run'; shutil.copytree(tiny_run, run)
    det = load_detector(run, 'cpu')
    (run/'model.safetensors').unlink()
    vids = [p for p, _ in _test_videos(demo, 2)]
    with pytest.raises(RuntimeError, match='cannot start'): list(predict_videos(vids, det, frames=2, workers=2))
