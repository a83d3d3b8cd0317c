import json, subprocess, sys
from pathlib import Path
import pytest
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CONFIG = """
name: tiny
data: {train: demo, blackbox: demo}
seed: 0
bs: 32
size: 48
epochs: 1
max_frames: 2
grid:
  - {arch: resnet18, mode: baseline, opt: [adam], lr: [0.001], fakes: [real, sbi]}
generalization:
  - baseline-resnet18-adam-lr0.001
  - baseline-resnet18-adam-lr0.001-sbi
"""
RUNS = {'baseline-resnet18-adam-lr0.001', 'baseline-resnet18-adam-lr0.001-sbi'}

def _table(html, header):
    "The rows (as dicts) of the first HTML table in the report whose header row holds `header`."
    from bs4 import BeautifulSoup
    for t in BeautifulSoup(html, 'html.parser').find_all('table'):
        rows = [[c.get_text(strip=True) for c in tr.find_all(['th', 'td'])] for tr in t.find_all('tr')]
        if rows and header in rows[0]: return [dict(zip(rows[0], r)) for r in rows[1:]]
    raise AssertionError(f'no table with a {header!r} column in the report')

def test_report_runs_resumes_and_survives_a_corrupt_run(demo, tmp_path):
    cfg = tmp_path/'tiny.yaml'; cfg.write_text(CONFIG); out = tmp_path/'report'
    run = lambda: subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True, cwd=ROOT)
    r = run(); assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    study = json.loads((out/'study.json').read_text())
    assert study['status'] == {**{n: 'done' for n in RUNS}, 'generalization': 'done'}
    assert set(study['run_seconds']) == RUNS and {'data','train','generalization','report','total'} <= set(study['stages_seconds'])
    assert (out/'index.html').is_file() and (out/'runs'/'baseline-resnet18-adam-lr0.001.ipynb').is_file()
    m = json.loads((out/'runs'/'baseline-resnet18-adam-lr0.001'/'metrics.json').read_text())
    html = (out/'index.html').read_text()
    from deepfake_study.report import fmt_ci
    # the results table, read back from the rendered page: each run's row holds its own holdout and black-box numbers, in their columns
    res = _table(html, 'holdout AUC [95% CI]')
    assert len(res) == 2
    for row in res:
        name = 'baseline-resnet18-adam-lr0.001' + ('-sbi' if 'sbi' in row['setting'] else '')
        mm = json.loads((out/'runs'/name/'metrics.json').read_text())['splits']
        for s, lab in (('test', 'holdout'), ('blackbox', 'black-box')):
            vm = mm[s]['video_mean']
            assert row[f'{lab} AUC [95% CI]'] == fmt_ci(vm['auc'], vm['ci'].get('auc')), (lab, row)
            assert row[f'{lab} acc (majority)'] == f"{vm['accuracy']:.3f} ({vm['majority_accuracy']:.3f})", (lab, row)
    # the SBI run sits beside its twin in the report, with the paired difference the generalization chapter computed
    import pandas as pd
    c = pd.read_csv(out/'runs'/'generalization'/'sbi_vs_real.csv')
    assert set(c.sbi_run) == {'baseline-resnet18-adam-lr0.001-sbi'} and 'holdout' in set(c.dataset) and 'demo-fakeavceleb' in set(c.dataset)
    sb = _table(html, 'diff [95% CI]')
    for row in sb:
        want = c[(c.sbi_run==row['sbi_run']) & (c.dataset==row['dataset'])]
        assert len(want) == 1 and row['diff [95% CI]'].startswith(f"{want['diff'].iloc[0]:.3f}"), (row, want)
    assert {r['dataset'] for r in sb} == set(c.dataset)
    assert 'sbi_examples.png' not in html  # images are embedded, not linked
    assert json.loads((out/'runs'/'baseline-resnet18-adam-lr0.001-sbi'/'config.json').read_text())['train_videos']['fake'] == 0
    # rerunning does no training and rebuilds the report
    r = run(); assert r.returncode == 0
    assert json.loads((out/'study.json').read_text())['status'] == {**{n: 'skipped (done)' for n in RUNS}, 'generalization': 'skipped (done)'}
    # a corrupt metrics file: the run is marked failed and the report still renders
    (out/'runs'/'baseline-resnet18-adam-lr0.001'/'metrics.json').write_text('{"splits": ')
    from deepfake_study.report import collect_runs
    st = collect_runs(out/'runs').set_index('name').status
    assert st['baseline-resnet18-adam-lr0.001'] == 'failed' and st['baseline-resnet18-adam-lr0.001-sbi'] == 'done'
    subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'07_report.ipynb'), str(tmp_path/'r.ipynb'), '-p', 'runs', str(out/'runs')], check=True, capture_output=True, cwd=ROOT/'nbs')
    assert 'JSONDecodeError' in (tmp_path/'r.ipynb').read_text()
