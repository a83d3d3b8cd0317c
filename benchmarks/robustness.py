"""What the robustness protocol (chapter 06a) costs: seconds per video for each perturbation at one level, against the
clean re-encode (the baseline, measured in the same run on the same videos), and what that makes a study's protocol cost
at its real size (videos x 36 sets per run: the clean row and seven kinds at five levels), before prep and scoring.

    python benchmarks/robustness.py [VIDEO ...] [--level 3] [--out benchmarks/results/robustness-cpu.json]

VIDEO defaults to the real 10 s DFDC clips of ../shared/data/samples (1080p), else FF++ c23 clips of the rebuilt real set.
Every kind runs on every video, one after another in this process (x264's own threads as it sets them)."""
import argparse, json, os, platform, tempfile, time
from pathlib import Path
from deepfake_study.core import VIDEO_EXTS, study_dir
from deepfake_study.robustness import KINDS, CLEAN, perturb_video

ROOT = Path(__file__).resolve().parents[1]
# test-split videos of the datasets the study configs use (FF++ c23: the official split's 140 test identities, their
# originals and four manipulations, 700 videos; DFDC: the 15% identity-grouped holdout of its 119,154 videos)
SIZES = {'ffpp test split (700 videos)': 700, 'dfdc holdout (about 17,900 videos)': 17_900}

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('videos', nargs='*'); ap.add_argument('--level', type=int, default=3)
    ap.add_argument('--max', type=int, default=3); ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'robustness-cpu.json'))
    a = ap.parse_args()
    cands = [Path(v) for v in a.videos] or sorted((ROOT.parent/'shared'/'data'/'samples').rglob('*.mp4')) \
            or sorted((study_dir('data')/'real'/'ffpp').rglob('*.mp4'))
    fns = [f for f in cands if f.suffix.lower() in VIDEO_EXTS][:a.max]
    if not fns: raise SystemExit("no videos: name some, or rebuild ../shared/data/real")
    kinds = [CLEAN, *KINDS]
    secs, info = {k: [] for k in kinds}, []
    with tempfile.TemporaryDirectory() as tmp:
        for fn in fns:
            for k in kinds:
                t = time.perf_counter(); r = perturb_video(fn, Path(tmp)/f'{k}.mp4', k, None if k == CLEAN else a.level)
                secs[k].append(time.perf_counter() - t)
            info.append(dict(video=fn.name, frames=r['frames'], size=f"{r['width']}x{r['height']}", fps=r['fps']))
            print(f"{fn.name}: {r['frames']} frames {r['width']}x{r['height']}: " + ', '.join(f"{k} {secs[k][-1]:.1f}s" for k in kinds))
    mean = {k: sum(v)/len(v) for k, v in secs.items()}
    ratio = {k: mean[k]/mean[CLEAN] for k in kinds}
    per_run = mean[CLEAN] + sum(mean[k] for k in KINDS)*5  # each kind at five levels, taken at the measured level
    print(f"\nseconds per video (mean of {len(fns)}), and the ratio to the clean re-encode:")
    for k in kinds: print(f"  {k:12s} {mean[k]:7.1f} s   x{ratio[k]:.2f}")
    est = {n: round(v*per_run/3600, 1) for n, v in SIZES.items()}
    print(f"\nthe protocol, perturbing only (no prep, no scoring), per run: {per_run:.0f} s per video; " +
          '; '.join(f"{n}: {h} CPU-hours" for n, h in est.items()))
    res = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform()), level=a.level, videos=info,
               seconds_per_video=mean, ratio_to_clean=ratio, protocol_seconds_per_video_per_run=per_run,
               protocol_hours_per_run=est)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=2) + '\n')
    print(f"wrote {a.out}")
