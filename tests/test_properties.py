"""#37's held-out bugs: properties checked one setting at a time, at values other than the defaults, against an
independent computation. Each test here states the property, not the case a fix was made for."""
import json, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch

# --- the explanation page's claims
def _explanation(p_fakes, threshold, n_boot=1000):
    from deepfake_study.explain import Explanation, frame_ci
    fp = [dict(frame=i, p_fake=float(p)) for i, p in enumerate(p_fakes)]
    pf = float(np.mean(p_fakes))
    res = dict(path='v.mp4', status='ok', message='', p_fake=pf, threshold=threshold, agg='mean', frame_probs=fp,
               frames_read=len(fp), label='fake' if pf >= threshold else 'real')
    card = dict(run='r', arch='a', mode='m', data='d', threshold=threshold, valid_auc=None, test_auc=None, blackbox_auc={})
    return Explanation(res, card, frame_ci(p_fakes, n_boot=n_boot), [], [], None)

@pytest.mark.parametrize('threshold', [0.3, 0.72])
def test_unsettled_compares_the_interval_with_the_runs_own_threshold(threshold):
    "'Unsettled' exactly when the frames' interval holds the run's threshold, at thresholds other than 0.5."
    rng = np.random.default_rng(1)
    for centre in (0.5, threshold - 0.02, threshold + 0.02, threshold - 0.2, threshold + 0.2):
        ps = np.clip(rng.normal(centre, 0.05, 24), 0, 1)
        ex = _explanation(ps, threshold)
        lo, hi = ex.ci
        want = lo < threshold <= hi  # computed here, from the interval the page shows
        assert ex.unsettled == want, (centre, ex.ci, threshold)
        assert ("id='unsettled'" in ex.to_html()) == want
        assert f"threshold {threshold:.3f}" in ex.to_html()

def test_the_interval_shown_as_95_percent_is_95_percent():
    "On many frames the bootstrap interval of a mean matches the normal-theory 95% interval (±1.96 standard errors), not 90% or 99%."
    from deepfake_study.explain import frame_ci
    rng = np.random.default_rng(0)
    ps = rng.beta(2, 5, 800)
    lo, hi = frame_ci(ps, n_boot=20000)
    se = ps.std(ddof=1)/np.sqrt(len(ps))
    assert abs((hi - lo)/(2*1.96*se) - 1) < 0.05, ((hi - lo), 2*1.96*se)
    assert abs((lo + hi)/2 - ps.mean()) < 0.1*se
    # and its coverage: over many videos drawn from a known distribution, about 95% of intervals hold the true mean
    mu, hits = 2/7, 0
    for s in range(400):
        x = np.random.default_rng(100 + s).beta(2, 5, 60)
        a, b = frame_ci(x, n_boot=400, seed=s); hits += a <= mu <= b
    assert 0.91 <= hits/400 <= 0.98, hits/400

class _RedGreen(torch.nn.Module):
    "A network whose fake output looks only at red pixels and its real output only at green ones (timm's two halves)."
    def __init__(self):
        super().__init__(); self.conv = torch.nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad(): self.conv.weight[:] = torch.tensor([[1., -1, 0], [-1, 1, 0]])[..., None, None]
    def forward_features(self, x): return torch.relu(self.conv(x))
    def forward_head(self, f): return torch.stack([f[:, 1].mean((1, 2)), f[:, 0].mean((1, 2))], 1)  # (real, fake)

def test_grad_cam_explains_the_fake_output():
    "A face red on its left and green on its right: the fake output's Grad-CAM lights the red half, not the green."
    from deepfake_study.explain import grad_cam
    img = np.zeros((32, 32, 3), np.uint8); img[:, :16, 0] = 200; img[:, 16:, 1] = 200
    cam = grad_cam(_RedGreen(), img, 32, (0, 0, 0), (1, 1, 1))
    assert cam[:, :14].mean() > 0.9 and cam[:, 18:].max() < 0.1, (cam[:, :14].mean(), cam[:, 18:].max())

# --- a network whose output is not finite for some faces only
def test_some_non_finite_outputs_never_make_a_verdict(demo, tiny_run):
    from deepfake_study.predict import load_detector, predict_video
    det = load_detector(tiny_run, 'cpu')
    class SomeNaN(torch.nn.Module):
        def forward(self, x):
            out = torch.zeros(len(x), 2); out[0] = float('nan'); return out  # one face in each batch
    det._net = SomeNaN()
    vid = sorted((demo['raw']/'dfdc').rglob('*.mp4'))[0]
    res = predict_video(vid, det, frames=6)
    assert res['status'] == 'error' and res['p_fake'] is None and res['label'] is None, res
    assert 'not finite' in res['message'] and f"for 1 of" in res['message'], res['message']

