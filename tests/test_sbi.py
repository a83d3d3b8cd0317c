"Self-blended training: behaviour that needs a whole training loop."
import json
from pathlib import Path
import numpy as np, pandas as pd, pytest, PIL.Image
from deepfake_study.core import REAL, FAKE, seed_everything

def test_sbi_training_never_opens_a_fake_video(demo, monkeypatch, tmp_path):
    "Every image file read while training (and validating) with fakes='sbi' belongs to a real video of the training data."
    from deepfake_study.data import load_faces, get_dls
    from deepfake_study.train import build_learner
    prepared = demo['dfdc']
    faces = load_faces(prepared, max_frames=2)
    vids = pd.read_csv(prepared/'videos.csv').set_index('video')
    # fewer videos, but the fakes are still there to be (wrongly) picked up
    keep = pd.concat([faces[faces.split==s].drop_duplicates('video').groupby('label').head(8) for s in ('train','valid')]).video
    small = faces[faces.video.isin(keep)]
    assert (small.label==FAKE).sum() > 0
    opened = []
    real_open = PIL.Image.open
    def spy(fp, *a, **k):
        opened.append(str(fp)); return real_open(fp, *a, **k)
    monkeypatch.setattr(PIL.Image, 'open', spy)
    seed_everything(0)
    dls = get_dls(small, size=32, bs=8, aug='flip,jpeg', fakes='sbi')
    learn, info = build_learner(dls, 'resnet18', 'baseline', 'adam')
    learn.remove_cb(learn.progress)
    with learn.no_logging(): learn.fit(1, 1e-3)
    by_fn = small.set_index('fn').video
    crops = [o for o in opened if o in by_fn.index]
    assert len(crops) >= len(dls.train.items) + len(dls.valid.items), "training should have read every item"
    assert set(vids.loc[by_fn[crops].unique(), 'label']) == {REAL}
    # and it learned from both classes: half the items are self-blended copies, labelled fake
    assert info['class_weights'] == [1.0, 1.0]
    assert (dls.train.items.label==FAKE).sum() == (dls.train.items.label==REAL).sum() == (small[small.split=='train'].label==REAL).sum()

def test_train_run_sbi_records_what_it_trained_on(demo, tmp_path):
    from deepfake_study.train import train_run
    r = train_run('resnet18', 'baseline', 'adam', 1e-3, epochs=1, size=32, max_frames=1, blackbox=None, out=tmp_path/'sbi', n_boot=0, progress=False, fakes='sbi')
    cfg = json.loads((r['out']/'config.json').read_text())
    assert cfg['params']['fakes'] == 'sbi' and cfg['train_videos']['fake'] == 0 and cfg['train_videos']['sbi_items'] > 0
    assert (r['out']/'sbi_examples.png').is_file()
    # evaluation is on the real held-out videos, fakes included
    p = pd.read_csv(r['out']/'predictions.csv')
    assert set(p[p.split=='test'].label) == {REAL, FAKE}
    with pytest.raises(ValueError, match='unknown fakes'): train_run(fakes='blend', out=tmp_path/'bad')
