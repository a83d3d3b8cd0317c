import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent/'shared'/'data'/'samples'
os.environ.setdefault('HF_HUB_OFFLINE', '1')

@pytest.fixture(scope='session')
def samples():
    "The real DFDC samples beside the repo; tests using them skip cleanly where ../shared is absent."
    d = SHARED/'dfdc'
    if not (d/'videos'/'metadata.json').is_file(): pytest.skip('../shared/data/samples is not present')
    return d

@pytest.fixture(scope='session')
def demo():
    "The built-in demo datasets (built and prepared on first use, cached under DEEPFAKE_DATA)."
    from deepfake_study.demo import demo_data
    return demo_data()

@pytest.fixture(scope='session')
def tiny_run(demo, tmp_path_factory):
    "A small detector trained on the demo (seconds on a CPU), for tests that need a run folder."
    from deepfake_study.train import train_run
    out = tmp_path_factory.mktemp('runs')/'tiny'
    return train_run('resnet18', 'baseline', 'adam', 1e-3, epochs=1, size=48, max_frames=2, blackbox=None, out=out, n_boot=0, progress=False)['out']
