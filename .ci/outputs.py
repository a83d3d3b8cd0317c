"""Run the chapters and keep their visible examples' outputs, so every chapter reads on GitHub and in the docs; or check
that the kept outputs are still what the code produces.

    python .ci/outputs.py [NB ...]            # default: every chapter and index.ipynb; writes them in place
    python .ci/outputs.py --check [NB ...]    # runs copies elsewhere; exits 1 naming each kept output that went stale

Each notebook is executed (nbconvert, from nbs/, so relative paths hold), then only the outputs of visible example cells
are kept: exported and hidden cells keep none, and warnings or decoder noise on stderr are dropped. The study chapters
(02-08) run on the built-in demo with their parameters' defaults, so their outputs are the demo's, as each chapter's
banner says. A kept output may not name this machine's folders. Run `nbdev_clean` afterwards.

`--check` compares the text of every visible cell's outputs (printed text, values, tables; a figure counts as one
figure, not by its pixels). A cell whose output is not deterministic (timings, a training run's numbers) says so with a
`# output varies` comment and is not compared; warnings and decoder noise on stderr are not compared either."""
import json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]; NBS = ROOT/'nbs'
NOISE = re.compile(r'Warning|warnings\.warn|moov atom|IProgress|^\[\w+ @ 0x')
VARIES = '# output varies'

def flags(src:str)->set:
    "The nbdev directives a cell opens with, however many lines they take."
    out = set()
    for l in src.splitlines():
        if not l.startswith('#|'): break
        out.add((l[2:].split() or [''])[0])
    return out

def visible(src:str)->bool: return not flags(src) & {'export', 'exporti', 'exports', 'hide', 'exec_doc'}

TMP = re.compile(r'/tmp/tmp\w+')  # a fixture's temporary folder: names nothing of the machine, differs every run

def private_paths()->list:
    "Folders of this machine a kept output may not show."
    env = [os.environ.get(k, '') for k in ('DEEPFAKE_DATA', 'DEEPFAKE_CACHE', 'DEEPFAKE_RUNS')]
    return [p for p in {str(ROOT), str(Path.home()), *env} if p and p != '/']

MAX_PNG = 150_000  # bytes of base64: a kept figure larger than this is scaled down (the docs show it at page width anyway)

def small_png(b64:str)->str:
    "A base64 PNG at most about `MAX_PNG`, scaled down in steps of 0.75 (the figure's own file keeps full size)."
    import base64, io
    from PIL import Image
    im = Image.open(io.BytesIO(base64.b64decode(b64))); im.load()
    while len(b64) > MAX_PNG and min(im.size) > 200:
        im = im.resize((int(im.width*0.75), int(im.height*0.75)), Image.LANCZOS)
        buf = io.BytesIO(); im.save(buf, 'PNG', optimize=True); b64 = base64.b64encode(buf.getvalue()).decode() + '\n'
    return b64

def keep(nb:Path):
    "Strip an executed notebook to the outputs worth keeping; fail where one names a folder of this machine."
    d, leaks = json.loads(nb.read_text()), []
    for i, c in enumerate(d['cells']):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        if not visible(src): c['outputs'] = []; continue
        c['outputs'] = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr'
                                                              and NOISE.search(''.join(o.get('text', ''))))]
        for o in c['outputs']:
            if len(''.join(o.get('data', {}).get('image/png', ''))) > MAX_PNG: o['data']['image/png'] = small_png(''.join(o['data']['image/png']))
        text = json.dumps([o for o in c['outputs'] if 'image/png' not in o.get('data', {})])
        leaks += [f"{nb.name} cell {i}: {p}" for p in private_paths() if p in text]
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    if leaks: sys.exit("kept outputs name this machine's folders:\n" + '\n'.join(leaks))

