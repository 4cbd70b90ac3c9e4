"""The CSV export (pyarrow's C++ writer fed with columns) against the row-by-row ``csv.writer``
it replaced: the same header, the same cells parsed back, every float bit for bit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct

import numpy as np
import pytest

from p2pstore.reports.export import export_tables
from p2pstore.reports.export_csv import write_csv as _write_csv
from p2pstore.store.results.streams import Chunk, Column

AWKWARD = [0.1, 0.1 + 0.2, 1.0, -0.0, 0.0, 1e16, 1e15 + 0.3, 1e21, 1e22, 123456789012345680.0, 5e-324,
           2.2250738585072014e-308, 1.7976931348623157e308, -1e-7, 1e-5, 100.0, 2.0 / 3.0, -123.456e-200,
           9007199254740993.0, 4.35, 0.3]


class Bar:
    def __init__(self):
        self.rows = 0

    def update(self, n):
        self.rows += n


def old_csv(columns, chunks) -> str:
    """What the export wrote before: ``csv.writer`` over Python rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for chunk in chunks:
        writer.writerows(chunk.full_rows())
    return out.getvalue()


def digits(text: str) -> str:
    """The significant digits of a float's text."""
    return text.lower().split("e")[0].replace("-", "").replace(".", "").strip("0")


def bits(text: str) -> int:
    return struct.unpack("<q", struct.pack("<d", float(text)))[0]


def assert_same_cells(columns, new: str, old: str) -> None:
    """Both files parsed with ``csv``: equal headers, equal cells (floats to the bit, NULL empty)."""
    new_rows, old_rows = list(csv.reader(io.StringIO(new))), list(csv.reader(io.StringIO(old)))
    assert new_rows[0] == old_rows[0] == [c.name for c in columns]
    assert len(new_rows) == len(old_rows)
    for got, want in zip(new_rows[1:], old_rows[1:]):
        assert len(got) == len(want) == len(columns)
        for column, a, b in zip(columns, got, want):
            if column.kind == "float" and b == "nan":  # a NULL of numpy columns, which the old writer wrote as nan
                b = ""
            if column.kind == "float" and b != "":
                assert a != "" and bits(a) == bits(b), (column.name, a, b)
            elif column.kind == "int" and b != "":
                assert int(a) == int(b), (column.name, a, b)
            else:
                assert a == b, (column.name, a, b)


def write(tmp_path, columns, chunks) -> str:
    path = tmp_path / "t.csv"
    bar = Bar()
    _write_csv(path, columns, chunks, bar)
    assert bar.rows == sum(len(c) for c in chunks)
    return path.read_text(encoding="utf-8")


def test_awkward_floats_round_trip_bit_for_bit(tmp_path):
    columns = [Column("run_id", "int"), Column("mechanism", "str"), Column("slot", "int"), Column("x", "float"),
               Column("y", "float")]
    x = np.array(AWKWARD + [-v for v in AWKWARD])
    y = np.where(np.arange(len(x)) % 3 == 0, np.nan, x[::-1])  # NaN: a NULL cell
    chunks = [Chunk([c.name for c in columns], [], (7, "m,m \"r\""), {"slot": np.arange(len(x)), "x": x, "y": y}),
              Chunk([c.name for c in columns], [(7, "bill, \"sharing\"", 0, 0.1 + 0.2, None)])]
    new = write(tmp_path, columns, chunks)
    rows = list(csv.reader(io.StringIO(new)))[1:]
    got_x = np.array([float(r[3]) for r in rows[:len(x)]])
    assert got_x.view(np.int64).tolist() == x.view(np.int64).tolist()  # every float cell, to the bit
    assert [r[4] == "" for r in rows[:len(x)]] == np.isnan(y).tolist()  # NULL as an empty cell
    assert rows[-1] == ["7", "bill, \"sharing\"", "0", "0.30000000000000004", ""]
    assert_same_cells(columns, new, old_csv(columns, chunks))
    for r in rows:  # shortest form: no more significant digits than Python's repr
        for cell in r[3:]:
            if cell:
                assert len(digits(cell)) <= len(digits(repr(float(cell)))), cell


def test_text_booleans_and_timestamps_as_before(tmp_path):
    columns = [Column("run_id", "int"), Column("label", "str"), Column("ok", "bool"), Column("ts", "datetime"),
               Column("at", "datetime_tz"), Column("v", "float")]
    utc = dt.timezone.utc
    rows = [(1, "plain", True, dt.datetime(2024, 1, 1), dt.datetime(2024, 5, 2, 13, 4, 5, 123456, tzinfo=utc), 1.5),
            (2, None, False, dt.datetime(2024, 1, 1, 0, 15, 0, 7), None, None),
            (3, "a\nb", None, None, dt.datetime(2024, 5, 2, tzinfo=utc), -0.0),
            (4, "", True, dt.datetime(2023, 12, 31, 23, 45), dt.datetime(2024, 5, 2, tzinfo=utc), 1e22)]
    names = [c.name for c in columns]
    chunks = [Chunk(names, rows[:2]), Chunk(names, rows[2:])]  # the second chunk needs quoting
    new = write(tmp_path, columns, chunks)
    assert new.splitlines()[:3] == ["run_id,label,ok,ts,at,v",
                                    "1,plain,True,2024-01-01 00:00:00,2024-05-02 13:04:05.123456+00:00,1.5",
                                    "2,,False,2024-01-01 00:15:00.000007,,"]
    assert_same_cells(columns, new, old_csv(columns, chunks))


