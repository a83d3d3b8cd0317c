"""Seconds per video for `predict_video` (plain, and with `explain=True`: the page `deepfake_predict --explain` writes) (and the pipelined `predict_videos` that `deepfake_predict` uses) on CPU or GPU, split into decode, face detection and classification, for
tf_efficientnet_lite0 and resnet18, against the goal of 3 s per 10-second 1080p video with 32 frames.

    python benchmarks/predict.py [VIDEO_DIR] [--frames 32] [--size 224] [--device cpu] [--arch tf_efficientnet_lite0 resnet18]

Each model runs twice in the same run: detecting faces on every sampled frame (as data prep does) and on every 4th with
boxes carried between (predict's default), so the speed-up is a ratio measured side by side.

VIDEO_DIR defaults to ../shared/data/samples/dfdc/videos (real 10 s DFDC clips, mostly 1080p). The models carry random
weights: speed does not depend on what they learned. The baseline in the same run is the naive path (every frame detected
at full resolution, one at a time) measured by benchmarks/prep.py."""
import argparse, json, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
from safetensors.torch import save_file
from deepfake_study.core import save_json, env_info
from deepfake_study.models import create_model
from deepfake_study.predict import load_detector, predict_video, predict_videos, predict_workers, POOL_MIN_VIDEOS
from deepfake_study.faces import box_iou

def fake_run(arch, size, d):
    "A run folder holding an untrained model, enough for timing."
    model, info = create_model(arch, pretrained=False)
    d.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k,v in model.state_dict().items()}, str(d/'model.safetensors'))
    save_json(dict(status='done', params=dict(size=size), model=info, prep=dict(size=256, margin=0.33, detect_max=960, min_prob=0.9, retry_full=True)), d/'config.json')
    return d

if __name__ == '__main__':  # worker processes import this file: everything runs under the guard
    ap = argparse.ArgumentParser(); ap.add_argument('videos', nargs='?'); ap.add_argument('--frames', type=int, default=32)
    ap.add_argument('--size', type=int, default=224); ap.add_argument('--device', default='cpu')
    ap.add_argument('--arch', nargs='+', default=['tf_efficientnet_lite0', 'resnet18'], help='classifiers to time')
    ap.add_argument('--workers', type=int, help="predict_videos' workers: processes on a CPU, decoding threads on a GPU (default: predict_workers for a long list, as deepfake_predict: one process per core, at most 4, on a CPU; decoding threads on a GPU)"); a = ap.parse_args()
    d = Path(a.videos) if a.videos else Path(__file__).resolve().parents[1].parent/'shared'/'data'/'samples'/'dfdc'/'videos'
    fns = sorted(d.rglob('*.mp4'))
    if not fns: raise SystemExit(f"no videos in {d}")
    print(f"{len(fns)} videos from {d}, {a.frames} frames, classifier input {a.size}px, torch threads={torch.get_num_threads()}")
    tmp = Path(tempfile.mkdtemp())
    goal = 3.0 if a.device=='cpu' else 0.5
    figures = {}
    for arch in a.arch:
        det = load_detector(fake_run(arch, a.size, tmp/arch), a.device)
        predict_video(fns[0], det, frames=4)  # warm-up: model and MTCNN load
        res = {}
        for every in (1, 4):
            rows = []
            for fn in fns:
                t = time.perf_counter(); r = predict_video(fn, det, frames=a.frames, detect_every=every); tot = time.perf_counter()-t
                rows.append(dict(total=tot, **r['seconds'], faces=r['faces_found'], detected=r['frames_detected'], p=r['p_fake'], status=r['status'],
                                 boxes={f['frame']: f['box'] for f in r['frame_probs']}))
            # a video without a face has no classify time (and one that does not decode, no detect time): stages average over the videos that reached them
            m = res[every] = {k: float(np.mean([r[k] for r in rows if k in r])) for k in ('total','decode','detect','classify','faces','detected')}
            bad = [f"{fn.name}: {r['status']}" for fn, r in zip(fns, rows) if r['status']!='ok']
            res[every].update(p=[r['p'] for r in rows], boxes=[r['boxes'] for r in rows])
            print(f"{arch:22s} detect_every={every}: {m['total']:.2f} s/video (decode {m['decode']:.2f}, detect {m['detect']:.2f}, classify {m['classify']:.2f}); "
                  f"{m['total']/goal:.2f}x the {goal:g} s goal; faces/video {m['faces']:.1f}, frames detected/video {m['detected']:.1f}" + (f"; not ok: {', '.join(bad)}" if bad else ''))
        # --explain: the same prediction, plus the page a person can check (timeline, face strip, Grad-CAM on two frames)
        t_ex = []
        for fn in fns:
            t = time.perf_counter(); r = predict_video(fn, det, frames=a.frames, explain=True); r['explanation'].to_html(); t_ex.append(time.perf_counter()-t)
        res['explain'] = float(np.mean(t_ex))
        print(f"{arch:22s} --explain: {res['explain']:.2f} s/video against {res[4]['total']:.2f} s plain ({res['explain']/res[4]['total']:.2f}x)")
        dp = np.nanmax(np.abs(np.array(res[4]['p'], float) - np.array(res[1]['p'], float)))
        # where sparse detection put the scored face, against detection on that very frame
        iou = np.array([box_iou([a[k]], [b[k]])[0, 0] for a, b in zip(res[4]['boxes'], res[1]['boxes']) for k in a if k in b])
        print(f"{arch:22s} sparse detection: {res[1]['total']/res[4]['total']:.2f}x faster, faces found {res[4]['faces']/max(res[1]['faces'],1e-9):.3f}x, "
              f"largest change of a video's p_fake {dp:.3f}; scored face's box vs detecting that frame: IoU mean {iou.mean():.3f}, "
              f"below 0.5 on {np.mean(iou < 0.5)*100:.1f}% of {len(iou)} frames")
        # the command line's path for a batch: on a CPU, worker processes score whole videos; on a GPU, the next videos decode in threads
        w = a.workers if a.workers is not None else predict_workers(det.device, POOL_MIN_VIDEOS)  # what a batch gets, even for a few clips: its speed is what is measured
        kind = ('process(es)' if w > 1 else 'in-process') if det.device.type=='cpu' else ('decoding thread(s)' if w else 'in-process')
        t = time.perf_counter(); n = sum(1 for _ in predict_videos(fns, det, frames=a.frames, workers=w)); tot = (time.perf_counter()-t)/n
        print(f"{arch:22s} predict_videos, {w} {kind}: {tot:.2f} s/video over {n} videos, start-up included ({res[4]['total']/tot:.2f}x one at a time); "
              f"{tot/goal:.2f}x the {goal:g} s goal")
        figures[arch] = dict(every_frame_s=round(res[1]['total'], 3), sparse_s=round(res[4]['total'], 3), sparse_speedup=round(res[1]['total']/res[4]['total'], 2),
                             stages_s={k: round(res[4][k], 3) for k in ('decode', 'detect', 'classify')}, pooled_s=round(tot, 3), pooled_workers=w,
                             largest_p_change=round(float(dp), 4), goal_s=goal,
                             explain_s=round(res['explain'], 3), explain_vs_plain=round(res['explain']/res[4]['total'], 2))
    sys.path.insert(0, str(Path(__file__).parent)); from results import save_result
    save_result(f'predict-{a.device}', figures, videos=len(fns), video_dir=d.name, frames=a.frames, size=a.size)
