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
