"""#37: no page this project writes runs a script it did not write, and no config value can name a folder outside `--out`.
Hostile values go into every field that reaches the report (context rows, run names, data paths, label values in
errors, dataset folder names); the rendered page is opened in headless Chromium and nothing runs."""
import html as _html, json, os, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import BIN, ROOT

# each payload, if it ran, would set the page's title to PWNED
PAYLOADS = ["<img src=x onerror=\"document.title='PWNED'\">", "<script>document.title='PWNED'</script>",
            "<svg onload=\"document.title='PWNED'\"></svg>"]
JS_LINK = "[click](javascript:document.title='PWNED')"
HOSTILE = PAYLOADS[0]

def _ran(dom:str)->bool: return '<title>PWNED</title>' in dom

def _elements(page:Path)->dict:
    "What the page's markup holds: hostile elements or attributes, and every link."
    from bs4 import BeautifulSoup
    s = BeautifulSoup(page.read_text(), 'html.parser')
    on = [t.name for t in s.find_all(True) if any(a.lower().startswith('on') for a in t.attrs)]
    svg = s.find_all('svg')
    return dict(on=on, svg=len(svg), hrefs=[a.get('href') for a in s.find_all('a')])

def test_the_check_can_fail(tmp_path):
    "The same payloads in a page that does not escape them do run in this browser: the tests below could fail."
    from browser import dump_dom
    for p in PAYLOADS:
        page = tmp_path/'raw.html'; page.write_text(f'<!doctype html><html><head></head><body>{p}</body></html>')
        assert _ran(dump_dom(page)), p

def _hostile_runs(root:Path)->Path:
    "A runs folder as deepfake_report leaves it, every text field that reaches the report holding markup."
    from deepfake_study.core import save_json
    from deepfake_study.runs import CONFIG, METRICS, FAILED
    runs = root/'runs'
    bb = f"blackbox:{HOSTILE}"  # a black-box dataset's folder name
    split = lambda a: {'video_mean': dict(auc=a, log_loss=0.5, accuracy=0.6, majority_accuracy=0.5, balanced_accuracy=0.6, n=20,
                                          ci={'auc': [a-0.1, a+0.1]}),
                       'frame': {'auc': a}, 'at_valid_threshold': dict(threshold=0.4, n_real=10, n_fake=10)}
    for i, name in enumerate([f'finetune-{HOSTILE}', 'finetune-lite0-adam-lr0.001']):
        d = runs/name
        save_json(dict(status='done', params=dict(arch=PAYLOADS[1], mode='finetune', opt=PAYLOADS[2], lr=1e-3, fakes='dataset',
                                                  data=f'/data/{HOSTILE}'),
                       prep=dict(layout=HOSTILE, split=JS_LINK, frames=PAYLOADS[2], size=PAYLOADS[1]),
                       prepared=f'/data/{HOSTILE}', blackbox_prepared={bb: f'/data/{HOSTILE}'},
                       train_videos=dict(real=HOSTILE, fake=JS_LINK),
                       env=dict(git_commit=HOSTILE, versions={HOSTILE: PAYLOADS[1]}), model=dict(weights_source=JS_LINK)), d/CONFIG)
        save_json(dict(splits={'valid': split(0.7+i/10), 'test': split(0.7), bb: split(0.6)}), d/METRICS)
        (runs/f'{name}.ipynb').write_text('{}')
    # a failed run whose error quotes a hostile label value
    save_json(dict(error=f"labels.csv row 3: unknown label {HOSTILE!r} {JS_LINK}"), runs/f'baseline-{PAYLOADS[2]}'/FAILED)
    save_json([dict(method=HOSTILE, trained_on=JS_LINK, tested_on=PAYLOADS[1], video_auc=0.7, source='javascript:alert(1)'),
               dict(method='SBI', trained_on='FF++', tested_on='DFDC', video_auc=0.72, source='https://example.org/sbi?a=1&b=2')],
              runs/'context.json')
    return runs

@pytest.fixture(scope='module')
def report(tmp_path_factory):
    "The report notebook run on the hostile runs folder and rendered as deepfake_report renders it."
    from deepfake_study.study import render_html
    root = tmp_path_factory.mktemp('hostile'); runs = _hostile_runs(root)
    r = subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'07_report.ipynb'), str(root/'report.ipynb'), '-p', 'runs', str(runs),
                        '--log-level', 'ERROR'], capture_output=True, text=True, cwd=ROOT/'nbs')
    assert r.returncode == 0, r.stderr[-3000:]
    return render_html(root/'report.ipynb', root/'index.html')

