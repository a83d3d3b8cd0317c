"The wheel carries the study: built from this repository and installed into a bare folder, the driver finds its configs and chapter notebooks from an unrelated working directory."
import json, os, shutil, subprocess, sys, importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def _shipped(repo):
    "The files a checkout ships: what git tracks or would track (not ignored). None where `repo` is no git work tree."
    r = subprocess.run(['git', '-C', str(repo), 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], capture_output=True)
    if r.returncode: return None
    return sorted({f for f in r.stdout.decode().split('\0') if f and (repo/f).is_file()})

def _build_wheel(tmp_path):
    src = tmp_path/'src'
    # only what git would ship: a checkout may hold gigabytes of ignored files beside the source (.ci/run leaves two
    # venvs, .venv and .venv-newest, in the clone: copying the second once filled CI's disk)
    files = _shipped(REPO)
    if files is not None:
        for f in files: (src/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(REPO/f, src/f)
    else:
        skip = {'.git', '.cache', 'build', 'dist', 'data', 'runs', 'outputs', '.pytest_cache'}  # top-level folders a checkout may hold
        shutil.copytree(REPO, src, ignore=lambda d, names: [n for n in names if (Path(d)==REPO and (n in skip or n.startswith(('report', '.venv', 'venv'))))
                                                            or n.endswith('.egg-info') or n in ('__pycache__', '.ipynb_checkpoints')])
    # without build isolation when this environment can build (no index needed); otherwise pip fetches setuptools
    iso = [] if all(importlib.util.find_spec(m) for m in ('setuptools', 'wheel')) else ['--use-pep517']
    nb = ['--no-build-isolation'] if not iso else []
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', *nb, '-w', str(tmp_path/'whl'), str(src)], capture_output=True, text=True)
    assert r.returncode==0, r.stderr[-3000:]
    (whl,) = (tmp_path/'whl').glob('deepfake_study-*.whl')
    return whl

def test_wheel_ships_notebooks_and_configs(tmp_path):
    whl = _build_wheel(tmp_path)
    target = tmp_path/'site'
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(target), str(whl)], capture_output=True, text=True)
    assert r.returncode==0, r.stderr[-3000:]
    elsewhere = tmp_path/'elsewhere'; elsewhere.mkdir()
    code = r'''
import json, sys
from pathlib import Path
import deepfake_study, deepfake_study.study as rp
target = Path(sys.argv[1]).resolve()
for m in (deepfake_study, rp): assert target in Path(m.__file__).resolve().parents, m.__file__
out = {}
for name in ('quick', 'study', 'ffpp', 'configs/quick.yaml'):
    c = rp.find_config(name); assert target in c.resolve().parents, c
    out[name] = [r['name'] for r in rp.load_config(c)['runs']]
nbs = rp._nbs_dir()
assert target in nbs.resolve().parents, nbs
for ch in rp.CHAPTERS.values():
    nb = json.loads((nbs/ch).read_text())
    src = ''.join(''.join(c['source']) for c in nb['cells'])
    assert 'nbdev.nbdev_export()' not in src, ch   # the development hook is stripped
    assert 'parameters' in {t for c in nb['cells'] for t in c.get('metadata', {}).get('tags', [])} or ch=='07_report.ipynb', ch
try: rp.find_config('no-such-study'); raise SystemExit('an unknown config name was accepted')
except FileNotFoundError as e: assert 'quick' in str(e) and 'study' in str(e), e
print(json.dumps(out))
'''
    env = dict(os.environ, PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, '-c', code, str(target)], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert r.returncode==0, r.stdout[-2000:] + r.stderr[-3000:]
    runs = json.loads(r.stdout.strip().splitlines()[-1])
    assert runs['quick'] and runs['quick']==runs['configs/quick.yaml']   # a repository-style path falls back to the shipped config of that name
    assert len(runs['study']) > len(runs['quick'])
