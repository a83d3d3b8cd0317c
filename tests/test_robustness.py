"""#39: the field's robustness protocol end to end. A study config with a `robustness:` section scores its run on the
clean re-encoded holdout and on perturbed copies, reals and fakes alike; the run folder's robustness.json holds AUC per
kind and level; the report renders the section from it; a rerun scores nothing twice; a bad kind or level is refused at
load, naming the valid ones."""
import json, os, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import BIN, ROOT

CONFIG = """
name: tiny-robust
data: {train: demo, blackbox: demo}
seed: 0
bs: 32
size: 48
epochs: 1
max_frames: 2
grid:
  - {arch: resnet18, mode: baseline, opt: [adam], lr: [0.001]}
robustness:
  runs: [baseline-resnet18-adam-lr0.001]
  sets: [holdout]
  kinds: [blur, compression]
  levels: [5]
"""
RUN = 'baseline-resnet18-adam-lr0.001'

def _report(cfg, out):
    return subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True, cwd=ROOT)

def test_a_study_with_a_robustness_section(demo, tmp_path):
    from bs4 import BeautifulSoup
    from deepfake_study.robustness import KINDS
    cfg = tmp_path/'robust.yaml'; cfg.write_text(CONFIG); out = tmp_path/'report'
    r = _report(cfg, out); assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    study = json.loads((out/'study.json').read_text())
    assert study['status'] == {RUN: 'done', 'robustness': 'done'} and 'robustness' in study['stages_seconds']
    rob = json.loads((out/'runs'/RUN/'robustness.json').read_text())
    rows = {(x['set'], x['kind'], x['level']): x for x in rob['rows']}
    want = {('holdout', 'clean', None)} | {('holdout', k, 5) for k in ('blur', 'compression')}
    assert set(rows) == want and all(x['status'] == 'ok' for x in rows.values())
    m = json.loads((out/'runs'/RUN/'metrics.json').read_text())['splits']
    for (s, k, l), x in rows.items():
        assert 0 <= x['auc'] <= 1 and x['auc_ci'][0] <= x['auc'] <= x['auc_ci'][1] and x['log_loss'] > 0
        assert x['param'] == (None if k == 'clean' else KINDS[k][l - 1])
        # both classes went through the same perturbation: every video of the set, reals and fakes alike
        ref = m['test']['video_mean']
        assert x['failed'] == 0 and x['perturbed'] == ref['n'] and x['n_real'] > 0 and x['n_fake'] > 0, (k, l, x)
        # a copy in which prep found no face is counted, not scored (heavy blur can hide a face)
        assert x['n_real'] + x['n_fake'] + x['unscored'] == ref['n'], (k, l, x)
        if k == 'clean': assert (x['n_real'], x['n_fake']) == (ref['n'] - ref['n_fake'], ref['n_fake'])
    # the report renders the section: per set, the figure and each run's table of kinds x levels, equal to the JSON
    soup = BeautifulSoup((out/'index.html').read_text(), 'html.parser')
    assert 'Robustness to perturbations' in soup.get_text() and 'SpeechForensics' in soup.get_text()
    tables = [t for t in soup.find_all('table') if 'drop from clean' in t.get_text()]
    assert len(tables) == 1
    for t, s in zip(tables, ('holdout',)):
        head = [c.get_text(strip=True) for c in t.find('tr').find_all(['th', 'td'])]
        body = {tr.find_all(['th', 'td'])[head.index('kind')].get_text(strip=True): [c.get_text(strip=True) for c in tr.find_all(['th', 'td'])] for tr in t.find_all('tr')[1:]}
        assert set(body) == {'blur', 'compression'} and 'level 5' in head and 'level 1' not in head
        for k in ('blur', 'compression'):
            for l in (5,): assert body[k][head.index(f'level {l}')] == f"{rows[(s, k, l)]['auc']:.3f}", (s, k, l, body[k])
            assert body[k][head.index('clean (re-encoded)')] == f"{rows[(s, 'clean', None)]['auc']:.3f}"
    # a rerun scores nothing again: every row is already there, for the same weights
    r = _report(cfg, out); assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    again = json.loads((out/'runs'/RUN/'robustness.json').read_text())
    assert again['rows'] == rob['rows'] and json.loads((out/'study.json').read_text())['status'][RUN] == 'skipped (done)'

@pytest.mark.parametrize('section,msg', [
    ('{runs: [baseline-resnet18-adam-lr0.001], kinds: [jpeg]}', 'choose from saturation, contrast, block, noise, blur, pixelation, compression'),
    ('{runs: [baseline-resnet18-adam-lr0.001], levels: [0, 6]}', 'choose from 1, 2, 3, 4, 5'),
    ('{runs: [no-such-run]}', 'grid does not make'),
    ('{runs: [baseline-resnet18-adam-lr0.001], level: [1]}', "unknown key(s) ['level']")])
def test_a_bad_robustness_section_is_refused_at_load(tmp_path, section, msg):
    cfg = tmp_path/'bad.yaml'; cfg.write_text(CONFIG.split('robustness:')[0] + f'robustness: {section}\n')
    r = _report(cfg, tmp_path/'report')
    assert r.returncode != 0 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr[-1500:]
    assert not (tmp_path/'report'/'runs').exists()  # refused before anything ran

def test_a_rerun_scores_the_same(demo, tiny_run, tmp_path):
    "Two evaluations of one run in one process give the same rows: the perturbed videos are the same bytes whatever the process held before (libx264's AVX-512 code did not give them), so the same crops and scores."
    import shutil
    from deepfake_study.robustness import robustness_eval
    src = {'holdout': [str(demo['raw']/'dfdc'), str(demo['dfdc']), 'test']}
    rows = []
    for i in range(2):
        run = tmp_path/f'run{i}'; shutil.copytree(tiny_run, run); (run/'robustness.json').unlink(missing_ok=True)
        r = robustness_eval(run, src, ['noise'], [3], n_boot=20, max_frames=2, max_videos=12, root=tmp_path/f'root{i}', progress=False)
        assert list(r.status) == ['ok', 'ok']
        # every field but the time it took
        rows.append([{k: v for k, v in x.items() if k != 'seconds'} for x in json.loads((run/'robustness.json').read_text())['rows']])
    assert rows[0] == rows[1]
