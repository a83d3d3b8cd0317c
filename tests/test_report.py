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
  - {arch: resnet18, mode: baseline, opt: [adam], lr: [0.001]}
"""

def test_report_runs_resumes_and_survives_a_corrupt_run(demo, tmp_path):
    cfg = tmp_path/'tiny.yaml'; cfg.write_text(CONFIG); out = tmp_path/'report'
    run = lambda: subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True, cwd=ROOT)
    r = run(); assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    study = json.loads((out/'study.json').read_text())
    assert study['status'] == {'baseline-resnet18-adam-lr0.001': 'done'}
    assert (out/'index.html').is_file() and (out/'runs'/'baseline-resnet18-adam-lr0.001.ipynb').is_file()
    m = json.loads((out/'runs'/'baseline-resnet18-adam-lr0.001'/'metrics.json').read_text())
    html = (out/'index.html').read_text()
    assert f"{m['splits']['test']['video_mean']['auc']:.3f}" in html
    # rerunning does no training and rebuilds the report
    r = run(); assert r.returncode == 0
    assert json.loads((out/'study.json').read_text())['status'] == {'baseline-resnet18-adam-lr0.001': 'skipped (done)'}
    # a corrupt metrics file: the run is marked failed and the report still renders
    (out/'runs'/'baseline-resnet18-adam-lr0.001'/'metrics.json').write_text('{"splits": ')
    from deepfake_study.report import collect_runs
    assert collect_runs(out/'runs').status.tolist() == ['failed']
    subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'07_report.ipynb'), str(tmp_path/'r.ipynb'), '-p', 'runs', str(out/'runs')], check=True, capture_output=True, cwd=ROOT/'nbs')
    assert 'JSONDecodeError' in (tmp_path/'r.ipynb').read_text()
