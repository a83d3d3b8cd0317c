#!/usr/bin/env python3
"""What a newcomer's install must do, whatever pip resolved: every module of `deepfake_study` imports, and every
console script in settings.ini answers `--help`. Warnings that name the project's own code (deprecations of the newest
releases included) are printed, so the next break is seen a release early. Run with the venv's python:
`.venv/bin/python .ci/smoke.py`. Exit status 1 lists what failed."""
import configparser, importlib, pkgutil, subprocess, sys, warnings
from pathlib import Path

def main(repo='.'):
    repo = Path(repo)
    failed = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        import deepfake_study
        for m in pkgutil.iter_modules(deepfake_study.__path__, 'deepfake_study.'):
            try: importlib.import_module(m.name)
            except Exception as e: failed.append(f'import {m.name}: {type(e).__name__}: {e}')
    own = [w for w in seen if 'deepfake_study' in str(w.filename)]
    for w in own: print(f'warning from the project: {w.filename}:{w.lineno}: {w.category.__name__}: {w.message}')
    cfg = configparser.ConfigParser(); cfg.read(repo/'settings.ini')
    bindir = Path(sys.executable).parent
    for line in cfg['DEFAULT']['console_scripts'].split():
        name = line.split('=')[0]
        r = subprocess.run([str(bindir/name), '--help'], capture_output=True, text=True, timeout=300)
        if r.returncode or 'usage' not in r.stdout.lower():
            failed.append(f'{name} --help: rc {r.returncode}: {(r.stderr or r.stdout).strip().splitlines()[-1:] }')
    n = len(list(pkgutil.iter_modules(deepfake_study.__path__)))
    print(f'deepfake_study {deepfake_study.__version__}: {n} modules, {len(cfg["DEFAULT"]["console_scripts"].split())} console scripts, '
          + (f'{len(failed)} FAILED' if failed else 'all import and answer --help'))
    for f in failed: print('  ' + f)
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main(*sys.argv[1:]))
