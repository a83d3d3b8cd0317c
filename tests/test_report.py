import json, subprocess, sys
from pathlib import Path
import pytest
from conftest import BIN, ROOT

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
    assert 'IPKernelApp' not in r.stdout + r.stderr   # the kernels' own log stays out of the driver's output
    study = json.loads((out/'study.json').read_text())
    assert study['status'] == {**{n: 'done' for n in RUNS}, 'generalization': 'done'}
    assert set(study['run_seconds']) == RUNS and {'data','train','generalization','report','total'} <= set(study['stages_seconds'])
    assert (out/'index.html').is_file() and (out/'runs'/'baseline-resnet18-adam-lr0.001.ipynb').is_file()
    # #38: the plan's disk for the run folders against what the study really wrote (du of each run folder)
    from deepfake_study.study import load_config
    from deepfake_study.plan import disk_plan, _crops, load_throughput
    from deepfake_study.demo import demo_data
    c = load_config(cfg); plan = disk_plan(c, _crops(c, [demo_data()['dfdc']]), load_throughput(), out, gpu=False).set_index('stage')
    real = sum(f.stat().st_size for n in RUNS for f in (out/'runs'/n).rglob('*') if f.is_file())
    w = max(f.stat().st_size for n in RUNS for f in (out/'runs'/n).glob('*.safetensors'))
    est = plan.loc['run folders', 'gb']*1e9
    assert real <= est <= real + w + 2e6*len(RUNS), (real, est)  # the estimate holds one weights file in flight beyond
    m = json.loads((out/'runs'/'baseline-resnet18-adam-lr0.001'/'metrics.json').read_text())
    html = (out/'index.html').read_text()
    from deepfake_study.report import fmt_ci
    for d in (str(tmp_path), str(ROOT), str(Path.home())): assert d not in html, d  # #41: a shared report names no folder of this machine
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
        assert len(want) == 1, (row, want)
        nr, nv = int(want['real_videos'].iloc[0]), int(want['videos'].iloc[0])
        if min(nr, nv - nr) < 2: assert row['diff [95% CI]'].startswith('n/a ('), row   # e.g. the shared DFDC clips: one real video, no interval
        else: assert row['diff [95% CI]'].startswith(f"{want['diff'].iloc[0]:.3f}"), (row, want)
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
    # #29 cases 5 and 8: a config that changes is not answered from the old runs, and a study in which a run failed exits non-zero
    cfg.write_text(CONFIG.split('grid:')[0].replace('size: 48', 'size: 40') + '''grid:
  - {arch: resnet18, mode: baseline, opt: [adam], lr: [0.001], fakes: [sbi]}
  - {arch: resnet18, mode: baseline, opt: [sgd], lr: [0.1], bs: 100000}
''')
    (out/'index.html').unlink()
    r = run()
    assert r.returncode != 0 and '1 run(s) failed: baseline-resnet18-sgd-lr0.1' in r.stderr, (r.stdout + r.stderr)[-3000:]
    assert 'size: 48 -> 40' in r.stdout, r.stdout[-2000:]
    st = json.loads((out/'study.json').read_text())['status']
    assert st['baseline-resnet18-adam-lr0.001-sbi'] == 'done' and st['baseline-resnet18-sgd-lr0.1'] == 'failed'
    assert json.loads((out/'runs'/'baseline-resnet18-adam-lr0.001-sbi'/'config.json').read_text())['params']['size'] == 40
    assert (out/'index.html').is_file()  # rendered all the same

