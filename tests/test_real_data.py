"""The 151 real clips of ../shared/data/real, rebuilt into $DEEPFAKE_DATA/real (or $DEEPFAKE_REAL) by its rebuild.sh, met as a user's
download would be: every folder's layout is recognised, labels agree with the published labels.csv, FF++ gets its official split.
These media are research-only and never in the repository: the tests skip when they are absent."""
import csv, os
from pathlib import Path
import pytest
from deepfake_study.core import study_dir
from deepfake_study.data_prep import detect_layout, index_videos, split_videos

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT.parent/'shared'/'data'/'real'/'labels.csv'

@pytest.fixture(scope='module')
def real():
    d = Path(os.environ['DEEPFAKE_REAL']) if os.environ.get('DEEPFAKE_REAL') else study_dir('data')/'real'
    if not (d/'ffpp').is_dir() or not LABELS.is_file(): pytest.skip('the real clips are not rebuilt here (../shared/data/real/rebuild.sh)')
    return d, {r['path']: r for r in csv.DictReader(open(LABELS))}

@pytest.mark.parametrize('name,layout', [('ffpp','ffpp'), ('dfdc','dfdc'), ('celebdf','celebdf'), ('fakeavceleb','fakeavceleb')])
def test_layouts_and_labels(real, name, layout):
    d, lab = real
    assert detect_layout(d/name) == layout
    df = index_videos(d/name)
    want = {p.split('/', 1)[1]: int(r['label']) for p, r in lab.items() if p.startswith(name + '/')}
    assert dict(zip(df.path, df.label)) == want  # every clip indexed once, with the label its dataset gives it

def test_ffpp_official_split(real):
    d, lab = real
    sp = split_videos(index_videos(d/'ffpp')).set_index('path')
    off = {p.split('/', 1)[1]: r['official_split'].replace('ffpp_', '').replace('val', 'valid') for p, r in lab.items() if p.startswith('ffpp/')}
    assert sp.split.to_dict() == off
    assert sp.split.value_counts().to_dict() == {'train': 72, 'valid': 18, 'test': 16}
