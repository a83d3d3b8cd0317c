"""Bad input at one stage, study configs and deepfake_report: typos, YAML alias bombs, a report folder that holds the user's own files.
Each case builds its own inputs in a temporary folder and ends in a clear error or a counted status."""
import json, os, re, shutil, signal, struct, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
from conftest import BIN, noise_video, folder_with, face_frames, avi

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

def test_report_never_overwrites_a_users_folder(tmp_path):
    "deepfake_report --out a folder holding the user's own index.html and study.json refuses, and leaves both as they were."
    out = tmp_path/'mine'; out.mkdir()
    (out/'index.html').write_text('<p>my page</p>'); (out/'study.json').write_text('{"mine": 1}')
    cfg = tmp_path/'c.yaml'; cfg.write_text("grid:\n  - {arch: resnet18, mode: baseline}\n")
    r = subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True)
    assert r.returncode != 0 and 'did not write' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-800:]
    assert (out/'index.html').read_text() == '<p>my page</p>' and (out/'study.json').read_text() == '{"mine": 1}'
    assert sorted(p.name for p in out.iterdir()) == ['index.html', 'study.json']
