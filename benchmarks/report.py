"""Time per stage of the whole study: `deepfake_report` run cold (demo data built and prepared from nothing, in fresh
data/cache folders), then rerun at once (the resume path: nothing is retrained). Prints every stage's and every run's
seconds, the cold total against the 15-minute goal of the quick study, and the warm rerun against the cold run;
writes benchmarks/results/report.json (what the README quotes).

    python benchmarks/report.py [--config configs/quick.yaml] [--keep DIR]"""
import argparse, os, sys, json, time, tempfile, subprocess
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from results import save_result

ROOT = Path(__file__).resolve().parents[1]

def run(config, work):
    env = dict(os.environ, DEEPFAKE_DATA=str(work/'data'), DEEPFAKE_CACHE=str(work/'cache'), DEEPFAKE_RUNS=str(work/'runs'), HF_HUB_OFFLINE='1')
    t = time.perf_counter()
    r = subprocess.run([str(Path(sys.executable).parent/'deepfake_report'), '--config', str(config), '--out', str(work/'report')],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter()-t
    if r.returncode: sys.exit(f"deepfake_report failed:\n{(r.stdout+r.stderr)[-3000:]}")
    return wall, json.loads((work/'report'/'study.json').read_text())

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--config', default=str(ROOT/'configs'/'quick.yaml'))
    ap.add_argument('--keep', default=None, help='work folder to keep (default: a temporary one)')
    ap.add_argument('--goal', type=float, default=900, help='seconds the cold run should take at most')
    a = ap.parse_args()
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix='deepfake-report-bench-'))
    if (work/'report').exists() or (work/'data').exists(): sys.exit(f"{work} is not empty: a cold run needs fresh folders")
    print(f"work folder: {work}  (cpu cores: {os.cpu_count()})")
    cold, s = run(a.config, work)
    print(f"\ncold run: {cold:.0f} s wall")
    for k, v in s['stages_seconds'].items(): print(f"  stage {k:<15} {v:8.1f} s")
    for k, v in s.get('run_seconds', {}).items(): print(f"    {k:<45} {v:8.1f} s  ({s['status'][k]})")
    warm, s2 = run(a.config, work)
    print(f"\nwarm rerun: {warm:.0f} s wall; statuses: {sorted(set(s2['status'].values()))}")
    for k, v in s2['stages_seconds'].items(): print(f"  stage {k:<15} {v:8.1f} s")
    print(f"\ncold / goal ({a.goal:.0f} s): {cold/a.goal:.2f}x  ({'met' if cold <= a.goal else 'MISSED'})")
    print(f"warm rerun / cold run: {warm/cold:.2f}x")
    save_result('report', dict(cold_seconds=round(cold, 1), warm_seconds=round(warm, 1), goal_seconds=a.goal,
                               cold_stages=s['stages_seconds'], warm_stages=s2['stages_seconds'], run_seconds=s.get('run_seconds', {})),
                config=Path(a.config).name)
