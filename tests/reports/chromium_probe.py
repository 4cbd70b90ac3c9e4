"""Load an HTML file in headless Chromium and report how every <img> decoded.

A copy of the page gets a small script that, once everything has loaded, writes each image's
``complete`` flag and natural size into the DOM; Chromium's ``--dump-dom`` prints that DOM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROBE = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = imgs.map(function (i) { return [i.complete, i.naturalWidth, i.naturalHeight]; });
  var pre = document.createElement("pre");
  pre.id = "p2pstore-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """The Chromium executable; fails under CI (never skips there), skips elsewhere."""
    path = chromium_binary()
    if path is None:
        msg = "headless Chromium not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def image_states(html_path: Path, workdir: Path, timeout: float = 120) -> list[list]:
    """``[[complete, naturalWidth, naturalHeight], ...]`` for every <img> of ``html_path``."""
    exe = require_chromium()
    page = workdir / "probe.html"
    text = html_path.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    profile = workdir / "chromium-profile"
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--no-default-browser-check", "--mute-audio",
        f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    match = re.search(r'<pre id="p2pstore-probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"Chromium did not run the probe (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(match.group(1))
