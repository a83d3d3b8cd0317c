"""Every chapter renders to HTML with the outputs it keeps: what the docs site (nbdev_docs, Quarto) publishes, checked here
with nbconvert since Quarto cannot be installed on these machines. Writes .cache/html/<chapter>.html."""
import json, re, sys
from pathlib import Path
from nbconvert import HTMLExporter
ROOT = Path(__file__).resolve().parents[1]
out = ROOT/'.cache'/'html'; out.mkdir(parents=True, exist_ok=True)
exp, bad, n_out = HTMLExporter(), [], 0
for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
    html, _ = exp.from_filename(str(nb))
    (out/f'{nb.stem}.html').write_text(html)
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        for o in c.get('outputs', []):
            n_out += 1
            data = o.get('data', {})
            if 'image/png' in data: key = data['image/png'][:60].strip()
            elif o.get('output_type') == 'stream': key = ''.join(o['text']).strip().split('\n')[0][:40]
            elif 'text/html' in data:
                m = re.search(r'<td>([^<]{3,})</td>', ''.join(data['text/html'])); key = m[1][:40] if m else ''
            elif 'text/markdown' in data:
                m = re.search(r'(\w{4,})', ''.join(data['text/markdown'])); key = m[1] if m else ''
            elif 'text/plain' in data: key = ''.join(data['text/plain']).strip().split('\n')[0][:40]
            else: continue
            import html as h
            if key and key not in html and h.escape(key) not in html and h.escape(key, quote=False) not in html: bad.append(f"{nb.name} cell {i}: {key[:40]!r}")
if bad: sys.exit("outputs missing from the rendered HTML:\n" + '\n'.join(bad))
print(f"{len(list(out.glob('*.html')))} chapters rendered to {out}, {n_out} kept outputs all present")
