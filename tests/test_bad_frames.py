"""Bad input at one stage, reading videos: a header that lies about its length, frames left stale by a seek, phone rotation, several video streams, frames above 4K.
Each case builds its own inputs in a temporary folder and ends in a clear error or a counted status."""
import json, os, re, shutil, signal, struct, subprocess, sys, time, fcntl, pickle
from pathlib import Path
import numpy as np, pandas as pd, cv2, pytest
from deepfake_study.data_prep import prepare_dataset, index_videos, index_dfdc, read_frames, MetadataError, STATUSES
from conftest import BIN, noise_video, folder_with, face_frames, avi

def test_stale_frames_after_a_seek_are_not_frames(tmp_path, monkeypatch):
    "A damaged file whose seeks past frame 84 hand back the last good frame: those are dropped, and prep marks the video partial."
    import deepfake_study.data_prep as dp
    class Damaged:
        "300 frames claimed, 85 decodable; reading past them returns the last good frame again (what OpenCV does on such files)."
        def __init__(self, fn): self.pos = 0
        def isOpened(self): return True
        def get(self, prop): return 300
        def set(self, prop, v): self.pos = int(v)
        def _frame(self): return np.full((32, 32, 3), min(self.pos, 84), np.uint8)
        def grab(self): self.pos += 1; return True
        def read(self): fr = self._frame(); self.pos += 1; return True, fr
        def release(self): pass
    monkeypatch.setattr(dp.cv2, 'VideoCapture', Damaged)
    fn = tmp_path/'damaged.mp4'; fn.write_bytes(b'x')
    idxs, frames = read_frames(fn, 8, seek_gap=10)
    assert [int(f[0, 0, 0]) for f in frames] == [min(i, 84) for i in idxs] and len(set(int(f[0,0,0]) for f in frames)) == len(frames)
    assert idxs == [0, 43, 85]  # 85 is the first stale read that a seek cannot tell; beyond, every repeat is dropped
    info = {}; read_frames(fn, 32, seek_gap=5, info=info)
    assert info == dict(total=300, wanted=32)

@pytest.mark.parametrize('reader', ['auto', 'av', 'cv2'])
def test_lying_header_reads_what_the_file_holds(demo, tmp_path, reader):
    "An AVI whose header claims 600 frames and holds 60: every reader spreads its frames over the 60 there are, and says the header lied."
    from deepfake_study.frames import read_frames, frame_indices
    _, frs = face_frames(demo)
    liar = avi(tmp_path/'liar.avi', frs, claim=600)
    info = {}
    idxs, got = read_frames(liar, 8, info=info, reader=reader)
    assert idxs == frame_indices(60, 8) and info['total'] == 60 and info['header_frames'] == 600
    # the frames are the file's own frames (MJPG: compare with an honest copy read the same way)
    ref = read_frames(avi(tmp_path/'honest.avi', frs), 8, reader=reader)
    assert ref[0] == idxs and all(np.array_equal(a, b) for a, b in zip(ref[1], got))

def _mp4(fn, streams):
    "An MP4 with one H.264 (or MPEG-4) video stream per list of RGB frames, in that order."
    import av
    with av.open(str(fn), 'w') as c:
        codec = 'libx264' if 'libx264' in av.codecs_available else 'mpeg4'
        ss = []
        for frames in streams:
            s = c.add_stream(codec, rate=10); s.height, s.width = frames[0].shape[:2]; s.pix_fmt = 'yuv420p'; ss.append(s)
        for s, frames in zip(ss, streams):
            for f in frames:
                for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format='rgb24')): c.mux(p)
            for p in s.encode(): c.mux(p)
    return Path(fn)

_ROT = {90: [0, -1, 0, 1, 0, 0, 0, 0, 1], 180: [-1, 0, 0, 0, -1, 0, 0, 0, 1], 270: [0, 1, 0, -1, 0, 0, 0, 0, 1]}