def summary(o:dict)->str:
    "What `--check` compares of one output: its text, or only its kind for a figure."
    if o['output_type'] == 'stream': return f"{o['name']}: " + TMP.sub('<tmp>', ''.join(o['text']).strip())
    if o['output_type'] == 'error': return f"error: {o.get('ename')}: {o.get('evalue')}"
    d = o.get('data', {})
    if 'image/png' in d or 'image/svg+xml' in d: return 'a figure'
    for k in ('text/markdown', 'text/html', 'text/plain'):
        if k in d: return f"{k}: " + TMP.sub('<tmp>', re.sub(r'\s+', ' ', ''.join(d[k])).strip())
    return o['output_type']

def kept(nb:Path)->dict:
    "Each visible code cell's outputs as `check` compares them, keyed by the cell's id."
    out = {}
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or not visible(src): continue
        if VARIES in src: continue
        s = [summary(o) for o in c.get('outputs', []) if not (o.get('name') == 'stderr' and NOISE.search(''.join(o.get('text', ''))))]
        out[c.get('id', src[:40])] = (s, src.splitlines()[0][:70] if src else '')
    return out

def execute(nb:Path, cwd:Path):
    t = time.time()
    r = subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--inplace',
                        '--ExecutePreprocessor.timeout=1800', nb.name], cwd=cwd, capture_output=True, text=True,
                       # the kernel's inline figures; never the research-only real clips beside the repository
                       env=dict({k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}, DEEPFAKE_SAMPLES='none'))
    if r.returncode: sys.exit(f"{nb.name} failed:\n{r.stderr[-3000:]}")
    return time.time() - t

def _workspace(tmp:Path)->Path:
    """A copy of nbs/ whose `..` looks like the checkout (benchmarks/, configs/, settings.ini linked), without the
    cells that export: a check reads the package, never writes it."""
    for name in ('benchmarks', 'configs', 'settings.ini'): (tmp/name).symlink_to(ROOT/name)
    work = tmp/'nbs'; shutil.copytree(NBS, work)
    for nb in work.glob('*.ipynb'):
        d = json.loads(nb.read_text())
        d['cells'] = [c for c in d['cells'] if 'nbdev_export()' not in ''.join(c['source'])]
        nb.write_text(json.dumps(d))
    return work

def check(names:list):
    "Run copies of the chapters and name every kept output that differs from what its code produces now."
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        work = _workspace(Path(tmp))
        for n in names:
            s = execute(work/n, work)
            old, new = kept(NBS/n), kept(work/n)
            for k, (o, head) in old.items():
                if k in new and new[k][0] != o:
                    stale.append(f"{n}, the cell `{head}`:\n   kept: {o}\n   now:  {new[k][0]}")
            print(f"{n}: {s:.0f} s, {len(old)} visible cells compared")
    if stale: sys.exit("kept outputs that no longer match their code (regenerate: python .ci/outputs.py NB, then nbdev_clean):\n"
                       + '\n'.join(stale))

def warm_demo():
    """Build the demo before any chapter runs, so every chapter meets it built: a chapter that met it cold would keep
    the build's log, and a check made warm would call that stale."""
    r = subprocess.run([sys.executable, '-c', 'from deepfake_study.demo import demo_data; demo_data()'], capture_output=True, text=True)
    if r.returncode: sys.exit(f"the demo could not be built:\n{r.stderr[-3000:]}")

def chapters()->list: return [p.name for p in sorted(NBS.glob('0*.ipynb'))] + ['index.ipynb']

if __name__ == '__main__':
    args = sys.argv[1:]
    if '--shrink' in args:  # only scale down the kept figures of notebooks already run
        for n in [a for a in args if a != '--shrink'] or chapters(): keep(NBS/n)
        sys.exit(0)
    warm_demo()
    if '--check' in args: args.remove('--check'); check(args or [n for n in chapters() if n[:2] in ('00', '01')]); sys.exit(0)
    for n in args or chapters():
        s = execute(NBS/n, NBS); keep(NBS/n); print(f"{n}: outputs kept ({s:.0f} s)")
