"The project's own conventions: papermill tags survive nbdev_clean, README is generated from index.ipynb, CI runs the README's test command."
import json, re, shutil, subprocess, sys, configparser
from pathlib import Path
import pytest
from conftest import BIN, ROOT

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

def test_readme_is_generated_from_index():
    "README.md is .ci/readme.py's rendering of nbs/index.ipynb, and carries none of the notebook's machinery."
    r = subprocess.run([sys.executable, str(ROOT/'.ci'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    readme = (ROOT/'README.md').read_text()
    assert '#|' not in readme and '<style' not in readme and '<table' not in readme and '<div' not in readme
    assert not re.search(r"^\[\d+, .*'\d\d:\d\d'\]$", readme, re.M)  # fastai's epoch list
    fences = re.findall(r'^```(.*)$', readme, re.M)
    assert fences and all(f in ('sh', 'python', 'text', '') for f in fences)
    assert all(f for f in fences[::2]), fences  # every opening fence names its language

def test_ci_runs_the_readme_test_command():
    readme = (ROOT/'README.md').read_text()
    cmds = re.findall(r'```sh\n(.*?)\n```', readme, re.S)
    test_cmd = [c for c in cmds if 'nbdev_test' in c and 'pytest' in c]
    assert len(test_cmd) == 1
    assert test_cmd[0].strip() in (ROOT/'.ci'/'run').read_text()

@pytest.mark.parametrize('failing', ['nbdev_test', 'pytest'])
def test_ci_fails_when_either_half_of_the_test_command_fails(failing, tmp_path):
    "`set -e` ignores a failure before a list's last `&&`: a failing nbdev_test once let .ci/run go on to 'done' and exit 0."
    run = (ROOT/'.ci'/'run').read_text()
    (line,) = [l for l in run.splitlines() if 'nbdev_test --flags slow' in l and not l.startswith('#')]
    bin_ = tmp_path/'.venv'/'bin'; bin_.mkdir(parents=True)
    for tool in ('nbdev_test', 'pytest'):
        (bin_/tool).write_text(f"#!/bin/sh\nexit {1 if tool == failing else 0}\n"); (bin_/tool).chmod(0o755)
    r = subprocess.run(['bash', '-c', f'set -euo pipefail\n{line}\necho "== done"'], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode != 0 and '== done' not in r.stdout, (r.returncode, r.stdout)

def test_training_chapters_share_one_parameters_convention():
    "Chapters 02-04 are papermilled by name with the same parameters; only the mode differs between them."
    names = {}
    for ch in ('02_baseline', '03_transfer', '04_finetune'):
        nb = json.loads((ROOT/'nbs'/f'{ch}.ipynb').read_text())
        (cell,) = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
        names[ch] = [l.split('=')[0].strip() for l in ''.join(cell['source']).splitlines() if '=' in l and not l.lstrip().startswith('#')]
    assert names['02_baseline'] == names['03_transfer'] == names['04_finetune'], names

# --- #30: chapters a newcomer can read. The anchors (nbdev's own largest module, cell and line figures) are in the issue.
PKG = ROOT/'deepfake_study'
def _modules(): return [p for p in sorted(PKG.glob('*.py')) if p.name not in ('_modidx.py', '__init__.py')]

def _code_cells(nb):
    return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']

def test_no_module_over_500_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in _modules()}
    assert max(sizes.values()) <= 500, {k: v for k, v in sizes.items() if v > 500}

def test_predict_needs_neither_layouts_nor_the_prep_pipeline():
    code = "import sys, deepfake_study.predict; print(sorted(m for m in sys.modules if m.startswith('deepfake_study')))"
    mods = eval(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout)
    assert 'deepfake_study.frames' in mods and 'deepfake_study.faces' in mods
    assert not {'deepfake_study.layouts', 'deepfake_study.data_prep', 'deepfake_study.data'} & set(mods), mods

def test_prepared_folder_names_are_spelled_in_one_module():
    spelled = {p.name for p in _modules() for name in ('faces.csv', 'videos.csv', 'prep.json')
               if re.search(rf"""['"/]{re.escape(name)}['"]""", p.read_text())}
    assert spelled <= {'prepared.py'}, spelled

def test_old_import_paths_keep_working():
    from deepfake_study.data_prep import index_videos, read_frames, FaceExtractor, prepare_dataset, split_videos, frame_indices, box_iou
    from deepfake_study import layouts, frames, faces
    assert (index_videos, read_frames, FaceExtractor) == (layouts.index_videos, frames.read_frames, faces.FaceExtractor)
    from deepfake_study.data import load_faces, prep_settings
    from deepfake_study import data_prep
    assert (load_faces, prep_settings) == (data_prep.load_faces, data_prep.prep_settings)

def test_few_long_lines_in_the_package():
    lines = [l for p in _modules() for l in p.read_text().splitlines()]
    long = [l for l in lines if len(l) > 120]
    assert len(long) < 0.02*len(lines), f"{len(long)} of {len(lines)} lines over 120 characters"

def test_public_docstrings_are_one_line():
    "A public definition's docstring is one line, as fastcore's are; what it does in detail is prose after its example."
    import ast
    long = [f"{m.name}: {n.name}" for m in _modules() for n in ast.walk(ast.parse(m.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith('_')
            and '\n' in (ast.get_docstring(n) or '').strip()]
    assert not long, long

def test_exported_cells_are_at_most_60_lines():
    big = {f"{nb.name} cell {i}": len(s.splitlines()) for nb in sorted((ROOT/'nbs').glob('*.ipynb'))
           for i, s in enumerate(_code_cells(nb)) if s.startswith('#| export') and len(s.splitlines()) > 60}
    assert not big, big

def _public_defs():
    "Every public function and class the chapters export, with its notebook."
    out = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for s in _code_cells(nb):
            if s.startswith('#| export'):
                for m in re.finditer(r'^(?:def|class) ([A-Za-z]\w*)', s, re.M): out[m[1]] = nb
    return out

def _ci_outputs():
    "`.ci/outputs.py` as a module: the one place that says which cells are visible and what a kept output is."
    import importlib.util
    spec = importlib.util.spec_from_file_location('outputs', ROOT/'.ci'/'outputs.py'); m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m); return m

OUTPUTS = _ci_outputs()
_flags, _visible = OUTPUTS.flags, OUTPUTS.visible

def test_most_public_definitions_have_a_visible_example():
    "At least 60% of public definitions are called in a visible (not hidden, not exported) cell of a chapter."
    visible = '\n'.join(l for nb in sorted((ROOT/'nbs').glob('*.ipynb')) for s in _code_cells(nb) if _visible(s)
                        for l in s.split('\n') if not re.match(r'\s*(from \S+ )?import ', l))  # importing a name is no example
    defs = _public_defs()
    shown = [n for n in defs if re.search(rf'\b{n}\b', visible.replace('show_doc(', ''))]
    assert len(shown) >= 0.6*len(defs), f"{len(shown)} of {len(defs)}; without: {sorted(set(defs) - set(shown))}"

def test_readme_top_reads_in_a_minute():
    "What it is, install and the main job: under 250 words to the end of the two commands, and no typed benchmark figure."
    top = (ROOT/'README.md').read_text().split('## Tests')[0]
    assert len(top.split()) < 250, len(top.split())
    assert not re.search(r'\d+(\.\d+)?\s?(min\b|s\b|x\b|KB|GB)', top.split('```sh')[0] + top.split('```')[-1]), 'a typed figure'

def _cells(nb:Path)->list: return json.loads(nb.read_text())['cells']

def test_no_long_run_of_exported_code_without_prose_or_an_example():
    "A chapter reads top to bottom: at most about 100 lines of exported cells in a row before a sentence or a visible example (hidden tests do not break a run)."
    runs = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        n, start = 0, None
        for i, c in enumerate(_cells(nb) + [dict(cell_type='markdown', source='')]):
            s = ''.join(c['source'])
            if c['cell_type'] == 'code' and _flags(s) & {'export', 'exporti'}:
                start = i if n == 0 else start; n += len(s.splitlines())
            elif c['cell_type'] == 'code' and ('hide' in _flags(s) or not s.strip()): continue
            else:
                if n > 110: runs[f"{nb.name} from cell {start}"] = n
                n = 0
    assert not runs, runs

def test_study_chapters_keep_a_figure_or_a_table():
    "Chapters 02-08 keep at least one figure or table from their demo run (python .ci/outputs.py), and no kept output names this machine's folders."
    for nb in sorted((ROOT/'nbs').glob('0[2-8]*.ipynb')):
        outs = [o for c in _cells(nb) if c['cell_type'] == 'code' for o in c.get('outputs', [])]
        kinds = {k for o in outs for k in o.get('data', {})}
        assert 'image/png' in kinds or any('<table' in ''.join(o.get('data', {}).get('text/html', '')) for o in outs), nb.name
        text = json.dumps([o for o in outs if 'image/png' not in o.get('data', {})])
        assert str(Path.home()) not in text and str(ROOT) not in text, nb.name

def test_hidden_and_exported_cells_keep_no_outputs():
    "Only visible examples keep outputs: a hidden test's or an exported definition's output is nothing a reader sees."
    bad = [f"{nb.name} cell {i}" for nb in sorted((ROOT/'nbs').glob('*.ipynb')) for i, c in enumerate(_cells(nb))
           if c['cell_type'] == 'code' and c.get('outputs') and not _visible(''.join(c['source']))]
    assert not bad, bad

def test_the_output_check_fails_on_a_stale_output_and_passes_a_fresh_one(tmp_path, monkeypatch):
    ".ci/outputs.py --check reruns a chapter and names a kept output its code no longer produces; `# output varies` cells are not compared."
    import nbformat
    out = OUTPUTS
    nbs = tmp_path/'nbs'; nbs.mkdir(); monkeypatch.setattr(out, 'NBS', nbs)
    res = lambda text: [nbformat.v4.new_output('execute_result', {'text/plain': text}, execution_count=1)]
    def write(kept):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell('1 + 1', outputs=res(kept)),
                    nbformat.v4.new_code_cell('import random; random.random()  # output varies', outputs=res('0.5'))]
        nbformat.write(nb, str(nbs/'t.ipynb'))
    write('2'); out.check(['t.ipynb'])  # fresh: passes
    write('3')
    with pytest.raises(SystemExit, match=r"(?s)t\.ipynb, the cell `1 \+ 1`.*kept: \['text/plain: 3'\].*now:  \['text/plain: 2'\]"):
        out.check(['t.ipynb'])
