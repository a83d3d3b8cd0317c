"""The 151 real clips of ../shared/data/real, rebuilt into $DEEPFAKE_DATA/real (or $DEEPFAKE_REAL) by its rebuild.sh, met as a user's
download would be: every folder's layout is recognised, labels agree with the published labels.csv, FF++ gets its official split.
These media are research-only and never in the repository: the tests skip when they are absent."""
import csv, os
from pathlib import Path
import pytest
from deepfake_study.core import study_dir
from deepfake_study.data_prep import detect_layout, index_videos, split_videos
from conftest import ROOT

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

def test_predict_crops_are_preps_on_real_clips(real, tiny_run, tmp_path):
    """#28 on real footage: prediction's crops of real DFDC clips (1080p H.264, detection on a downscaled frame) are the crops prep stores
    for them with the same settings, pixel for pixel up to the one-grey-level rounding a batched MTCNN box can cause."""
    import shutil
    import numpy as np
    from PIL import Image
    import pandas as pd
    from deepfake_study.core import DETECTOR_KEYS
    from deepfake_study.data_prep import prepare_dataset
    from deepfake_study.predict import load_detector, predict_video
    d, _ = real
    clips = sorted((d/'dfdc'/'train_sample_videos').glob('*.mp4'))[:3]
    src = tmp_path/'ds'; (src/'real').mkdir(parents=True); (src/'fake').mkdir()
    for c in clips: shutil.copy(c, src/'fake'/c.name)  # the label plays no part in cropping
    det = load_detector(tiny_run, 'cpu')
    prepare_dataset(src, tmp_path/'prep', layout='folder', frames=6, valid=0, test=0, progress=False, workers=0,
                    **{k: det.prep[k] for k in DETECTOR_KEYS})
    faces = pd.read_csv(tmp_path/'prep'/'faces.csv')
    assert faces.video.nunique() == len(clips)
    for c in clips:
        res = predict_video(src/'fake'/c.name, det, frames=6, agg='mean', detect_every=1, crops=True)
        assert res['status'] == 'ok', res['message']
        stored = faces[faces.path == f'fake/{c.name}']
        assert sorted(f['frame'] for f in res['frame_probs']) == sorted(stored.frame.unique()), c.name
        for f, crop in zip(res['frame_probs'], res['crops']):
            want = np.asarray(Image.open(tmp_path/'prep'/stored.loc[stored.frame == f['frame'], 'crop'].iloc[0]).convert('RGB'))
            diff = np.abs(crop.astype(int) - want.astype(int))
            assert crop.shape == want.shape and diff.max() <= 2 and (diff > 0).mean() < 0.01, (c.name, f['frame'], (diff > 0).mean(), diff.max())
