"Ground truth for frame sampling: a synthetic video whose frame i shows the number i as a bar code, read back through every path of `read_frames`."
from pathlib import Path
import numpy as np, cv2, pytest
from deepfake_study.data_prep import read_frames, frame_indices

BITS, W, H = 8, 128, 64

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

@pytest.fixture(scope='module', params=['mp4v', 'MJPG'])
def numbered(request, tmp_path_factory):
    "A 150-frame video, frame i showing i, with key frames every 12 frames (mp4v) or every frame (MJPG)."
    n = 150
    fn = tmp_path_factory.mktemp('v')/('n.mp4' if request.param=='mp4v' else 'n.avi')
    w = cv2.VideoWriter(str(fn), cv2.VideoWriter_fourcc(*request.param), 25, (W, H))
    for i in range(n): w.write(_code(i))
    w.release()
    return fn, n

@pytest.mark.parametrize('k', [1, 2, 7, 32, 150])
@pytest.mark.parametrize('seek_gap', [0, 5, 10_000])  # always seek, seek across long gaps, never seek (decode straight through)
def test_read_frames_returns_exactly_the_requested_frames(numbered, k, seek_gap):
    fn, n = numbered
    idxs, frames = read_frames(fn, k, seek_gap=seek_gap)
    want = frame_indices(n, k)
    assert idxs == want
    assert [_decode(f) for f in frames] == want
    if k >= 2: assert want[0] == 0 and want[-1] == n-1  # first and last frame included
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)

def test_bar_code_round_trip():
    assert [_decode(_code(i)) for i in (0, 1, 77, 149, 255)] == [0, 1, 77, 149, 255]