def _rotate_tag(fn, deg):
    "Set the track's display matrix (the tkhd box), as a phone does for a clip stored sideways."
    b = bytearray(Path(fn).read_bytes()); i = b.index(b'tkhd') - 4
    off = i + 8 + 4 + (32 if b[i+8] == 1 else 20) + 8 + 8
    struct.pack_into('>9i', b, off, *[v*(1 << 16) if k < 8 else v*(1 << 30) for k, v in enumerate(_ROT[deg])])
    Path(fn).write_bytes(bytes(b))

@pytest.mark.parametrize('deg', [90, 180, 270])
def test_rotated_phone_video_reads_upright(demo, tiny_run, tmp_path, deg):
    "A clip stored sideways with a display-matrix rotation: both readers return the same upright frames, and prediction finds the face."
    from deepfake_study.frames import read_frames
    from deepfake_study.predict import load_detector, predict_video
    _, frs = face_frames(demo, 12)
    upright = _mp4(tmp_path/'upright.mp4', [frs])
    k = {90: 3, 180: 2, 270: 1}[deg]  # stored turned the other way, so that the tag turns it back
    fn = _mp4(tmp_path/f'rot{deg}.mp4', [[np.rot90(f, k) for f in frs]]); _rotate_tag(fn, deg)
    (ia, fa), (ic, fc), (iu, fu) = read_frames(fn, 6, reader='av'), read_frames(fn, 6, reader='cv2'), read_frames(upright, 6)
    assert ia == ic == iu and fa[0].shape == fc[0].shape == fu[0].shape, (fa[0].shape, fc[0].shape, fu[0].shape)
    assert max(np.abs(a.astype(int) - c.astype(int)).mean() for a, c in zip(fa, fc)) < 1, 'PyAV and OpenCV disagree'
    assert max(np.abs(a.astype(int) - u.astype(int)).mean() for a, u in zip(fa, fu)) < 3, 'not upright'
    det = load_detector(tiny_run, 'cpu')
    r, u = predict_video(fn, det, frames=6), predict_video(upright, det, frames=6)
    assert r['status'] == 'ok' and r['faces_found'] == u['faces_found'] > 0 and abs(r['p_fake'] - u['p_fake']) < 0.02, (r['status'], r['message'])

def test_several_video_streams_read_the_real_clip(demo, tmp_path):
    "An MP4 whose first video stream is a one-frame still and whose second is the clip: the clip is read, and the stream is recorded."
    from deepfake_study.frames import read_frames
    _, frs = face_frames(demo, 12)
    still = [np.full((32, 32, 3), 128, np.uint8)]
    fn = _mp4(tmp_path/'two.mp4', [still, frs])
    info = {}
    idxs, got = read_frames(fn, 6, info=info)
    assert info['stream'] == 1 and len(idxs) == 6 and got[0].shape == frs[0].shape, (info, got[0].shape)

HUGE = r'''
import re, sys
from deepfake_study.frames import read_frames
info = {}; idxs, frs = read_frames(sys.argv[1], 8, reader=sys.argv[2], info=info)
import json; print(json.dumps(dict(n=len(idxs), side=max(max(f.shape[:2]) for f in frs), scaled=info.get('scaled_from'), rss_mb=int(re.search(r'VmHWM:\s+(\d+)', open('/proc/self/status').read())[1])//1024)))  # this process's peak (ru_maxrss keeps the forking parent's)
'''

@pytest.mark.parametrize('reader', ['av', 'cv2'])
def test_huge_frames_are_downscaled_while_decoding(huge_video, reader):
    "Frames above 4K come back at 3840 px on their longer side, flagged, and reading 6 of them stays far below the 1.2 GB their full-size RGB takes."
    r = subprocess.run([sys.executable, '-c', HUGE, str(huge_video), reader], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    o = json.loads(r.stdout)
    assert o['n'] == 6 and o['side'] == 3840 and o['scaled'] == [8192, 8192], o
    assert o['rss_mb'] < 1500, o  # full-size frames: 2.4 GB for the PyAV reader at 8 frames before the cap
