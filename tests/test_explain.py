"""#31: `deepfake_predict --explain DIR` writes, per video, a self-contained page a person can open and check, and its JSON;
the page's verdict is the prediction's, its Grad-CAM is not blank, and a real browser draws its timeline and face strip."""
import base64, json, os, re, subprocess, sys
from pathlib import Path
import numpy as np, cv2, pytest
BIN = Path(sys.executable).parent

@pytest.fixture(scope='module')
def explained(demo, tiny_run, tmp_path_factory):
    "A demo fake, a demo real and an unreadable file, explained by the command line with a trained demo run."
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    fake = src/next(k for k, e in meta.items() if e['label'] == 'FAKE'); real = src/next(k for k, e in meta.items() if e['label'] == 'REAL')
    d = tmp_path_factory.mktemp('explain'); bad = d/'broken.mp4'; bad.write_text('not a video\n'*20)
    out = d/'pages'
    r = subprocess.run([str(BIN/'deepfake_predict'), fake, real, bad, '--model', tiny_run, '--frames', '8', '--explain', out],
                       capture_output=True, text=True)
    lines = {Path(l['path']).name: l for l in map(json.loads, r.stdout.splitlines())}
    return dict(fake=fake, real=real, bad=bad, out=out, lines=lines, rc=r.returncode, stderr=r.stderr)

def _page(ex, video):
    from deepfake_study.explain import _page_name
    return ex['out']/f"{_page_name(video)}.html"

def _imgs(html): return re.findall(r"<img[^>]*src='([^']*)'", html)

def _decode(uri):
    assert re.match(r'data:image/(png|jpeg);base64,', uri), uri[:40]
    return cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(',', 1)[1]), np.uint8), cv2.IMREAD_COLOR)

def test_pages_are_self_contained_and_agree_with_the_prediction(explained):
    ex = explained
    assert ex['rc'] == 1, ex['stderr'][-2000:]  # the broken file is not scored; the two videos are
    for v in (ex['fake'], ex['real']):
        line, page = ex['lines'][v.name], _page(ex, v)
        html = page.read_text()
        um = os.umask(0o022); os.umask(um)  # a page to share: as readable as any file the user writes, not 0600
        assert page.stat().st_mode & 0o777 == 0o666 & ~um and (ex['out']/'index.html').stat().st_mode & 0o777 == 0o666 & ~um
        assert 'http://' not in html and 'https://' not in html
        imgs = _imgs(html)
        assert imgs and all(re.match(r'data:image/(png|jpeg);base64,', u) for u in imgs)
        assert len(html) < 600_000  # small JPEG faces: a page of 8 frames is not megabytes
        j = json.loads(page.with_suffix('.json').read_text())
        assert line['status'] == j['status'] == 'ok' and line['label'] == j['label'] and abs(line['p_fake'] - j['p_fake']) < 1e-9
        assert f"{line['p_fake']:.3f}" in html and line['label'].upper() in html
        assert j['run']['arch'] and j['p_fake_ci'] is None or j['p_fake_ci'][0] <= j['p_fake'] <= j['p_fake_ci'][1]
        cams = re.search(r"id='gradcam'>(.*?)</div>", html, re.S)[1]
        for u in _imgs(cams): assert _decode(u).std() > 5  # a heatmap over a face, not a blank square
        # and the heatmap itself is neither flat nor everywhere: some of the face, not none or all of it
        assert len(j['grad_cam']) == 2 and all(0 < c['cam_area'] < 1 for c in j['grad_cam']), j['grad_cam']
    index = (ex['out']/'index.html').read_text()
    ps = [float(x) for x in re.findall(r'<td>(0\.\d{3})</td>', index)]
    assert len(ps) == 2 and ps == sorted(ps, reverse=True) and 'broken.mp4' in index

def test_a_video_not_scored_still_gets_a_page_that_says_why(explained):
    html = _page(explained, explained['bad']).read_text()
    assert explained['lines']['broken.mp4']['status'] == 'unreadable'
    assert 'not scored' in html and 'unreadable' in html and 'cannot be opened' in html

def test_the_page_in_a_real_browser(explained, tmp_path):
    "Headless Chromium draws the page: a non-blank screenshot, the timeline image and every face of the strip loaded."
    from browser import dump_dom, screenshot
    page = tmp_path/'page.html'
    probe = ("<script>window.addEventListener('load', () => { const i = [...document.images];"
             "document.body.setAttribute('data-loaded', i.filter(x => x.complete && x.naturalWidth > 0).length + '/' + i.length);"
             "const t = document.getElementById('timeline'); document.body.setAttribute('data-timeline', t ? t.naturalWidth : 0);"
             "document.body.setAttribute('data-strip', document.querySelectorAll('#strip img').length); });</script>")
    from deepfake_study.explain import CSP
    html = _page(explained, explained['fake']).read_text()
    assert f'content="{CSP}"' in html  # the page itself runs no script; this copy lifts that for the test's own probe
    page.write_text(html.replace(f'content="{CSP}"', 'content=""').replace('</body>', probe + '</body>'))
    dom = dump_dom(page)
    loaded = re.search(r'data-loaded="(\d+)/(\d+)"', dom)
    assert loaded and loaded[1] == loaded[2] and int(loaded[2]) > 2, dom[-500:]
    assert int(re.search(r'data-timeline="(\d+)"', dom)[1]) > 100 and int(re.search(r'data-strip="(\d+)"', dom)[1]) >= 1
    png = cv2.imread(str(screenshot(page, tmp_path/'shot.png', size=(1000, 1400))))
    assert png is not None and png.std() > 10 and (png < 200).mean() > 0.02  # drawn, not a blank white page

def test_predict_video_explain_in_python(demo, tiny_run):
    "`predict_video(..., explain=True)` gives the same prediction with an `Explanation` that a notebook shows inline; without it, none."
    from deepfake_study.predict import load_detector, predict_video
    det = load_detector(tiny_run, 'cpu')
    v = sorted((demo['raw']/'dfdc'/'dfdc_train_part_0').glob('*.mp4'))[0]
    a, b = predict_video(v, det, frames=8), predict_video(v, det, frames=8, explain=True)
    assert 'explanation' not in a and 'crops' not in b and abs(a['p_fake'] - b['p_fake']) < 1e-9
    assert "id='verdict'" in b['explanation']._repr_html_()
