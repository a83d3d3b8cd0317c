import json, os, shutil, subprocess, sys, time, hashlib
from pathlib import Path
import pandas as pd, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, split_videos, MetadataError, index_dfdc
from deepfake_study.demo import make_layout_fixture
from conftest import BIN

def _md5(fn): return hashlib.md5(Path(fn).read_bytes()).hexdigest()

def test_real_dfdc_samples_end_to_end(samples, tmp_path):
    "deepfake_prep on the real DFDC clips: 6 indexed with their labels, faces in at least 5, rerun does nothing and changes no byte."
    out = tmp_path/'out'
    r = subprocess.run([str(BIN/'deepfake_prep'), str(samples/'videos'), str(out), '--frames', '8'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    v = pd.read_csv(out/'videos.csv')
    meta = json.loads((samples/'videos'/'metadata.json').read_text())
    assert sorted(v.path) == sorted(meta)
    assert dict(zip(v.path, v.label)) == {k: int(e['label']=='FAKE') for k,e in meta.items()}
    assert ((v.status=='ok') & (v.n_faces>0)).sum() >= 5
    f = pd.read_csv(out/'faces.csv')
    assert len(f) == v.n_faces.sum() and all((out/c).is_file() for c in f.crop)
    before = {n: _md5(out/n) for n in ('videos.csv','faces.csv')}
    r = subprocess.run([str(BIN/'deepfake_prep'), str(samples/'videos'), str(out), '--frames', '8'], capture_output=True, text=True)
    assert '0 processed, 6 already done' in r.stdout
    assert {n: _md5(out/n) for n in ('videos.csv','faces.csv')} == before

@pytest.fixture
def small_raw(demo, tmp_path):
    "A 10-video DFDC-layout dataset cut from the demo's raw videos."
    src = demo['raw']/'dfdc'/'dfdc_train_part_0'
    meta = json.loads((src/'metadata.json').read_text())
    reals = [k for k,e in meta.items() if e['label']=='REAL'][:4]
    keep = {k:e for k,e in meta.items() if k in reals or e.get('original') in reals}
    d = tmp_path/'raw'; d.mkdir()
    for k in keep: shutil.copy(src/k, d/k)
    (d/'metadata.json').write_text(json.dumps(keep))
    return d

def test_killed_prep_resumes_complete_and_duplicate_free(small_raw, tmp_path):
    "A prep run killed mid-way and rerun gives exactly the tables of an uninterrupted run."
    ref, out = tmp_path/'ref', tmp_path/'killed'
    prepare_dataset(small_raw, ref, frames=4, size=64, workers=0, progress=False)
    cmd = [str(BIN/'deepfake_prep'), str(small_raw), str(out), '--frames', '4', '--size', '64', '--workers', '0']
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time()-t0 < 120:
        n = len(list((out/'records').glob('*.json'))) if (out/'records').exists() else 0
        if n >= 3: break
        time.sleep(0.05)
    p.kill(); p.wait()
    done = len(list((out/'records').glob('*.json')))
    assert 3 <= done < len(json.loads((small_raw/'metadata.json').read_text())), 'the run must be killed mid-way'
    r = subprocess.run(cmd, capture_output=True, text=True); assert r.returncode == 0, r.stderr[-2000:]
    assert f'{done} already done' in r.stdout
    for t in ('videos.csv','faces.csv'): assert _md5(out/t) == _md5(ref/t), t
    f = pd.read_csv(out/'faces.csv')
    assert not f.duplicated(['video','frame','face']).any()
    assert sorted(str(p.relative_to(out)) for p in (out/'faces').rglob('*.png')) == sorted(f.crop)

def test_fakeavceleb_duplicate_basenames_stay_distinct(tmp_path):
    df = index_videos(make_layout_fixture(tmp_path, 'fakeavceleb'))
    assert df.path.is_unique and df.video.is_unique and (df.path.str.rsplit('/', n=1).str[-1] == '00109.mp4').all()

def test_metadata_path_escape_is_recorded_not_followed(tmp_path):
    d = tmp_path/'ds'; d.mkdir(); (tmp_path/'secret.mp4').write_bytes(b'x')
    (d/'metadata.json').write_text(json.dumps({'../secret.mp4': {'label':'REAL'}, 'x.mp4': {'label':'FAKE','original':'y.mp4'}}))
    s = prepare_dataset(d, tmp_path/'out', frames=2, workers=0, valid=0.5, test=0, progress=False)
    v = pd.read_csv(tmp_path/'out'/'videos.csv').set_index('path')
    assert v.loc['../secret.mp4','status'] == 'unsafe_path' and s['unsafe_path'] == 1 and s['missing'] == 1
    assert not (tmp_path/'secret.json').exists() and not (tmp_path/'out'/'faces').exists()

def test_splits_never_share_a_group():
    df = pd.DataFrame(dict(path=[f'{i}.mp4' for i in range(300)], group=[f'g{i//5}' for i in range(300)], label=[int(i%5!=0) for i in range(300)]))
    sp = split_videos(df, seed=7)
    assert sp.groupby('group').split.nunique().max() == 1 and set(sp.split) == {'train','valid','test'}

def test_malformed_metadata_names_file_and_entry(tmp_path):
    (tmp_path/'metadata.json').write_text('{"v.mp4": {"label": "SORT-OF"}}')
    with pytest.raises(MetadataError, match=r"metadata.json: entry 'v.mp4'"): index_dfdc(tmp_path)

def test_shards_on_several_machines_then_a_rebuild(small_raw, tmp_path):
    "Prep across machines: `--shard 0/2` and `--shard 1/2` into one folder (as a Slurm array would), then a run without --shard only rebuilds the tables, identical to an unsharded prep."
    ref, out = tmp_path/'ref', tmp_path/'sharded'
    prepare_dataset(small_raw, ref, frames=2, size=48, workers=0, progress=False)
    cmd = [str(BIN/'deepfake_prep'), str(small_raw), str(out), '--frames', '2', '--size', '48', '--workers', '0']
    for sh in ('1/2', '0/2'):
        r = subprocess.run(cmd + ['--shard', sh], capture_output=True, text=True); assert r.returncode == 0, r.stderr[-2000:]
    n = len(json.loads((small_raw/'metadata.json').read_text()))
    assert len(list((out/'records').glob('*.json'))) == n
    r = subprocess.run(cmd, capture_output=True, text=True); assert r.returncode == 0, r.stderr[-2000:]
    assert f'0 processed, {n} already done' in r.stdout
    for t in ('videos.csv','faces.csv'): assert _md5(out/t) == _md5(ref/t), t

def test_dfdc_test_and_preview_layouts_prepare_end_to_end(small_raw, tmp_path):
    "Real (demo) videos in DFDC's public-test layout (labels.csv, 1 = fake) and preview layout (dataset.json): `deepfake_prep --layout auto` finds each, keeps its labels and official splits."
    meta = json.loads((small_raw/'metadata.json').read_text())
    names = sorted(meta)[:6]
    # the public test set: test/videos + test/labels.csv
    t = tmp_path/'dfdc_test'; (t/'test'/'videos').mkdir(parents=True)
    for k in names: shutil.copy(small_raw/k, t/'test'/'videos'/k)
    (t/'test'/'labels.csv').write_text('filename,label\n' + ''.join(f"{k},{int(meta[k]['label']=='FAKE')}\n" for k in names))
    # the preview: original_videos/<id>/ and method_A/<id>/<id>_<id>/, labels and sets in dataset.json
    p = tmp_path/'dfdc_preview'; entries = {}
    for i, k in enumerate(names):
        fake = meta[k]['label']=='FAKE'; ident = str(1000 + i % 3)
        rel = f"method_A/{ident}/{ident}_{int(ident) + 1000}/{k}" if fake else f"original_videos/{ident}/{k}"
        (p/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy(small_raw/k, p/rel)
        entries[rel] = dict(label='fake' if fake else 'real', set='test' if i % 3 == 2 else 'train')
    (p/'dataset.json').write_text(json.dumps(entries))
    for src, want_split in ((t, {'test'}), (p, None)):
        out = tmp_path/f'out-{src.name}'
        r = subprocess.run([str(BIN/'deepfake_prep'), str(src), str(out), '--frames', '2', '--size', '48', '--workers', '0'], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads((out/'prep.json').read_text())['layout'] == src.name
        v = pd.read_csv(out/'videos.csv')
        assert dict(zip(v.path.map(lambda x: x.rsplit('/', 1)[-1]), v.label)) == {k: int(meta[k]['label']=='FAKE') for k in names}
        if want_split: assert set(v.split) == want_split
        else:
            assert set(v.loc[v.path.isin([k for k, e in entries.items() if e['set']=='test']), 'split']) == {'test'}
            assert v.groupby('group').split.nunique().max() == 1

def test_overlapped_prep_matches_the_serial_one(small_raw, tmp_path):
    "Decode/detect/write at once (the GPU path, run here on the CPU) finds the same faces as one video at a time: same statuses, same crops, boxes within 2% of the serial run's."
    import numpy as np
    ser, ovl = tmp_path/'serial', tmp_path/'overlap'
    s1 = prepare_dataset(small_raw, ser, frames=8, size=64, workers=0, device='cpu', progress=False)
    s2 = prepare_dataset(small_raw, ovl, frames=8, size=64, workers=2, device='cpu', overlap=True, progress=False)
    assert {k: s1[k] for k in ('videos','ok','no_face','error')} == {k: s2[k] for k in ('videos','ok','no_face','error')}
    assert abs(s2['faces'] - s1['faces']) <= 0.02*s1['faces'] and s1['faces'] > 0
    a, b = pd.read_csv(ser/'faces.csv'), pd.read_csv(ovl/'faces.csv')
    m = a.merge(b, on='crop', suffixes=('', '_o'))
    assert len(m) >= 0.98*len(a)
    d = np.abs(np.array([json.loads(x) for x in m.box]) - np.array([json.loads(x) for x in m.box_o])).max(1)
    assert (d <= 2).mean() >= 0.98, d.max()
    assert pd.read_csv(ovl/'videos.csv')[['path','split','label']].equals(pd.read_csv(ser/'videos.csv')[['path','split','label']])

def test_jpeg_crops_are_recorded_smaller_and_train_ready(small_raw, tmp_path):
    "encoding='jpeg' writes .jpg crops, records encoding, quality and bytes per crop in prep.json, and the crops load like PNG ones."
    from deepfake_study.data import load_faces, prep_settings
    from deepfake_study.models import face_pixels
    png, jpg = tmp_path/'png', tmp_path/'jpg'
    prepare_dataset(small_raw, png, frames=4, size=64, workers=0, device='cpu', progress=False)
    s = prepare_dataset(small_raw, jpg, frames=4, size=64, workers=0, device='cpu', encoding='jpeg', quality=90, progress=False)
    pj, pp = json.loads((jpg/'prep.json').read_text()), json.loads((png/'prep.json').read_text())
    assert (pj['encoding'], pj['quality'], pp['encoding'], pp['quality']) == ('jpeg', 90, 'png', None)
    assert 0 < pj['bytes_per_crop'] < pp['bytes_per_crop'] and s['bytes_per_crop'] == pj['bytes_per_crop']
    f = load_faces(jpg)
    assert len(f) and all(c.endswith('.jpg') for c in f.crop)
    assert face_pixels(f.fn.iloc[0], 32).shape == (32, 32, 3)
    assert prep_settings(jpg)['encoding'] == 'jpeg'  # a black-box set is prepared the same way

def test_full_resolution_retry_is_recorded_and_old_folders_resume_as_they_were(small_raw, tmp_path):
    "A new folder records retry_full=True; a folder prepared before the retry existed resumes without it (and says so to prep_settings); asking an old folder for the retry is refused."
    from deepfake_study.data import prep_settings, resolve_data
    new, old = tmp_path/'new', tmp_path/'old'
    prepare_dataset(small_raw, new, frames=2, size=32, workers=0, device='cpu', progress=False)
    assert json.loads((new/'prep.json').read_text())['retry_full'] is True and prep_settings(new)['retry_full'] is True
    prepare_dataset(small_raw, old, frames=2, size=32, workers=0, device='cpu', retry_full=False, progress=False)
    pj = json.loads((old/'prep.json').read_text()); del pj['retry_full']; (old/'prep.json').write_text(json.dumps(pj))  # as an older version wrote it
    sorted((old/'records').rglob('*.json'))[0].unlink()  # one video left to do
    s = prepare_dataset(small_raw, old, frames=2, size=32, workers=0, device='cpu', progress=False)  # resumes: no settings clash
    assert s['processed'] == 1 and 'retry_full' not in json.loads((old/'prep.json').read_text())
    assert prep_settings(old)['retry_full'] is False  # a black-box set for a model trained here is prepared without the retry too
    with pytest.raises(ValueError, match='retry_full'): prepare_dataset(small_raw, old, frames=2, size=32, workers=0, device='cpu', retry_full=True, progress=False)
