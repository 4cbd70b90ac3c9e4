"""Output paths are checked before a report or an export is built, and the check leaves nothing."""

from __future__ import annotations

import pytest

from p2pstore.reports.output import OutputPathError, check_output_dir, check_output_file


def test_writable_destinations_pass_and_leave_nothing(tmp_path):
    assert check_output_file(tmp_path / "a" / "b" / "r.html") == tmp_path / "a" / "b" / "r.html"
    assert check_output_dir(tmp_path / "x" / "y") == tmp_path / "x" / "y"
    assert list(tmp_path.iterdir()) == []  # the directories made to probe are gone again
    existing = tmp_path / "keep.html"
    existing.write_text("old")
    check_output_file(existing)
    assert existing.read_text() == "old"


@pytest.mark.parametrize("make, words", [
    (lambda t: t / "file" / "r.html", "is not a directory"),
    (lambda t: "/proc/p2pstore-nope/r.html", "No such file or directory"),
    (lambda t: "/sys/r.html", "Permission denied"),
    (lambda t: t / ("x" * 300 + ".html"), "File name too long"),
    (lambda t: t, "is a directory"),
])
def test_impossible_files_are_refused_in_one_line(tmp_path, make, words):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="^cannot write report file|^report file") as err:
        check_output_file(make(tmp_path), "report file")
    assert words in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("make, words", [
    (lambda t: t / "file", "exists and is not a directory"),
    (lambda t: t / "file" / "sub", "is not a directory"),
    (lambda t: "/proc/p2pstore-nope", "No such file or directory"),
])
def test_impossible_directories_are_refused(tmp_path, make, words):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError) as err:
        check_output_dir(make(tmp_path), "export directory")
    assert words in str(err.value)
