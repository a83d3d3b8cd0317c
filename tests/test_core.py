import numpy as np, torch, pytest
from pathlib import Path
from deepfake_study.core import safe_join, UnsafePathError, seed_everything, atomic_write, parse_label

@pytest.mark.parametrize('bad', ['../x.mp4', 'a/../../x.mp4', '/etc/passwd', '~/x.mp4', 'C:/x.mp4', ''])
def test_safe_join_refuses_escapes(tmp_path, bad):
    with pytest.raises(UnsafePathError): safe_join(tmp_path, bad)

def test_safe_join_refuses_symlink_escape(tmp_path):
    (tmp_path/'root').mkdir(); (tmp_path/'root'/'link').symlink_to(tmp_path)
    with pytest.raises(UnsafePathError): safe_join(tmp_path/'root', 'link/secret.mp4')

def test_safe_join_allows_inside(tmp_path):
    assert safe_join(tmp_path, 'a/b/../c.mp4') == (tmp_path/'a'/'c.mp4').resolve()

def test_seeding_repeats_draws():
    seed_everything(123); a = (torch.randn(4), np.random.rand(4))
    seed_everything(123); b = (torch.randn(4), np.random.rand(4))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    seed_everything(124); c = torch.randn(4)
    assert not torch.equal(a[0], c)

def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    fn = tmp_path/'t.txt'; fn.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(fn) as f: f.write('new, half'); raise RuntimeError('killed')
    assert fn.read_text() == 'old' and [p.name for p in tmp_path.iterdir()] == ['t.txt']

def test_label_convention():
    assert parse_label('FAKE') == 1 and parse_label('REAL') == 0
