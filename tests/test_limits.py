"""Guards against hostile input: printable names, the machine's memory, a scenario's estimate."""

from __future__ import annotations

import pytest

from p2pstore.errors import InputError
from p2pstore.limits import available_memory_bytes, check_name, format_bytes
from p2pstore.scenario import Scenario
from p2pstore.simulate import check_memory, estimate_peak_bytes


@pytest.mark.parametrize("name", ["demo", "pv sweep 2026-01", "été-Ω", "x" * 200])
def test_printable_names_pass(name):
    check_name("--batch", name)


@pytest.mark.parametrize("name, words", [
    ("", "1 to 200"), ("   ", "1 to 200"), ("x" * 201, "1 to 200"), (None, "1 to 200"),
    ("a\nb", "U+000A"), ("a\rb", "U+000D"), ("a\x00b", "U+0000"), ("a\x1b[2Jb", "U+001B"),
    ("a\u2028b", "U+2028"), ("a\u200bb", "U+200B"), ("a\u202eb", "U+202E"), (" lead", "spaces"),
])
def test_unprintable_names_are_refused(name, words):
    with pytest.raises(InputError, match="^--batch ") as err:
        check_name("--batch", name)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_available_memory_is_known_here():
    n = available_memory_bytes()
    assert n is not None and 2**26 < n < 2**50


def test_memory_estimate_grows_with_households_slots_mechanisms_and_series():
    small = Scenario(days=1)
    assert estimate_peak_bytes(small) < estimate_peak_bytes(small.replace(days=2))
    assert estimate_peak_bytes(small) < estimate_peak_bytes(small.replace(prosumers=20))
    assert estimate_peak_bytes(small.replace(mechanisms=["mmr"])) < estimate_peak_bytes(small)
    assert estimate_peak_bytes(small, "none") < estimate_peak_bytes(small, "full")
    year = Scenario(consumers=500, prosumers=500, days=365)  # the largest size users run
    assert 2**30 < estimate_peak_bytes(year, "full") < 8 * 2**30


def test_check_memory_refuses_in_one_line():
    big = Scenario(consumers=100_000, prosumers=100_000, days=3650)
    with pytest.raises(InputError, match="needs about .* of memory") as err:
        check_memory(big, "full", available=2**30)
    assert "200000 households x 350400 slots" in str(err.value) and "\n" not in str(err.value)
    check_memory(Scenario(), "full", available=estimate_peak_bytes(Scenario(), "full"))
    with pytest.raises(InputError, match="has 1.0 KiB available"):
        check_memory(Scenario(), "full", available=1024)


def test_format_bytes():
    assert (format_bytes(512), format_bytes(1536), format_bytes(3 * 2**40)) == ("512 B", "1.5 KiB", "3.0 TiB")
