"""The contract between prediction and the study: `deepfake_predict` on a run's own test videos, with the run's prep settings
(its frame count, detection on every frame), gives each frame and each video the probability the run's evaluation measured.

Tolerance: prep stores crops as PNG, which is lossless, so prediction's crops and the stored ones are the same pixels and both
go through one resize and one normalisation (`runs.batched_forward`). What is left is float32 arithmetic in another batch
order and, on a CPU, the batch-norm-folded network (checked against the eager one within 1e-5). 1e-4 covers both; a changed
normalisation, margin, crop size, frame sampling or aggregation moves a probability by far more (see the closing note of #28)."""
import json, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from conftest import BIN

TOL = 1e-4

@pytest.fixture(scope='module')
def full_run(demo, tmp_path_factory):
    "A small demo run evaluated on every prepared frame (no `max_frames`), so a video's mean is over the frames prediction reads."
    from deepfake_study.train import train_run
    out = tmp_path_factory.mktemp('contract')/'run'
    return train_run('resnet18', 'baseline', 'adam', 1e-3, epochs=1, size=48, max_frames=None, blackbox=None, out=out, n_boot=0, progress=False)['out']

def _measured(run, split='test', n=6):
    "The run's own frame predictions for `n` videos of `split`, with the raw video paths, and its prep settings."
    from deepfake_study.runs import read_predictions, read_config
    cfg = read_config(run)
    p = read_predictions(run, split)
    vids = sorted(p.video.unique())[:n]
    return p[p.video.isin(vids)], cfg

def _raw_root(demo): return demo['raw']/'dfdc'

def _check_video(res, frames:pd.DataFrame, what):
    assert res['status'] == 'ok', (what, res['status'], res['message'])
    got = {f['frame']: f['p_fake'] for f in res['frame_probs']}
    want = dict(zip(frames.frame.astype(int), frames.p_fake))
    assert sorted(got) == sorted(want), f"{what}: prediction scored frames {sorted(got)}, the evaluation {sorted(want)}"
    d = max(abs(got[k]-want[k]) for k in want)
    assert d < TOL, f"{what}: a frame's p_fake differs from the run's evaluation by {d:.3g}"
    assert abs(res['p_fake'] - frames.p_fake.mean()) < TOL, f"{what}: video p_fake {res['p_fake']} against the evaluation's mean {frames.p_fake.mean()}"

def test_predict_video_reproduces_the_runs_evaluation(demo, full_run):
    "`load_detector` + `predict_video` with the run's prep settings: every frame and every video as `predictions.csv` measured it."
    from deepfake_study.predict import load_detector, predict_video
    preds, cfg = _measured(full_run)
    det = load_detector(full_run, 'cpu')
    assert det.prep['margin'] == cfg['prep']['margin'] and det.prep['size'] == cfg['prep']['size']
    prepared = Path(cfg['prepared'])
    for v, g in preds.groupby('video'):
        res = predict_video(_raw_root(demo)/g.path.iloc[0], det, frames=cfg['prep']['frames'], agg='mean', detect_every=1, crops=True)
        _check_video(res, g, v)
        # the crops themselves: the stored PNGs, pixel for pixel
        for f, crop in zip(res['frame_probs'], res['crops']):
            stored = np.asarray(Image.open(prepared/g.loc[g.frame==f['frame'], 'crop'].iloc[0]).convert('RGB'))
            # prep detects many videos' frames in one MTCNN batch, prediction one video's: a box can move by float32 rounding,
            # which changes a few pixels by one grey level; another margin, size or crop moves nearly every pixel
            d = np.abs(crop.astype(int) - stored.astype(int))
            assert crop.shape == stored.shape and d.max() <= 2 and (d > 0).mean() < 0.01, f"{v} frame {f['frame']}: prediction's crop is not prep's ({(d > 0).mean():.1%} of values differ, by up to {d.max()})"

