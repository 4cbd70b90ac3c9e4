"""Output paths of reports and exports, checked before any work starts.

A check really tries: it creates the missing directories and a probe file, then removes what it
created, so an unwritable, impossible or read-only destination (a path under a regular file, a
read-only file system, a name too long) is refused in one line before a report is built — also
when running as root, whom permission bits do not stop.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from p2pstore.errors import P2PStoreError


class OutputPathError(P2PStoreError):
    """An output file or directory that cannot be written."""


def check_output_dir(path: str | Path, what: str = "output directory") -> Path:
    """``path`` as a Path, after checking a directory there can be created (or exists) and written."""
    path = Path(path)
    with _trying(path, what):
        if path.exists() and not path.is_dir():
            raise OutputPathError(f"{what} {str(path)!r} exists and is not a directory")
    with _trying(path, what), _made_dirs(path, path, what):
        with tempfile.NamedTemporaryFile(dir=path, prefix=".p2pstore-probe-"):
            pass
    return path


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` as a Path, after checking a file can be written there (an existing one is kept)."""
    path = Path(path)
    with _trying(path, what):
        if path.is_dir():
            raise OutputPathError(f"{what} {str(path)!r} is a directory")
        with _made_dirs(path.parent, path, what):
            existed = path.exists()
            with open(path, "ab"):
                pass
            if not existed:
                path.unlink()
    return path


@contextlib.contextmanager
def _trying(path: Path, what: str) -> Iterator[None]:
    """Any OSError inside becomes one line naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _made_dirs(directory: Path, path: Path, what: str) -> Iterator[None]:
    """Make the missing directories up to ``directory``; remove the ones made on the way out."""
    missing = []
    d = directory
    while not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    if not d.is_dir():
        raise OutputPathError(f"cannot write {what} {str(path)!r}: {str(d)!r} is not a directory")
    made = []
    try:
        for m in reversed(missing):
            m.mkdir()
            made.append(m)
        yield
    finally:
        for m in reversed(made):
            with contextlib.suppress(OSError):
                m.rmdir()