def test_the_report_shows_hostile_values_as_text_and_runs_nothing(report, tmp_path):
    from browser import dump_dom
    text = report.read_text()
    # every hostile value is on the page, as text: the tables and the header show it, they do not drop it
    assert text.count(_html.escape(HOSTILE, quote=False)) >= 4 and _html.escape(PAYLOADS[1], quote=False) in text
    el = _elements(report)
    assert el['on'] == [] and el['svg'] == 0, el
    for h in el['hrefs']:  # links go to files beside the report or to https: addresses, nothing else
        assert h.startswith('https://') or not re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', h), h
    assert 'https://example.org/sbi?a=1&amp;b=2' in el['hrefs'] or 'https://example.org/sbi?a=1&b=2' in el['hrefs']
    assert not any('javascript' in (h or '').lower() for h in el['hrefs'])
    assert not _ran(dump_dom(report))
    # the page refuses scripts itself: the same page with one unescaped payload added still runs nothing
    p = tmp_path/'slipped.html'; p.write_text(text.replace('</body>', PAYLOADS[0] + '</body>'))
    assert not _ran(dump_dom(p))

def test_explain_pages_refuse_scripts(tmp_path):
    "An explain page and its index carry a policy that stops any script, even one that slipped past the escaping."
    from browser import dump_dom
    from deepfake_study.explain import _html as page
    p = tmp_path/'p.html'; p.write_text(page('t', f'<p>{PAYLOADS[0]}</p>'))
    assert not _ran(dump_dom(p))

# a traversal in every key that becomes part of a name or a path: refused at load, with the key named
GOOD = dict(arch='resnet18', mode='baseline', opt=['adam'], lr=[0.001], fakes=['dataset'])
BAD = [('opt', ['x/../../../NAME']), ('opt', [HOSTILE]), ('opt', ['Adam']), ('arch', '../../x'), ('arch', HOSTILE),
       ('mode', '../x'), ('fakes', ['../x']), ('lr', ['../1']), ('lr', [0]), ('lr', ['nan']), ('seeds', ['../1']),
       ('seeds', [1, '1/../2']), ('seeds', [-1, 2])]

def _config(tmp_path, grid:dict, top:str='')->Path:
    f = tmp_path/'c.yaml'
    f.write_text(f"data: {{train: demo, blackbox: demo}}\n{top}grid:\n  - {json.dumps(grid)}\n"); return f

@pytest.mark.parametrize('key,value', BAD)
def test_a_path_forming_value_is_refused_at_load(tmp_path, key, value):
    from deepfake_study.study import load_config
    load_config(_config(tmp_path, GOOD))  # the good entry loads
    with pytest.raises(ValueError) as e: load_config(_config(tmp_path, {**GOOD, key: value}))
    key_named = key.rstrip('s') if key == 'seeds' else key
    assert f'{key_named}=' in str(e.value) or f'unknown {key_named}' in str(e.value) or 'architecture' in str(e.value), e.value

@pytest.mark.parametrize('name', ['../../x', 'a/b', HOSTILE, '.hidden', ''])
def test_a_config_name_is_checked(tmp_path, name):
    from deepfake_study.study import load_config
    with pytest.raises(ValueError, match='name='): load_config(_config(tmp_path, GOOD, f'name: {json.dumps(name)}\n'))

@pytest.mark.parametrize('key', ['lr', 'opt', 'arch', 'mode', 'fakes'])
def test_a_grid_only_key_at_the_top_is_an_error_that_says_where_it_belongs(tmp_path, key):
    from deepfake_study.study import load_config
    with pytest.raises(ValueError, match=f"'{key}' is set per grid entry"):
        load_config(_config(tmp_path, GOOD, f'{key}: {json.dumps(GOOD[key])}\n'))

def test_no_run_folder_leaves_out(tmp_path):
    "Even a run name that slipped past the config check cannot make or delete a folder outside the runs folder."
    from deepfake_study.study import _train_one, _embed_one
    from deepfake_study.core import UnsafePathError
    rd = tmp_path/'out'/'runs'; rd.mkdir(parents=True)
    victim = tmp_path/'NAME-lr0.001'; victim.mkdir(); (victim/'FAILED.json').write_text('{"mine": 1}')
    r = dict(name='x/../../../NAME-lr0.001', mode='baseline', params={})
    with pytest.raises(UnsafePathError): _train_one(r, rd, 'demo', None, None, ROOT/'nbs')
    with pytest.raises(UnsafePathError): _embed_one(dict(name=r['name'], run='a'), rd, {}, None, ROOT/'nbs')
    with pytest.raises(UnsafePathError): _embed_one(dict(name='e', run=r['name']), rd, {}, None, ROOT/'nbs')
    assert (victim/'FAILED.json').read_text() == '{"mine": 1}'

def test_two_reports_into_one_folder_do_not_both_run(tmp_path):
    "#37 case 10: while one deepfake_report holds --out, a second into the same folder stops at once, naming the holder, and trains nothing."
    from deepfake_study.core import folder_lock
    from deepfake_study.study import claim_output
    out = tmp_path/'report'; claim_output(out)
    cfg = tmp_path/'c.yaml'; cfg.write_text("grid:\n  - {arch: resnet18, mode: baseline}\n")
    with folder_lock(out, '.report.lock', 'is being built'):
        r = subprocess.run([str(BIN/'deepfake_report'), '--config', str(cfg), '--out', str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and f'{out} is being built by another process (pid {os.getpid()})' in r.stderr, r.stderr[-1500:]
    assert not (out/'runs').exists()
