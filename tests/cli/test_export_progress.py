"""``export`` draws a progress bar on a terminal (a pseudo-terminal here) and nothing when its
stderr is a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

CLI = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"


def _p2pstore(args, **kw):
    return subprocess.run([sys.executable, "-c", CLI, *args], **kw)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_export_progress_on_a_terminal_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert _p2pstore(["--db", url, "run", "--days", "2"], capture_output=True).returncode == 0

    piped = _p2pstore(["--db", url, "export", "1", "-o", str(tmp_path / "piped")], capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-c", CLI, "--db", url, "export", "1", "-o", str(tmp_path / "tty")],
                                stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)  # read while it draws: a full terminal buffer would block it
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    out = proc.stdout.read()
    assert proc.wait(60) == 0 and out.startswith("wrote "), out
    assert b"exporting 1 run(s)" in drawn and b"100%" in drawn, drawn
    assert sorted(p.name for p in (tmp_path / "tty").iterdir()) == sorted(p.name for p in (tmp_path / "piped").iterdir())
