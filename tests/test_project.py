"The project's own conventions: papermill tags survive nbdev_clean, README is generated from index.ipynb, CI runs the README's test command."
import json, re, shutil, subprocess, sys, configparser
from pathlib import Path
import pytest
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def test_settings_keep_parameters_tag():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    assert cfg['DEFAULT']['allowed_cell_metadata_keys'].split() == ['tags']

def test_nbdev_clean_keeps_parameters_tag(tmp_path):
    nb = json.loads((ROOT/'nbs'/'04_finetune.ipynb').read_text())
    tagged = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, 'exactly one parameters cell'
    # dirty it as Jupyter would, then clean it with the project's settings
    for c in nb['cells']: c['metadata']['collapsed'] = False; c['metadata']['scrolled'] = True
    dst = tmp_path/'nb.ipynb'; dst.write_text(json.dumps(nb))
    subprocess.run([str(BIN/'nbdev_clean'), '--fname', str(dst)], cwd=ROOT, check=True)
    cleaned = json.loads(dst.read_text())
    tagged = [c for c in cleaned['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1
    assert not any('scrolled' in c['metadata'] for c in cleaned['cells'])

def test_every_chapter_has_one_parameters_cell():
    from deepfake_study.study import CHAPTERS   # the chapters the study driver runs with papermill
    for fn in [ROOT/'nbs'/c for c in CHAPTERS.values()]:
        nb = json.loads(fn.read_text())
        n = sum('parameters' in c.get('metadata', {}).get('tags', []) for c in nb['cells'])
        assert n == 1, fn.name

def test_readme_is_generated_from_index(tmp_path):
    subprocess.run([str(BIN/'jupyter'), 'nbconvert', '--to', 'markdown', str(ROOT/'nbs'/'index.ipynb'), '--output-dir', str(tmp_path), '--output', 'README'],
                   check=True, capture_output=True)
    assert (tmp_path/'README.md').read_text().strip() == (ROOT/'README.md').read_text().strip(), \
        'README.md drifted from nbs/index.ipynb: regenerate it with jupyter nbconvert --to markdown nbs/index.ipynb --output-dir . --output README'

def test_ci_runs_the_readme_test_command():
    readme = (ROOT/'README.md').read_text()
    cmds = re.findall(r'```sh\n(.*?)\n```', readme, re.S)
    test_cmd = [c for c in cmds if 'nbdev_test' in c and 'pytest' in c]
    assert len(test_cmd) == 1
    assert test_cmd[0].strip() in (ROOT/'.ci'/'run').read_text()

def test_training_chapters_share_one_parameters_convention():
    "Chapters 02-04 are papermilled by name with the same parameters; only the mode differs between them."
    names = {}
    for ch in ('02_baseline', '03_transfer', '04_finetune'):
        nb = json.loads((ROOT/'nbs'/f'{ch}.ipynb').read_text())
        (cell,) = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
        names[ch] = [l.split('=')[0].strip() for l in ''.join(cell['source']).splitlines() if '=' in l and not l.lstrip().startswith('#')]
    assert names['02_baseline'] == names['03_transfer'] == names['04_finetune'], names