def test_empty_table_is_its_header(tmp_path):
    columns = [Column("run_id", "int"), Column("v", "float")]
    assert write(tmp_path, columns, []) == "run_id,v\n"


def test_exported_run_equals_the_old_writer(sweep, tmp_path):
    """Every table of a run with full series (both backends): the new CSV holds the cells the
    row-by-row writer wrote, floats bit for bit."""
    from p2pstore.reports.export import export_run

    run_id = sweep.single
    export_run(sweep.store, run_id, tmp_path / "new", "csv")
    for name in export_tables():
        columns = sweep.store.table_columns(name)
        old = old_csv(columns, list(sweep.store.stream_table(name, [run_id])))
        new = (tmp_path / "new" / f"{name}.csv").read_text(encoding="utf-8")
        assert_same_cells(columns, new, old)
        assert new.count("\n") == old.count("\n") or name in ("runs", "scenarios")  # quoted line breaks
        if name == "household_series":
            assert len(new.splitlines()) > 1000
            stored = np.array([r[4:] for c in sweep.store.stream_table(name, [run_id]) for r in c.full_rows()],
                              dtype=float)
            cells = np.array([r[4:] for r in list(csv.reader(io.StringIO(new)))[1:]], dtype=float)
            assert cells.view(np.int64).tolist() == stored.view(np.int64).tolist()


@pytest.mark.parametrize("budget", [0, 200_000])
def test_columns_formatted_once_or_again_write_the_same_file(sweep, tmp_path, monkeypatch, budget):
    """Repeated columns (load and PV under each mechanism, shared flows) taken from the cache of
    formatted columns, or formatted again when it holds nothing or little: the same bytes."""
    from p2pstore.reports import export_csv as export

    run_id = sweep.single
    columns = sweep.store.table_columns("household_series")
    export.write_csv(tmp_path / "cached.csv", columns, sweep.store.stream_table("household_series", [run_id]), Bar())
    monkeypatch.setattr(export, "TEXT_CACHE_BYTES", budget)
    export.write_csv(tmp_path / "again.csv", columns,
                      sweep.store.stream_table("household_series", [run_id], chunk_rows=50), Bar())
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "cached.csv").read_bytes()


def test_formatted_columns_are_kept_within_their_budget():
    """The least recently used go first; sizes are measured once formatted."""
    from concurrent.futures import Future

    import pyarrow as pa

    from p2pstore.reports.export_csv import TextCache as _Texts

    def done(n):
        f = Future()
        f.set_result(pa.array(["x" * 10] * n))
        return f

    texts = _Texts(budget=3_000)
    a, b, c = done(100), done(100), done(100)  # 100 x (10 bytes + a 4-byte offset) = ~1.4 KB each
    texts.put("a", a, 100)
    texts.put("b", b, 100)
    assert texts.get("a") is a  # "b" is now the least recently used
    texts.put("c", c, 100)
    assert texts.get("b") is None and texts.get("a") is a and texts.get("c") is c
    assert texts.used <= 3_000
    texts.put(None, done(1), 1)  # no key: nothing kept
    assert len(texts.kept) == 2


def test_a_column_that_cannot_be_formatted_fails_the_export(tmp_path):
    """The error reaches the caller, and the chunks waiting for that column's text do not wait
    forever (run in a thread: a hang fails the test instead of stalling it)."""
    import threading

    columns = [Column("run_id", "int"), Column("slot", "int"), Column("x", "float")]
    names = [c.name for c in columns]
    bad = np.array(["not a number"] * 3, dtype=object)
    chunks = [Chunk(names, [], (1,), {"slot": np.arange(3), "x": bad}, {"x": "k"}),
              Chunk(names, [], (2,), {"slot": np.arange(3), "x": bad}, {"x": "k"})]
    errors = []

    def write():
        try:
            _write_csv(tmp_path / "t.csv", columns, chunks, Bar())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            errors.append(exc)

    worker = threading.Thread(target=write, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the export hung"
    assert len(errors) == 1 and "Could not convert 'not a number'" in str(errors[0]), errors
    assert (tmp_path / "t.csv").read_text() == "run_id,slot,x\n"  # not a line of the failed chunks


def test_profiles_read_by_the_helper_process_write_the_same_file(sweep, tmp_path, monkeypatch):
    """Profiles read by the helper process (any run's, threshold lowered; SQLite) or in this
    process (PostgreSQL, small runs): the same household_series file."""
    from p2pstore.store.results import profile_reader
    from p2pstore.reports import export_csv as export

    run_id = sweep.single
    columns = sweep.store.table_columns("household_series")
    export.write_csv(tmp_path / "here.csv", columns, sweep.store.stream_table("household_series", [run_id]), Bar())
    monkeypatch.setattr(profile_reader, "MIN_ROWS", 0)
    export.write_csv(tmp_path / "helper.csv", columns, sweep.store.stream_table("household_series", [run_id]), Bar())
    assert (tmp_path / "helper.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