# --- each setting of a finished run, alone, reruns it
_PARAMS = dict(arch='resnet18', mode='finetune', opt='sgd', lr=0.01, epochs=3, bs=16, size=96, seed=7, max_frames=4,
               fakes='sbi', data='/data/x')
_OTHER = dict(arch='efficientnet_b0', mode='transfer', opt='adam', lr=0.003, epochs=4, bs=32, size=112, seed=8, max_frames=6,
              fakes='both', data='/data/y')

@pytest.mark.parametrize('key', list(_OTHER))
def test_each_setting_alone_is_a_change(tmp_path, key):
    from deepfake_study.study import run_changes, _SETTINGS
    from deepfake_study.core import save_json
    assert set(_OTHER) == set(_SETTINGS)
    save_json(dict(status='done', params=_PARAMS), tmp_path/'config.json')
    assert run_changes(tmp_path, dict(_PARAMS)) == {}
    assert run_changes(tmp_path, {**_PARAMS, key: _OTHER[key]}) == {key: (_PARAMS[key], _OTHER[key])}

def test_the_same_setting_written_otherwise_is_no_change(tmp_path):
    from deepfake_study.study import run_changes
    from deepfake_study.core import save_json
    save_json(dict(status='done', params=_PARAMS), tmp_path/'config.json')
    assert run_changes(tmp_path, {**_PARAMS, 'lr': '1e-2', 'arch': 'resnet18'}) == {}

# --- prep settings that differ in one key alone are refused
@pytest.fixture(scope='module')
def demo_sets(demo, tmp_path_factory):
    return demo['dfdc'], demo['fakeavceleb'], tmp_path_factory.mktemp('bb')

@pytest.mark.parametrize('key,value', [('size', 64), ('margin', 0.2), ('max_faces', 2), ('detect_max', 320), ('min_prob', 0.8),
                                       ('retry_full', False)])
def test_a_blackbox_set_prepared_otherwise_in_one_key_is_refused(demo_sets, key, value):
    from deepfake_study.train import _prepared_sets
    from deepfake_study.core import DETECTOR_KEYS
    train, bb, root = demo_sets
    other = root/key; shutil.copytree(bb, other, ignore=shutil.ignore_patterns('cache'))
    p = json.loads((other/'prep.json').read_text())
    ours = json.loads((Path(train)/'prep.json').read_text())
    assert key in DETECTOR_KEYS and p.get(key, None) == ours.get(key, None) != value
    p[key] = value; (other/'prep.json').write_text(json.dumps(p))
    with pytest.raises(ValueError, match='prepared differently') as e: _prepared_sets(train, {'blackbox': other})
    assert f"'{key}'" in str(e.value) and all(f"'{k}'" not in str(e.value) for k in DETECTOR_KEYS if k != key)

# --- a grown dataset's new identities go where a fresh prep puts them
def test_new_identities_follow_the_split_fractions_and_seed(demo, tmp_path):
    "Prep half a DFDC part, grow it, prep again: each new identity's split is the one a fresh prep of the grown set (same fractions and seed) gives it."
    from deepfake_study.data_prep import prepare_dataset
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    reals = sorted(k for k, e in meta.items() if e['label'] == 'REAL')
    d = tmp_path/'ds'/'dfdc_train_part_0'; d.mkdir(parents=True)
    reals = reals[:12]
    meta = {k: e for k, e in meta.items() if k in reals or e.get('original') in reals}  # 12 identities, 6 then 12
    for k in meta: shutil.copy(src/k, d/k)
    first = set(reals[:6])
    (d/'metadata.json').write_text(json.dumps({k: e for k, e in meta.items() if k in first or e.get('original') in first}))
    kw = dict(layout='dfdc', frames=1, size=32, valid=0.3, test=0.2, seed=11, progress=False, workers=0)
    prepare_dataset(d.parent, tmp_path/'grown', **kw)
    old_groups = set(pd.read_csv(tmp_path/'grown'/'videos.csv').group)
    (d/'metadata.json').write_text(json.dumps(meta))
    prepare_dataset(d.parent, tmp_path/'grown', **kw)
    prepare_dataset(d.parent, tmp_path/'fresh', **kw)
    g = pd.read_csv(tmp_path/'grown'/'videos.csv').set_index('video'); f = pd.read_csv(tmp_path/'fresh'/'videos.csv').set_index('video')
    new = g[~g.group.isin(old_groups)]
    assert len(new) >= 4 and new.split.nunique() >= 2, new.split.value_counts()
    assert (new.split == f.loc[new.index, 'split']).all(), pd.concat([new.split, f.loc[new.index, 'split']], axis=1)
