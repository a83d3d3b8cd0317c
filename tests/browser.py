"""Headless Chromium for tests that must see a page as a person does (Debian's `chromium`; `.ci/run` installs it when
absent, so these tests run in CI; elsewhere they skip: `sudo apt install chromium`)."""
import shutil, subprocess, tempfile
from pathlib import Path
import pytest

def chromium()->str:
    exe = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
    if exe is None: pytest.skip('no Chromium here: apt install chromium (CI installs it)')
    return exe

def _run(*args, timeout=120):
    with tempfile.TemporaryDirectory() as prof:
        return subprocess.run([chromium(), '--headless=new', '--no-sandbox', '--disable-gpu', '--allow-file-access-from-files',
                               f'--user-data-dir={prof}', *args], capture_output=True, text=True, timeout=timeout)

def dump_dom(page:Path)->str:
    "The DOM after the page's scripts ran."
    r = _run('--virtual-time-budget=5000', '--dump-dom', Path(page).resolve().as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout

def screenshot(page:Path, png:Path, size=(1280, 2400))->Path:
    "A PNG of the page as Chromium draws it."
    r = _run(f'--window-size={size[0]},{size[1]}', '--hide-scrollbars', f'--screenshot={Path(png).resolve()}', Path(page).resolve().as_uri())
    assert Path(png).is_file(), r.stderr[-2000:]
    return Path(png)