def test_cli_and_worker_processes_reproduce_the_runs_evaluation(demo, full_run, tmp_path):
    "The same contract through `deepfake_predict` (one process) and through `predict_videos`' worker processes."
    from deepfake_study.predict import load_detector, predict_videos
    preds, cfg = _measured(full_run, n=4)
    groups = {v: g for v, g in preds.groupby('video')}
    paths = [_raw_root(demo)/g.path.iloc[0] for g in groups.values()]
    r = subprocess.run([str(BIN/'deepfake_predict'), *map(str, paths), '--model', str(full_run), '--frames', str(cfg['prep']['frames']),
                        '--detect_every', '1', '--workers', '0'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    for l, (v, g) in zip(lines, groups.items()): assert abs(l['p_fake'] - g.p_fake.mean()) < TOL, (v, l['p_fake'], g.p_fake.mean())
    det = load_detector(full_run, 'cpu')
    for res, (v, g) in zip(predict_videos(paths, det, frames=cfg['prep']['frames'], detect_every=1, workers=2), groups.items()):
        _check_video(res, g, f'{v} (worker process)')

def test_confident_aggregation_matches_the_runs_video_scores(demo, full_run):
    "`agg='confident'` is the aggregation the study's `video_confident` level uses, on the same frames."
    from deepfake_study.predict import load_detector, predict_video
    from deepfake_study.metrics import video_scores
    preds, cfg = _measured(full_run, n=3)
    det = load_detector(full_run, 'cpu')
    want = video_scores(preds, agg='confident').set_index('video').p_fake
    for v, g in preds.groupby('video'):
        res = predict_video(_raw_root(demo)/g.path.iloc[0], det, frames=cfg['prep']['frames'], agg='confident', detect_every=1)
        assert abs(res['p_fake'] - want[v]) < TOL, (v, res['p_fake'], want[v])

def test_evaluate_run_on_reproduces_the_runs_evaluation(full_run):
    "Chapter 06's `evaluate_run_on` on the run's own prepared folder gives each test video the probability the run measured."
    from deepfake_study.generalization import evaluate_run_on
    from deepfake_study.metrics import video_scores
    from deepfake_study.runs import read_config, read_predictions
    cfg = read_config(full_run)
    got = evaluate_run_on(full_run, cfg['prepared'], n_boot=0, splits=('valid', 'test'))['preds']
    want = read_predictions(full_run)
    want = want[want.split.isin(['valid', 'test'])]
    a, b = video_scores(got).set_index('video').p_fake, video_scores(want).set_index('video').p_fake
    assert sorted(a.index) == sorted(b.index)
    assert (a - b[a.index]).abs().max() < TOL

def test_embeddings_are_the_evaluated_network(full_run):
    "Chapter 05 embeds crops with the run's network and input pipeline: its head on those embeddings gives the run's probabilities."
    import torch
    from deepfake_study.embeddings import embed_crops
    from deepfake_study.runs import load_run, read_predictions
    model, cfg = load_run(full_run)
    p = read_predictions(full_run, 'test').head(16)
    fns = [str(Path(cfg['prepared'])/c) for c in p.crop]
    X = embed_crops(model, fns, cfg['params']['size'], cfg['model']['mean'], cfg['model']['std'])
    with torch.no_grad(): pf = model.get_classifier()(torch.from_numpy(X)).softmax(-1)[:, 1].numpy()
    assert np.abs(pf - p.p_fake.to_numpy()).max() < TOL

@pytest.mark.parametrize('loader', ['pil', 'cache'])
def test_training_augmentations_are_off_at_evaluation(demo, loader):
    """The validation batches of a run trained with augmentations are the evaluation's own input: no flip, jitter or blur left on.
    They are read twice (a random augmentation would differ) and compared with `batched_forward`'s normalised tensor."""
    import torch
    from deepfake_study.data import load_faces, get_dls, DEFAULT_AUG
    from deepfake_study.models import face_pixels
    from deepfake_study.models import norm_stats
    faces = load_faces(demo['dfdc'])
    mean, std = norm_stats('resnet18')
    size = 48
    dls = get_dls(faces, size, bs=16, mean=mean, std=std, aug=DEFAULT_AUG, workers=0, device='cpu', loader=loader, prepared=demo['dfdc'])
    x1, _ = dls.valid.one_batch()
    x2, _ = dls.valid.one_batch()
    assert torch.equal(torch.as_tensor(x1), torch.as_tensor(x2)), 'validation batches differ between two reads: an augmentation is on'
    fns = list(dls.valid.items['fn'])[:len(x1)]
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    ref = (torch.from_numpy(np.stack([face_pixels(f, size) for f in fns])).permute(0, 3, 1, 2).float()/255 - m)/s
    d = float((torch.as_tensor(x1).float().cpu() - ref).abs().max())
    assert d < 1e-4, f'validation input differs from the evaluation input by {d:.3g} ({loader} loader)'
