"""The CPU classifier of `deepfake_predict`: batch norm folded into the convolutions (`predict.fold_bn`, plain PyTorch) against
the eager model and against TorchScript's trace + freeze (what prediction used until torch 2.14 deprecated it), in the same run.
Timings are interleaved round by round, so a machine whose speed drifts affects all three alike; the best of the rounds is kept.

    python benchmarks/fold.py [--batch 32] [--size 224] [--rounds 5] [--archs tf_efficientnet_lite0 resnet18]

Prints one line per architecture with the ratios, and writes benchmarks/results/fold.json (machine, date, commit, figures)."""
import argparse, json, platform, subprocess, time, warnings
from pathlib import Path
import torch, timm
from deepfake_study.predict import fold_bn, _frozen

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--rounds', type=int, default=5); ap.add_argument('--archs', nargs='+', default=['tf_efficientnet_lite0', 'resnet18'])
    a = ap.parse_args()
    out = dict(machine=f"{platform.machine()} {platform.processor() or ''} {torch.get_num_threads()} threads".strip(), torch=torch.__version__,
               date=time.strftime('%Y-%m-%dT%H:%M:%S'), batch=a.batch, size=a.size, rounds=a.rounds, archs={})
    try: out['commit'] = subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], text=True, cwd=Path(__file__).parent).strip()
    except Exception: out['commit'] = None
    for arch in a.archs:
        torch.manual_seed(0); m = timm.create_model(arch, num_classes=2).eval()
        g = torch.Generator().manual_seed(0)
        for mod in m.modules():  # trained-looking batch-norm statistics, so that folding has something to fold
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-.5, .5, generator=g); mod.running_var.uniform_(.5, 2, generator=g)
        x = torch.rand(a.batch, 3, a.size, a.size, generator=g).contiguous(memory_format=torch.channels_last)
        t = time.perf_counter(); folded = _frozen(m, a.size); t_fold = time.perf_counter() - t
        if folded is None:  # prediction would run the eager model; the folded one is still timed, and the refusal reported
            print(f'{arch}: prediction would refuse the folded network on this random model (outputs differ by more than 1e-5)')
            folded = fold_bn(m, x[:2])[0].to(memory_format=torch.channels_last)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            t = time.perf_counter(); jit = torch.jit.freeze(torch.jit.trace(m, x[:4], check_trace=False)); t_jit = time.perf_counter() - t
        nets = dict(eager=m.to(memory_format=torch.channels_last), folded=folded, jit_freeze=jit)
        best = {k: float('inf') for k in nets}
        with torch.inference_mode():
            for net in nets.values(): net(x)  # warm-up
            for _ in range(a.rounds):
                for k, net in nets.items():
                    t = time.perf_counter(); net(x); best[k] = min(best[k], time.perf_counter() - t)
        r = dict(seconds=best, setup_seconds=dict(folded=t_fold, jit_freeze=t_jit),
                 folded_vs_eager=best['eager']/best['folded'], folded_vs_jit=best['jit_freeze']/best['folded'])
        out['archs'][arch] = r
        print(f"{arch}: {a.batch} crops at {a.size} px: eager {best['eager']:.3f} s, folded {best['folded']:.3f} s, jit freeze {best['jit_freeze']:.3f} s; "
              f"folded is {r['folded_vs_eager']:.2f}x eager and {r['folded_vs_jit']:.2f}x jit freeze (setup {t_fold:.2f} s against {t_jit:.2f} s)")
    d = Path(__file__).parent/'results'; d.mkdir(exist_ok=True)
    (d/'fold.json').write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
