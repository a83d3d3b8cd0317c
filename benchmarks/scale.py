"""#38: the study's bookkeeping at DFDC's size, without pixels. Builds a DFDC-layout tree of empty files (50 parts, about 5
fakes per original), then times, as CPU seconds with each step's peak RSS, every step that does not depend on pixels:
index, split, writing the per-video prep records (8 faces each, as prep writes them), a resume over all of them,
`build_tables`, loading faces.csv, the loader's crop index, and the report's tables over a grid of runs' predictions.
Runs at 1/16, 1/4 and full size (each size in its own process, so each peak is its own) and shows that the cost grows
linearly: the last column is seconds per 1,000 videos. Goals at full size, on this 2-core machine: index + split
<= 10 s, every other step <= 30 s, peak <= 4 GB. Writes benchmarks/results/scale.json.

    python benchmarks/scale.py [--videos 119154] [--fractions 0.0625,0.25,1] [--root DIR] [--runs 8]"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

def make_dfdc(root:Path, n_videos:int, parts:int=50, fakes_per:int=5)->Path:
    "A DFDC-layout tree: `parts` part folders of empty .mp4 files and their metadata.json, about `fakes_per` fakes per original."
    n_orig = max(parts, round(n_videos/(fakes_per+1)))
    for p in range(parts):
        d = root/f'dfdc_train_part_{p}'; d.mkdir(parents=True, exist_ok=True)
        meta = {}
        for o in range(p, n_orig, parts):
            on = f'o{o:06d}.mp4'; meta[on] = dict(label='REAL', split='train', original=None)
            for k in range(fakes_per): meta[f'f{o:06d}_{k}.mp4'] = dict(label='FAKE', split='train', original=on)
        for name in meta: open(d/name, 'wb').close()
        (d/'metadata.json').write_text(json.dumps(meta))
    return root

def _peak_reset():
    "Start a step's peak RSS from now (Linux: writing 5 to clear_refs resets VmHWM)."
    try: Path('/proc/self/clear_refs').write_text('5')
    except OSError: pass

def _peak()->int: return int(re.search(r'VmHWM:\s+(\d+)', Path('/proc/self/status').read_text())[1])*1024

def _runs(root:Path, index, n_runs:int):
    "A runs folder of `n_runs` finished runs, each with metrics and video-level predictions on the holdout."
    import numpy as np, pandas as pd
    from deepfake_study.core import save_json
    test = index[index.split == 'test']
    rng = np.random.default_rng(0)
    for i in range(n_runs):
        d = root/f"finetune-resnet18-{'sgd' if i % 2 else 'adam'}-lr{10**-(1+i//2):g}"; d.mkdir(parents=True)
        y = test.label.to_numpy(); p = np.clip(y*0.3 + rng.random(len(y))*0.7, 0, 1)
        pd.DataFrame(dict(video=test.video.to_numpy(), label=y, p_fake=p, split='test')).to_csv(d/'predictions.csv', index=False)
        split = lambda a: {'video_mean': dict(auc=a, log_loss=0.6, accuracy=0.6, majority_accuracy=0.5, balanced_accuracy=0.6,
                                              n=len(y), ci={'auc': [a-0.01, a+0.01]}), 'frame': {'auc': a},
                           'at_valid_threshold': dict(threshold=0.5, n_real=int((y == 0).sum()), n_fake=int((y == 1).sum()))}
        save_json(dict(status='done', params=dict(arch='resnet18', mode='finetune', opt='sgd' if i % 2 else 'adam', lr=10**-(1+i//2),
                                                  fakes='dataset', seed=42)), d/'config.json')
        save_json(dict(splits={'valid': split(0.7+i/100), 'test': split(0.7)}), d/'metrics.json')

def one(n_videos:int, root:Path, n_runs:int)->dict:
    "Every step at one size, in this process."
    import numpy as np, pandas as pd
    from deepfake_study.core import save_json
    from deepfake_study.layouts import index_videos, split_videos
    from deepfake_study.data_prep import _record_path, videos_to_do, build_tables
    from deepfake_study.prepared import load_faces
    from deepfake_study.data import crop_rows
    from deepfake_study.report import collect_runs, results_table, study_summary
    t = time.time(); make_dfdc(root/'dfdc', n_videos); built = time.time()-t
    steps, out = {}, root/'prep'
    def step(name, f):
        _peak_reset(); c = time.process_time(); w = time.perf_counter()
        r = f()
        steps[name] = dict(cpu_s=round(time.process_time()-c, 3), wall_s=round(time.perf_counter()-w, 3), peak_rss_bytes=_peak())
        return r
    idx = step('index', lambda: index_videos(root/'dfdc', 'dfdc'))
    idx = step('split', lambda: split_videos(idx, valid=0.15, test=0.15, seed=42))
    def records():
        for r in idx.to_dict('records'):
            faces = [dict(frame=f*37, face=0, box='[10.5, 20.5, 110.5, 140.5]', prob=0.9991, landmarks=json.dumps([[1.5, 2.5]]*5),
                          crop=f"faces/{r['video']}/{f*37:05d}_0.jpg", bytes=13700) for f in range(8)]
            save_json(dict(r, status='ok', n_frames=8, n_faces=8, message='', faces=faces), _record_path(out, r['video']), indent=None, durable=False)
    step('records', records)
    todo = step('resume', lambda: videos_to_do(idx, out))
    assert todo == [], len(todo)
    videos, faces = step('build_tables', lambda: build_tables(out, idx))
    (out/'prep.json').write_text(json.dumps(dict(size=256, margin=0.33)))
    f = step('load_faces', lambda: load_faces(out))
    def loader_index():
        tv = f[f.split.isin(['train', 'valid'])]
        rows = crop_rows(tv.crop.tolist())
        return rows[tv[tv.split == 'train'].crop].to_numpy()
    r = step('loader_index', loader_index)
    assert len(r) == int((f.split == 'train').sum())
    _runs(root/'runs', idx, n_runs)
    def report():
        df = collect_runs(root/'runs')
        return results_table(df), study_summary(df.assign(valid_auc=df.get('valid_auc')), root/'runs')
    step('report_tables', report)
    return dict(videos=len(idx), crops=len(f), runs=n_runs, tree_seconds=round(built, 1), steps=steps,
                peak_rss_bytes=max(s['peak_rss_bytes'] for s in steps.values()))

GOALS = dict(index_split=10, other=30, peak_gb=4)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--videos', type=int, default=119154)
    ap.add_argument('--fractions', default='0.0625,0.25,1'); ap.add_argument('--root', default=None)
    ap.add_argument('--runs', type=int, default=8); ap.add_argument('--one', type=int, default=None)
    ap.add_argument('--save', action='store_true', help='write benchmarks/results/scale.json'); a = ap.parse_args()
    if a.one is not None:  # a child: one size, its figures as JSON on the last line
        print(json.dumps(one(a.one, Path(a.root), a.runs))); sys.exit(0)
    base = Path(a.root or tempfile.mkdtemp(prefix='scale-'))
    res = []
    for fr in [float(x) for x in a.fractions.split(',')]:
        n = round(a.videos*fr); root = base/f'n{n}'
        shutil.rmtree(root, ignore_errors=True); root.mkdir(parents=True)
        r = subprocess.run([sys.executable, __file__, '--one', str(n), '--root', str(root), '--runs', str(a.runs)], capture_output=True, text=True)
        if r.returncode: sys.exit(f"the run at {n} videos failed:\n{r.stderr[-3000:]}")
        res.append(dict(json.loads(r.stdout.strip().splitlines()[-1]), fraction=fr))
        shutil.rmtree(root, ignore_errors=True)
        s = res[-1]
        print(f"{s['videos']:>7,} videos, {s['crops']:>9,} crop rows, {s['runs']} runs; peak {s['peak_rss_bytes']/1e9:.2f} GB")
        for k, v in s['steps'].items():
            print(f"   {k:<14} {v['cpu_s']:8.2f} s CPU  {v['wall_s']:8.2f} s wall  peak {v['peak_rss_bytes']/1e9:5.2f} GB  "
                  f"{1000*v['cpu_s']/s['videos']:.3f} s per 1,000 videos")
    small, full = res[0], res[-1]
    growth = {k: (full['steps'][k]['cpu_s']/max(small['steps'][k]['cpu_s'], 1e-3))/(full['videos']/small['videos']) for k in full['steps']}
    print(f"growth from {small['videos']:,} to {full['videos']:,} videos, as a multiple of linear (1.0 = linear):")
    print('   ' + ', '.join(f"{k} {v:.2f}" for k, v in growth.items()))
    fs = full['steps']
    checks = {'index + split <= 10 s': fs['index']['cpu_s'] + fs['split']['cpu_s'] <= GOALS['index_split'],
              **{f'{k} <= 30 s': v['cpu_s'] <= GOALS['other'] for k, v in fs.items() if k not in ('index', 'split')},
              'peak <= 4 GB': full['peak_rss_bytes'] <= GOALS['peak_gb']*1e9}
    for k, ok in checks.items(): print(f"goal {k}: {'met' if ok else 'NOT met'}")
    if a.save:
        sys.path.insert(0, str(Path(__file__).parent)); from results import save_result
        save_result('scale', dict(runs=[dict(videos=r['videos'], crops=r['crops'], peak_rss_bytes=r['peak_rss_bytes'], steps=r['steps'],
                                             fraction=r['fraction']) for r in res], growth_vs_linear=growth, goals=checks),
                    command=' '.join(['python', *sys.argv]), note='CPU seconds per step; each size in its own process')
