"""#31: `deepfake_predict --explain DIR` writes, per video, a self-contained page a person can open and check, and its JSON;
the page's verdict is the prediction's, its Grad-CAM is not blank, and a real browser draws its timeline and face strip."""
import base64, json, os, re, shutil, subprocess, sys
from pathlib import Path
import numpy as np, cv2, pytest
from conftest import BIN

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
        assert f"{line['p_fake']:.3f}" in html and f"labelled {line['label']}" in html and line['grade'] == j['grade']
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

# --- #37 cases 4 to 7: the edges of --explain, and a verdict resting on one frame
from conftest import face_frames as _face_frames, avi as _avi

def _demo_clips(demo, n=2):
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    return sorted(src.glob('*.mp4'))[:n]

def test_explain_never_overwrites_a_users_index(demo, tiny_run, tmp_path):
    "--explain into a folder holding the user's own index.html is refused (rc 2), as deepfake_report refuses its --out."
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'index.html').write_text('<p>my page</p>')
    r = subprocess.run([str(BIN/'deepfake_predict'), _demo_clips(demo, 1)[0], '--model', tiny_run, '--frames', '2', '--explain', mine],
                       capture_output=True, text=True)
    assert r.returncode == 2 and 'did not write (index.html)' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-800:]
    assert (mine/'index.html').read_text() == '<p>my page</p>' and [p.name for p in mine.iterdir()] == ['index.html']
    # a folder it wrote itself is written again
    out = tmp_path/'pages'
    for _ in range(2):
        r = subprocess.run([str(BIN/'deepfake_predict'), _demo_clips(demo, 1)[0], '--model', tiny_run, '--frames', '2', '--explain', out],
                           capture_output=True, text=True)
        assert r.returncode in (0, 1) and r.stdout.strip(), r.stderr[-800:]

def test_a_legal_long_multibyte_name_gets_its_page(demo, tiny_run, tmp_path):
    "A 247-byte video name of 3-byte characters: scored, its page and index written, as the plain path scores it."
    long = tmp_path/('日'*81 + '.mp4'); assert len(long.name.encode()) == 247
    shutil.copy(_demo_clips(demo, 1)[0], long)
    out = tmp_path/'pages'
    r = subprocess.run([str(BIN/'deepfake_predict'), long, '--model', tiny_run, '--frames', '4', '--explain', out], capture_output=True, text=True)
    assert r.returncode in (0, 1) and 'Traceback' not in r.stderr, r.stderr[-1500:]
    line = json.loads(r.stdout); assert line['p_fake'] is not None, line
    pages = [p for p in out.glob('*.html') if p.name != 'index.html']
    assert len(pages) == 1 and all(len(p.name.encode()) <= 255 for p in out.iterdir())
    assert long.name in (out/'index.html').read_text()

def _run_cli(videos:list, **kw)->int:
    "deepfake_predict in this process (so a test can make a page's write fail), its exit status."
    from deepfake_study.predict import deepfake_predict
    with pytest.raises(SystemExit) as e: deepfake_predict(inputs=[str(v) for v in videos], **kw)
    return e.value.code

def test_a_page_that_cannot_be_written_is_that_videos_problem(demo, tiny_run, tmp_path, monkeypatch, capsys):
    "A full disk while the first page is written: every video still gets its line, the first says why it has no page, rc 1, and the index lists the page written."
    import errno
    from deepfake_study.explain import Explanation
    save, calls = Explanation.save, []
    def full_once(self, folder):
        calls.append(1)
        if len(calls) == 1: raise OSError(errno.ENOSPC, 'No space left on device')
        return save(self, folder)
    monkeypatch.setattr(Explanation, 'save', full_once)
    a, b = _demo_clips(demo, 2); out = tmp_path/'pages'
    rc = _run_cli([a, b], model=str(tiny_run), frames=2, explain=str(out))
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert rc == 1 and [Path(l['path']).name for l in lines] == [a.name, b.name], lines
    assert 'page not written: No space left on device' in lines[0]['message'] and 'page not written' not in lines[1]['message']
    index = (out/'index.html').read_text()
    assert b.name in index and a.name not in index

def test_ctrl_c_still_writes_the_index_of_the_pages_written(demo, tiny_run, tmp_path, monkeypatch, capsys):
    import deepfake_study.predict as P
    pv, seen = P.predict_video, []
    def interrupted(path, *a, **k):
        seen.append(path)
        if len(seen) == 2: raise KeyboardInterrupt
        return pv(path, *a, **k)
    monkeypatch.setattr(P, 'predict_video', interrupted)
    a, b = _demo_clips(demo, 2); out = tmp_path/'pages'
    with pytest.raises(KeyboardInterrupt): _run_cli([a, b], model=str(tiny_run), frames=2, explain=str(out))
    assert len(capsys.readouterr().out.splitlines()) == 1
    index = (out/'index.html').read_text()
    assert a.name in index and b.name not in index

def test_a_face_in_one_of_eight_frames_is_partial_in_prediction_and_prep(demo, tiny_run, tmp_path):
    "A clip with a face only at its start: 8 frames read, 1 with a face. Prediction and prep both say 'partial', with the same reason."
    from deepfake_study.predict import load_detector, predict_video
    from deepfake_study.data_prep import prepare_dataset
    _, frs = _face_frames(demo, 64)
    frames = frs[:6] + [np.zeros_like(f) for f in frs[6:]]
    d = tmp_path/'ds'; (d/'real').mkdir(parents=True); (d/'fake').mkdir()
    one = _avi(d/'real'/'one_face.avi', frames)
    for i, k in enumerate(_demo_clips(demo, 3)): shutil.copy(k, d/('fake' if i else 'real')/k.name)
    res = predict_video(one, load_detector(tiny_run, 'cpu'), frames=8)
    assert res['frames_read'] == 8 and len(res['frame_probs']) == 1, (res['frames_read'], res['frame_probs'])
    assert res['status'] == 'partial' and 'a face in only 1 of the 8 frames read' in res['message'] and res['p_fake'] is not None, res
    prepare_dataset(d, tmp_path/'prep', layout='folder', frames=8, size=48, valid=0.25, test=0.25, progress=False, workers=0)
    import pandas as pd
    v = pd.read_csv(tmp_path/'prep'/'videos.csv').set_index('path')
    row = v.loc[next(p for p in v.index if p.endswith('one_face.avi'))]
    assert row.status == 'partial' and 'a face in only 1 of the 8 frames read' in row.message, row
    # a clip with a face in every frame is 'ok' in both
    assert (v.drop(index=[p for p in v.index if p.endswith('one_face.avi')]).status == 'ok').all()

def test_two_people_in_a_frame_are_counted_though_one_is_scored(demo, tiny_run, tmp_path):
    "A run keeps one face per frame; a clip showing two people (a face and its mirror image side by side) still says '1 of 2 faces'."
    from deepfake_study.predict import load_detector, predict_video
    _, frs = _face_frames(demo, 16)
    two = _avi(tmp_path/'two.avi', [np.ascontiguousarray(np.hstack([f, f[:, ::-1]])) for f in frs])
    det = load_detector(tiny_run, 'cpu'); assert det.fx.max_faces == 1
    res = predict_video(two, det, frames=4, explain=True)
    assert res['frame_probs'] and all(f['faces'] == 2 for f in res['frame_probs']), [f['faces'] for f in res['frame_probs']]
    assert '1 of 2 faces: the most confident' in res['explanation'].to_html()