def _fixture_runs(root:Path):
    "Run folders as the chapters write them: two training runs with predictions, one black-box set with a single real video, an embedding folder, and generalization tables."
    import numpy as np, pandas as pd
    from deepfake_study.core import save_json
    from deepfake_study.metrics import evaluate, video_scores
    rng = np.random.default_rng(0)
    vids = {'valid': (8, 8), 'test': (8, 8), 'blackbox:one-real': (1, 5)}
    for name, mode, skill in (('finetune-lite0-adam-lr0.001', 'finetune', 1.5), ('transfer-lite0-adam-lr0.001', 'transfer', 0.5)):
        rows = []
        for s, (nr, nf) in vids.items():
            for i in range(nr + nf):
                y = int(i >= nr)
                for fr in range(3): rows.append(dict(video=f'{s}-{i}', split=s, label=y, frame=fr, p_fake=float(1/(1+np.exp(-(skill*(2*y-1) + rng.normal()))))))
        preds = pd.DataFrame(rows); d = root/name; d.mkdir(parents=True)
        preds.to_csv(d/'predictions.csv', index=False)
        splits = {s: evaluate(preds[preds.split==s], 0.5, n_boot=200) for s in vids}
        for s, (nr, nf) in vids.items(): splits[s]['at_valid_threshold'] = dict(threshold=0.5, n_real=nr, n_fake=nf, detection_rate=None, detection_ci=None)
        save_json(dict(splits=splits, threshold=0.5), d/'metrics.json')
        save_json(dict(status='done', params=dict(arch='tf_efficientnet_lite0', mode=mode, opt='adam', lr=1e-3, epochs=2, size=128, seed=42, fakes='real', data=None),
                       train_videos=dict(real=20, fake=20)), d/'config.json')
    e = root/'embeddings-finetune-lite0-adam-lr0.001'; e.mkdir()
    save_json(dict(status='done', params=dict(run='finetune-lite0-adam-lr0.001', mode='embedding')), e/'config.json')
    pd.DataFrame([dict(model=m, split=s, auc=a, log_loss=0.6, accuracy=0.7, majority_accuracy=0.5, auc_ci='[0.6970253944773175, 0.960051724137931]', cv_auc=cv)
                  for m, cv, a in (('knn', 0.7, 0.75), ('svm', 0.8, 0.81), ('network head', None, 0.85)) for s in ('valid', 'test')]).to_csv(e/'comparison.csv', index=False)
    g = root/'generalization'; g.mkdir()
    pd.DataFrame([dict(run='finetune-lite0-adam-lr0.001', dataset='one-real', auc=1.0, auc_ci='[1.0, 1.0]', accuracy=0.8, majority=0.833, log_loss=0.4, ece=0.1, n_real=1, n_fake=5,
                       detection_rate=0.8, detection_ci='[0.3755, 0.9638]'),
                  dict(run='finetune-lite0-adam-lr0.001', dataset='holdout', auc=0.9, auc_ci='[0.7512345678, 0.98765432]', accuracy=0.8, majority=0.5, log_loss=0.4, ece=0.1, n_real=8, n_fake=8,
                       detection_rate=0.75, detection_ci='[0.4093, 0.9285]')]).to_csv(g/'matrix.csv', index=False)
    return root

