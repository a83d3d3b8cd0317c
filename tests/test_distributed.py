"Data-parallel training through fastai's distributed support, on 2 CPU processes (gloo), and the module entry point on one."
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd, pytest
from conftest import BIN
ARGS = ['--arch', 'resnet18', '--mode', 'baseline', '--epochs', '1', '--size', '48', '--max_frames', '2', '--blackbox', 'none', '--seed', '3']

def _env(): return {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}

def _check_run(out, demo):
    "A finished run folder whose predictions cover every valid and test video of the demo exactly once, and whose weights reload."
    from deepfake_study.runs import load_run, predict_images
    cfg = json.loads((out/'config.json').read_text())
    assert cfg['status'] == 'done', cfg.get('error')
    p = pd.read_csv(out/'predictions.csv')
    v = pd.read_csv(demo['dfdc']/'videos.csv')
    want = set(v.loc[v.split.isin(['valid','test']) & (v.n_faces > 0), 'video'])
    assert set(p.video) == want
    assert not p.duplicated(['video','frame','face']).any()  # every crop scored once, not once per rank
    model, c2 = load_run(out)  # the plain network, loaded as a single-process run is
    t = p[p.split=='test'].head(8)
    again = predict_images(model, [str(Path(c2['prepared'])/c) for c in t.crop], 48, c2['model']['mean'], c2['model']['std'])
    assert abs(again - t.p_fake.values).max() < 1e-4
    return cfg

def test_module_entry_point_trains_like_the_cli(demo, tmp_path):
    "`python -m deepfake_study.train` runs deepfake_train once (it used to call None afterwards) and prints the summary."
    out = tmp_path/'single'
    r = subprocess.run([sys.executable, '-m', 'deepfake_study.train', *ARGS, '--out', str(out)], capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    assert str(out) in r.stdout and 'valid' in r.stdout and 'test' in r.stdout
    cfg = _check_run(out, demo)
    assert 'distributed' not in cfg

def test_two_process_data_parallel_fit(demo, tmp_path):
    "torchrun, 2 CPU processes: disjoint shards of the training set, one run folder written by rank 0, both ranks exit 0."
    out = tmp_path/'ddp'
    r = subprocess.run([str(BIN/'torchrun'), '--nproc_per_node', '2', '--master_port', '29517', '-m', 'deepfake_study.train', *ARGS, '--out', str(out)],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    # DDP wrapped the model after it went channels-last, so its gradient buckets match the gradients (no copy per step, no warning)
    assert 'Grad strides do not match bucket view strides' not in r.stderr
    cfg = _check_run(out, demo)
    d = cfg['distributed']
    assert d['world_size'] == 2 and d['backend'] == 'gloo'
    # each rank drew its own half: together they cover the training set, and they share no item beyond fastai's padding
    assert d['covered'] == d['train_items'] and sum(d['items_per_rank']) == d['train_items'] + d['pad']
    assert d['shared_between_ranks'] <= d['pad'] and max(d['items_per_rank']) <= (d['train_items'] + 1)//2 + 1
    assert sorted(p.name for p in out.iterdir()) == sorted(['config.json','metrics.json','predictions.csv','model.safetensors','curves.png','roc.png','confusion.png'])
