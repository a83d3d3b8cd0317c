"""Run the library chapters and keep their visible examples' outputs, so every chapter reads on GitHub and in the docs.

    python .ci/outputs.py [NB ...]        # default: every notebook whose module is in the package, and index.ipynb

Each notebook is executed in place (nbconvert, from nbs/), then only the outputs of visible example cells are kept: exported
and hidden cells keep none, and warnings or decoder noise on stderr are dropped. Run `nbdev_clean` afterwards."""
import json, re, subprocess, sys
from pathlib import Path
NBS = Path(__file__).resolve().parents[1]/'nbs'
NOISE = re.compile(r'Warning|warnings\.warn|moov atom|IProgress|^\[\w+ @ 0x')

def keep(nb:Path):
    d = json.loads(nb.read_text())
    for c in d['cells']:
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        if src.startswith(('#| export', '#| hide', '#|hide')) or '#| exec_doc' in src: c['outputs'] = []; continue
        c['outputs'] = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr'
                                                              and NOISE.search(''.join(o.get('text', ''))))]
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    names = sys.argv[1:] or [p.name for p in sorted(NBS.glob('0[01]*.ipynb'))] + ['index.ipynb']
    for n in names:
        r = subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--inplace',
                            '--ExecutePreprocessor.timeout=900', n], cwd=NBS, capture_output=True, text=True)
        if r.returncode: sys.exit(f"{n} failed:\n{r.stderr[-3000:]}")
        keep(NBS/n); print(f"{n}: outputs kept")