def test_report_reads_like_a_paper(tmp_path):
    "The rendered page opens with the study, not the chapter's prose; the embedding folder is no failure; a set with one real video has no CI; every CI is formatted."
    from deepfake_study.report import fmt_ci
    from deepfake_study.study import render_html
    runs = _fixture_runs(tmp_path/'runs')
    r = subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'07_report.ipynb'), str(tmp_path/'report.ipynb'), '-p', 'runs', str(runs), '--log-level', 'ERROR'],
                       capture_output=True, text=True, cwd=ROOT/'nbs')
    assert r.returncode == 0, r.stderr[-3000:]
    html = render_html(tmp_path/'report.ipynb', tmp_path/'index.html').read_text()
    from bs4 import BeautifulSoup
    text = BeautifulSoup(html, 'html.parser').body.get_text(' ', strip=True)
    assert text.startswith('Deepfake video detection: demo → one-real'), text[:300]
    assert 'The driver' not in text and 'deepfake_report' not in text[:2000]      # the chapter's developer prose stays in the notebook
    assert text.index('Summary') < text.index('Results: holdout and black-box')
    assert 'Demo data.' in text
    every = _table(html, 'status')
    assert {row['status'] for row in every} == {'done'}, every                     # the embedding folder is not a failed run
    assert {row['epochs'] for row in every if row['name'].startswith(('finetune', 'transfer'))} == {'2'}  # integers, not 2.0
    res = {row['setting']: row for row in _table(html, 'holdout AUC [95% CI]')}
    assert res['finetune']['black-box one-real AUC [95% CI]'] == 'n/a (1 real video)'
    mx = {row['dataset']: row for row in _table(html, 'auc [95% CI]')}
    assert mx['one-real']['auc [95% CI]'] == 'n/a (1 real video)' and mx['holdout']['auc [95% CI]'] == '0.900 [0.75, 0.99]'
    assert mx['one-real']['detection_rate [95% CI]'] == '0.800 [0.38, 0.96]'
    import re
    assert not re.search(r'\[\d\.\d{5,}', text), re.search(r'.{80}\[\d\.\d{5,}.{40}', text)  # no raw float CI anywhere
    assert not re.search(r'\b\d+\.0\b(?![\d%])', ' '.join(r['epochs'] + r['size'] for r in every))
    summ = {row['question']: row for row in _table(html, 'question')}
    best = summ['Best detector on the holdout set']
    m = json.loads((runs/'finetune-lite0-adam-lr0.001'/'metrics.json').read_text())['splits']['test']['video_mean']
    assert best['answer'].startswith(f"finetune-lite0-adam-lr0.001: holdout AUC {fmt_ci(m['auc'], m['ci']['auc'])}"), best
    assert best['runs'] == 'finetune-lite0-adam-lr0.001'
    assert summ['Fine-tuning vs frozen transfer (tf_efficientnet_lite0)']['answer'].startswith('AUC of finetune-lite0-adam-lr0.001 minus transfer-lite0-adam-lr0.001: holdout +')
    assert 'SVM 0.810 [0.70, 0.96] vs head 0.850 [0.70, 0.96]' in summ['KNN/SVM on the embeddings vs the network head (finetune-lite0-adam-lr0.001)']['answer']

def test_dry_run_plans_the_study_without_running_it(tmp_path):
    "deepfake_report --config study --dry-run prints every run with its estimated GPU-hours and a total within the config's budget; nothing is written."
    r = subprocess.run([str(BIN/'deepfake_report'), '--config', 'study', '--dry-run', '--out', str(tmp_path/'report')],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert 'finetune-efficientnet-sgd-lr0.01-sbi' in out and 'baseline-nasnet-adam-lr0.01' in out
    assert 'assumed, not measured: project_ratio=0.8' in out  # estimates say what they rest on
    total = float(out.split('total: ')[1].split(' GPU-hours')[0])
    assert 1 < total <= 24 and '(budget 24: within)' in out
    assert not (tmp_path/'report').exists()

def test_report_tables_read_text_left_aligned(tmp_path):
    """#30: in a real browser, the summary's question and answer columns read left-aligned (JupyterLab's own stylesheet in
    the page right-aligns table cells more specifically than a class alone)."""
    import nbformat
    from browser import dump_dom
    from deepfake_study.report import REPORT_CSS, tidy_table
    from deepfake_study.study import render_html
    import pandas as pd
    t = pd.DataFrame(dict(question=['Best detector on the holdout set'], answer=['finetune-lite0: holdout AUC 0.912 [0.85, 0.96]'], runs=['a']))
    html = REPORT_CSS + tidy_table(t).to_html(index=False, escape=False, classes='report', border=0)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('runs = None', metadata={'tags': ['parameters']}),
                                         nbformat.v4.new_code_cell('show()', outputs=[nbformat.v4.new_output('display_data', {'text/html': html})])])
    nbformat.write(nb, str(tmp_path/'r.ipynb'))
    page = render_html(tmp_path/'r.ipynb', tmp_path/'index.html')
    probe = ("<script>const c = document.querySelectorAll('table.report td');"
             "document.body.setAttribute('data-align', [...c].map(x => getComputedStyle(x).textAlign).join(','))</script>")
    from deepfake_study.study import REPORT_CSP
    text = page.read_text(); assert f'content="{REPORT_CSP}"' in text  # the page runs no script; this copy lifts that for the probe
    page.write_text(text.replace(f'content="{REPORT_CSP}"', 'content=""').replace('</body>', probe + '</body>'))
    import re
    aligns = re.search(r'data-align="([^"]*)"', dump_dom(page))[1].split(',')
    assert aligns == ['left', 'left', 'left'], aligns
