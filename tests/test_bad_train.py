"""Bad input at one stage, deepfake_train: arguments checked before anything runs, too little data, a signal mid-run, a bad --data over a finished run, black-box sets prepared differently, a damaged crop.
Each case builds its own inputs in a temporary folder and ends in a clear error or a counted status."""
import json, os, re, shutil, signal, struct, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
from conftest import BIN, noise_video, folder_with, face_frames, avi

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
    d = folder_with(tmp_path, good, {'real/r2.mp4': lambda p: shutil.copy(good[0], p), 'fake/f2.mp4': lambda p: shutil.copy(good[1], p)})
    r = _train('--arch', 'resnet18', '--mode', 'baseline', '--data', d, '--bs', '512', '--size', '32', '--blackbox', 'none', '--out', tmp_path/'run')
    assert r.returncode == 1 and 'fewer than one batch' in r.stderr and 'Traceback' not in r.stderr
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['status'] == 'failed' and 'fewer than one batch' in cfg['error']

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

def test_blackbox_prepared_differently_is_refused(demo, tmp_path):
    "A black-box folder prepared with another crop size and margin than the training data is refused before training, naming both."
    other = tmp_path/'fav-other'; shutil.copytree(demo['fakeavceleb'], other, ignore=shutil.ignore_patterns('cache'))
    p = json.loads((other/'prep.json').read_text()); p.update(size=64, margin=0.1); (other/'prep.json').write_text(json.dumps(p))
    t = time.time()
    r = subprocess.run([str(BIN/'deepfake_train'), '--arch', 'resnet18', '--mode', 'baseline', '--epochs', '1', '--size', '48',
                        '--blackbox', str(other), '--out', str(tmp_path/'run')], capture_output=True, text=True)
    assert r.returncode != 0 and 'prepared differently' in r.stderr and "'margin': (0.33, 0.1)" in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]
    assert json.loads((tmp_path/'run'/'config.json').read_text())['status'] == 'failed'

def test_damaged_crop_is_one_line_naming_it(demo, tmp_path):
    "A training crop replaced by garbage bytes: deepfake_train fails with one line naming the crop, not a PIL traceback."
    d = tmp_path/'prep'; shutil.copytree(demo['dfdc'], d, ignore=shutil.ignore_patterns('cache'))
    f = pd.read_csv(d/'faces.csv'); crop = f[f.split == 'train'].crop.iloc[0]
    (d/crop).write_bytes(os.urandom(2000))
    r = subprocess.run([str(BIN/'deepfake_train'), '--data', str(d), '--arch', 'resnet18', '--mode', 'baseline', '--epochs', '1', '--size', '48',
                        '--blackbox', 'none', '--loader', 'pil', '--out', str(tmp_path/'run')], capture_output=True, text=True)
    assert r.returncode != 0 and 'damaged' in r.stderr and Path(crop).name in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]
