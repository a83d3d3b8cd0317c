"Ground truth for frame sampling: a synthetic video whose frame i shows the number i as a bar code, read back through every path of `read_frames` and both readers."
from pathlib import Path
import numpy as np, cv2, pytest, av
from deepfake_study.frames import read_frames, frame_indices, VideoReadError

BITS, W, H, N = 8, 128, 64, 150

def _code(i):
    "Frame i: 8 vertical bars, bar b white when bit b of i is set."
    img = np.zeros((H, W, 3), np.uint8)
    for b in range(BITS):
        if i >> b & 1: img[:, b*W//BITS:(b+1)*W//BITS] = 255
    return img

def _decode(fr):
    "The number a frame shows (robust to compression: each bar's mean brightness)."
    g = fr.mean(2)
    return sum(1 << b for b in range(BITS) if g[8:-8, b*W//BITS+4:(b+1)*W//BITS-4].mean() > 127)

def _write_av(fn, codec, opts, mux=None):
    "H.264 or HEVC through PyAV's encoders: B frames (some not referenced by any other picture) and key frames every 12."
    with av.open(str(fn), 'w', options=mux or {}) as c:
        s = c.add_stream(codec, rate=25); s.width, s.height, s.pix_fmt = W, H, 'yuv420p'; s.options = opts
        for i in range(N):
            for p in s.encode(av.VideoFrame.from_ndarray(_code(i), format='rgb24')): c.mux(p)
        for p in s.encode(): c.mux(p)

X264 = 'keyint=12:min-keyint=12:scenecut=0:bframes=3:b-pyramid=normal'
@pytest.fixture(scope='module', params=['mp4v', 'MJPG', 'h264', 'h264-open-gop', 'hevc'])
def numbered(request, tmp_path_factory):
    "A 150-frame video, frame i showing i: mp4v (key frames every 12), MJPG (every frame a key frame), H.264 with B frames in closed or open groups of pictures, HEVC."
    kind, d = request.param, tmp_path_factory.mktemp('v')
    if kind in ('mp4v', 'MJPG'):
        fn = d/('n.mp4' if kind=='mp4v' else 'n.avi')
        w = cv2.VideoWriter(str(fn), cv2.VideoWriter_fourcc(*kind), 25, (W, H))
        for i in range(N): w.write(_code(i))
        w.release()
    elif kind == 'hevc': fn = d/'n.mp4'; _write_av(fn, 'libx265', {'x265-params': 'keyint=12:min-keyint=12:scenecut=0:bframes=3:log-level=error'})
    else: fn = d/'n.mp4'; _write_av(fn, 'libx264', {'x264-params': X264 + (':open-gop=1' if 'open' in kind else '')})
    return fn, N, kind

@pytest.mark.parametrize('reader', ['av', 'cv2'])
@pytest.mark.parametrize('k', [1, 2, 7, 32, 150])
@pytest.mark.parametrize('seek_gap', [0, 5, 10_000])  # always seek, seek across long gaps, never seek (decode straight through); the PyAV reader plans its own
def test_read_frames_returns_exactly_the_requested_frames(numbered, k, seek_gap, reader):
    fn, n, kind = numbered

    info = {}
    idxs, frames = read_frames(fn, k, seek_gap=seek_gap, reader=reader, info=info)
    want = frame_indices(n, k)
    assert idxs == want
    assert [_decode(f) for f in frames] == want
    if k >= 2: assert want[0] == 0 and want[-1] == n-1  # first and last frame included
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    assert info['total'] == n and info['wanted'] == len(want)
    if reader == 'av' and kind.startswith('h264') and k == 7: assert info['decoded'] < n*0.8  # unreferenced B frames and unneeded groups were never decoded

@pytest.mark.parametrize('kind', ['h264', 'h264-open-gop'])
def test_readers_agree_pixel_for_pixel(tmp_path, kind):
    "Where OpenCV decodes straight through, PyAV gives the very same RGB arrays."
    fn = tmp_path/'n.mp4'; _write_av(fn, 'libx264', {'x264-params': X264 + (':open-gop=1' if 'open' in kind else '')})
    a, b = read_frames(fn, 32, reader='av'), read_frames(fn, 32, reader='cv2', seek_gap=10_000)
    assert a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1], b[1]))

@pytest.mark.parametrize('keep', [0.5, 0.8])
def test_a_truncated_file_gives_the_frames_it_holds(tmp_path, keep):
    """An H.264 MP4 cut short (index first, so what remains still opens): frames can no longer be numbered by their rank among the packets that are left
    (a B frame's packet follows the later frame it refers to), so PyAV declines it and `auto` reads it with OpenCV, spread over the frames the file
    still holds, each the right one; and the header's count is reported beside them."""
    fn = tmp_path/'n.mp4'; _write_av(fn, 'libx264', {'x264-params': X264}, {'movflags': 'faststart'})
    cut = tmp_path/'cut.mp4'; b = fn.read_bytes(); cut.write_bytes(b[:int(len(b)*keep)])
    with pytest.raises(VideoReadError, match='header counts 150 frames|damaged after|corrupt packet'): read_frames(cut, 32, reader='av')
    got = {}
    for r in ('cv2', 'auto'):
        info = {}; idxs, frames = got[r] = read_frames(cut, 32, reader=r, info=info)
        assert 0 < len(idxs) and idxs == sorted(set(idxs)) and idxs[-1] < N and info['header_frames'] == N, (r, idxs, info)
        assert idxs == frame_indices(info['total'], 32), r  # spread over what is held
        assert [_decode(f) for f in frames] == idxs, r
    assert got['cv2'][0] == got['auto'][0]

def test_bar_code_round_trip():
    assert [_decode(_code(i)) for i in (0, 1, 77, 149, 255)] == [0, 1, 77, 149, 255]

def test_readers_agree_on_real_dfdc_clips(samples):
    "On the real DFDC clips (H.264 with unreferenced B frames), PyAV sends the decoder well under all packets and gives OpenCV's frames, pixel for pixel."
    for fn in sorted((samples/'videos').glob('*.mp4')):
        info = {}
        ia, fa = read_frames(fn, 32, reader='av', info=info)
        ic, fc = read_frames(fn, 32, reader='cv2')
        assert ia == ic == frame_indices(info['total'], 32), fn.name
        assert all(np.array_equal(x, y) for x, y in zip(fa, fc)), fn.name
        assert info['decoded'] < 0.7*info['total'], (fn.name, info)
