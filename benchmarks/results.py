"""Where benchmarks keep what they measured: `benchmarks/results/<name>.json`, git-tracked, with the machine, the date and
the commit beside the figures, so prose that quotes a figure reads it from here instead of typing it."""
import json, os, platform, time
from pathlib import Path

DIR = Path(__file__).parent/'results'

def machine()->dict:
    "CPU, core count and GPU (if any) of this machine."
    m = dict(platform=platform.platform(), cpu=platform.processor() or platform.machine(), cpus=os.cpu_count(), gpu=None)
    try:
        import torch
        if torch.cuda.is_available(): m['gpu'] = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    except ImportError: pass
    return m

def commit()->str|None:
    "This checkout's commit, as the run folders record it (`core.git_commit`: `+dirty` with uncommitted changes)."
    from deepfake_study.core import git_commit
    return git_commit(DIR.parent)

def save_result(name:str, figures:dict, **extra)->Path:
    "Write `results/<name>.json`: machine, date, commit, `figures` (and anything in `extra`); returns its path."
    DIR.mkdir(exist_ok=True)
    fn = DIR/f'{name}.json'
    fn.write_text(json.dumps(dict(machine=machine(), date=time.strftime('%Y-%m-%d'), commit=commit(), figures=figures, **extra), indent=1) + '\n')
    print(f"saved {fn}")
    return fn

def load_result(name:str)->dict|None:
    "A saved result, or None when that benchmark has not been run here."
    fn = DIR/f'{name}.json'
    return json.loads(fn.read_text()) if fn.is_file() else None
