"""Write README.md from nbs/index.ipynb, without the notebook's machinery: no `#|` lines, no training progress, tables as
Markdown that GitHub draws, every fence with its language. (nbdev_readme needs Quarto; nbconvert's Markdown keeps all
of that machinery.)

    python .ci/readme.py            # writes README.md
    python .ci/readme.py --check    # exits 1 where README.md differs from what it would write"""
import html, json, re, sys
from html.parser import HTMLParser
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
# fastai's epoch list, printed where its progress bar is off: `[0, 0.68, 0.69, 0.64, 0.57, '00:02']`
PROGRESS = re.compile(r"^\[\d+(, [-\d.e]+|, nan)*, '\d\d:\d\d'\]$")

class _Table(HTMLParser):
    "The cells of an HTML table (pandas' `to_html`), row by row; a `<style>` block is skipped."
    def __init__(self): super().__init__(); self.rows, self.cell, self.style = [], None, False
    def handle_starttag(self, tag, attrs):
        if tag == 'style': self.style = True
        elif tag == 'tr': self.rows.append([])
        elif tag in ('td', 'th'): self.cell = ''
    def handle_endtag(self, tag):
        if tag == 'style': self.style = False
        elif tag in ('td', 'th') and self.cell is not None: self.rows[-1].append(self.cell.strip()); self.cell = None
    def handle_data(self, data):
        if self.cell is not None and not self.style: self.cell += data

def md_table(page:str)->str:
    "A pandas HTML table as a GitHub Markdown table (the index column kept, a multi-row header joined into one)."
    t = _Table(); t.feed(page)
    rows = [r for r in t.rows if r]
    width = max(map(len, rows))
    head = [r for r in rows[:2] if len(r) == width or not any(r[1:])][:1] or [rows[0]]
    body = rows[len(head):]
    if body and not any(body[0][1:]): body = body[1:]  # pandas' row of the index's name
    esc = lambda s: html.escape(s, quote=False).replace('|', '\\|')
    line = lambda r: '| ' + ' | '.join(esc(c) for c in r + [''] * (width - len(r))) + ' |'
    return '\n'.join([line(head[0]), '|' + '---|' * width, *map(line, body)])

def outputs(cell:dict)->list:
    "Each output as Markdown: a table, or the text in a `text` fence; stderr, progress and images are left out."
    out = []
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream':
            if o.get('name') != 'stdout': continue
            text = '\n'.join(l for l in ''.join(o['text']).splitlines() if not PROGRESS.match(l.strip())).strip()
        elif o['output_type'] in ('execute_result', 'display_data'):
            d = o.get('data', {})
            if '<table' in ''.join(d.get('text/html', '')): out.append(md_table(''.join(d['text/html']))); continue
            if 'text/markdown' in d: out.append(''.join(d['text/markdown']).strip()); continue
            text = ''.join(d.get('text/plain', '')).strip()
        else: continue
        if text: out.append(f"```text\n{text}\n```")
    return out

def readme(nb:Path=ROOT/'nbs'/'index.ipynb')->str:
    parts = []
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.strip()); continue
        if c['cell_type'] != 'code': continue
        code = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#|')).strip()
        if src.lstrip().startswith(('#| hide', '#|hide')) or not code: continue
        parts += [f"```python\n{code}\n```", *outputs(c)]
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, fn = readme(), ROOT/'README.md'
    if '--check' in sys.argv:
        if fn.read_text() != text: sys.exit('README.md drifted from nbs/index.ipynb: regenerate it with python .ci/readme.py')
    else: fn.write_text(text); print('README.md written')
