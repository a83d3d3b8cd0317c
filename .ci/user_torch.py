#!/usr/bin/env python3
"""A researcher's own torch survives `pip install`: in a fresh venv that already holds torch 2.11 / torchvision 0.26
(a typical CUDA box), `pip install --dry-run --report` of this project must not install, upgrade or downgrade either.

The installed torch is a metadata-only stub (a `.dist-info` folder): pip's resolver decides from installed metadata,
and a real torch 2.11 wheel for this CPU-only machine is a multi-GB CUDA build. Run from the repository root:
`python .ci/user_torch.py` (needs the package index). Exit status 1 names what pip would have replaced."""
import json, subprocess, sys, sysconfig, tempfile, venv
from pathlib import Path

USER = {'torch': '2.11.0', 'torchvision': '0.26.0'}

def stub(site:Path, name, version):
    d = site/f'{name}-{version}.dist-info'; d.mkdir(parents=True)
    (d/'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    (d/'INSTALLER').write_text('pip\n'); (d/'RECORD').write_text('')

def main(repo='.'):
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp)/'venv'; venv.create(env, with_pip=True)
        py = env/'bin'/'python'
        site = Path(subprocess.check_output([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], text=True).strip())
        for k, v in USER.items(): stub(site, k, v)
        have = subprocess.check_output([py, '-m', 'pip', 'list', '--format', 'json'], text=True)
        assert {p['name']: p['version'] for p in json.loads(have)}.get('torch')==USER['torch'], 'the stub torch is not seen by pip'
        rep = Path(tmp)/'report.json'
        r = subprocess.run([py, '-m', 'pip', 'install', '--dry-run', '--quiet', '--report', str(rep), '-e', f'{repo}[dev]'], text=True, capture_output=True)
        if r.returncode: print(r.stdout[-3000:], r.stderr[-3000:]); print('pip could not resolve the project next to torch 2.11'); return 1
        todo = {i['metadata']['name'].lower(): i['metadata']['version'] for i in json.loads(rep.read_text())['install']}
        hit = {k: todo[k] for k in USER if k in todo}
        print(f'pip would install {len(todo)} packages next to torch {USER["torch"]} / torchvision {USER["torchvision"]}'
              + (f'; it would REPLACE {hit}' if hit else '; both are kept'))
        return 1 if hit else 0

if __name__ == '__main__': sys.exit(main(*sys.argv[1:]))
