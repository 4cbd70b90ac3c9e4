"""Read one input of an import (a CSV or Parquet file, or a pandas DataFrame) as a :class:`Table`.

A :class:`Table` is the DataFrame and how messages name its rows: CSV tables count lines (the
header is line 1), Parquet files and DataFrames count rows. :class:`ReadOptions` carries what a
spreadsheet export needs (field separator, decimal mark, timestamp format) and the time zone.

Before a large file is parsed, its memory need is estimated (:func:`check_import_memory`) and
the import is refused, with the need named, when this machine does not have it.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path
from typing import Any

from p2pstore.errors import InputError
from p2pstore.limits import available_memory_bytes, format_bytes

#: Bytes of memory an import needs per cell of a CSV file (text parsed into a DataFrame, the
#: float64 block, its transposed copy and the stored arrays): 524 MB were measured for
#: 400 columns x 35,040 rows (37 bytes per cell), rounded up.
CSV_BYTES_PER_CELL = 40
#: The same for a Parquet file (no text parsing: Arrow columns, the DataFrame, the copies).
PARQUET_BYTES_PER_CELL = 32
#: Files smaller than this are read without an estimate (a few MB cannot exhaust memory).
ESTIMATE_ABOVE_BYTES = 8 * 2**20


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How to read the files of one import.

    ``sep``: CSV field separator (default ``,``); ``decimal``: decimal mark of CSV numbers
    (default ``.``; ``,`` for German exports); ``date_format``: strftime format of the
    timestamps (default ISO 8601); ``timezone``: IANA zone of naive timestamps (default UTC).
    """

    sep: str = ","
    decimal: str = "."
    date_format: str | None = None
    timezone: str | None = None

    def check(self) -> None:
        """:class:`InputError` for options that cannot work together."""
        if len(self.sep) != 1 or self.sep in "\r\n\"":
            raise InputError(f"--sep must be one character (not a quote or line break), got {self.sep!r}")
        if len(self.decimal) != 1 or not self.decimal.strip() or self.decimal.isalnum():
            raise InputError(f"--decimal must be one punctuation character, got {self.decimal!r}")
        if self.decimal == self.sep:
            raise InputError(f"--decimal {self.decimal!r} is also the field separator: give --sep too "
                             "(German exports: --sep ';' --decimal ',')")
        if self.date_format is not None and "%" not in self.date_format:
            raise InputError(f"--date-format {self.date_format!r} has no strftime field (e.g. '%d.%m.%Y %H:%M')")


@dataclasses.dataclass
class Table:
    """A DataFrame read from ``name``; ``csv`` tables count lines (header = line 1), others rows."""

    name: str
    df: Any
    csv: bool = False

    def at(self, row: int, column: str | None = None) -> str:
        """``"load.csv: line 7, column 'H3'"`` for 0-based data row ``row``."""
        where = f"line {row + 2}" if self.csv else f"row {row + 1}"
        return f"{self.name}: {where}" + (f", column {column!r}" if column is not None else "")

    def fail(self, problem: str, row: int | None = None, column: str | None = None):
        if row is None:
            where = self.name + (f", column {column!r}" if column is not None else "")
        else:
            where = self.at(row, column)
        raise InputError(f"{where}: {problem}")

    def require(self, *columns: str) -> None:
        missing = [c for c in columns if c not in self.df.columns]
        if missing:
            shown = ", ".join(map(str, self.df.columns[:8])) + (", ..." if len(self.df.columns) > 8 else "")
            hint = ""
            if len(self.df.columns) == 1 and self.csv:
                found = next((s for s in ";\t|" if s in str(self.df.columns[0])), None)
                if found:
                    hint = f": the file looks {_SEPARATOR_NAMES[found]}-separated, give --sep {found!r}"
            self.fail(f"no {missing[0]!r} column (columns: {shown}){hint}")


_SEPARATOR_NAMES = {";": "semicolon", "\t": "tab", "|": "pipe"}


def read_table(source, role: str, options: ReadOptions = ReadOptions(), *,
               text_columns: tuple[str, ...] = ()) -> Table:
    """Read ``source`` (a ``.csv`` / ``.parquet`` path, or a DataFrame) for ``role`` (used in
    messages for DataFrames). ``text_columns`` are read as text (household names keep leading
    zeros). Unreadable, empty and too large inputs raise :class:`InputError`."""
    import pandas as pd  # pandas only when a file is read: `p2pstore run` never imports it

    if isinstance(source, pd.DataFrame):
        df = source.copy(deep=False)  # column renames below must not touch the caller's frame
        if "timestamp" not in df.columns and isinstance(df.index, pd.DatetimeIndex):
            df = df.rename_axis("timestamp").reset_index()
        table = Table(f"{role} DataFrame", df)
    else:
        table = Table(str(source), _read_file(Path(source), str(source), options, text_columns),
                      csv=Path(source).suffix.lower() == ".csv")
    if len(table.df) == 0:
        table.fail("empty file (no data rows)" if not table.name.endswith("DataFrame") else "no rows")
    table.df.columns = [str(c) for c in table.df.columns]
    return table


def _read_file(path: Path, name: str, options: ReadOptions, text_columns: tuple[str, ...]):
    import pandas as pd  # see read_table

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"{name}: unsupported file type {path.suffix or '(none)'!r} (use .csv or .parquet)")
    if not path.is_file():
        raise InputError(f"{name}: cannot read: {'is a directory' if path.is_dir() else 'no such file'}")
    try:
        if suffix == ".csv":
            header = _check_header(path, options.sep)
            check_import_memory(name, len(header), _estimate_csv_rows(path), CSV_BYTES_PER_CELL, path)
            dtype = dict.fromkeys(text_columns, str)
            return pd.read_csv(path, sep=options.sep, decimal=options.decimal, keep_default_na=False,
                               na_values=[""], dtype=dtype or None)
        _check_parquet_memory(path, name)
        return pd.read_parquet(path)
    except InputError as exc:
        raise InputError(exc.args[0] if str(exc).startswith(name) else f"{name}: {exc}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: empty file") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: cannot read: not a UTF-8 text file") from None
    except ImportError as exc:
        raise InputError(f"{name}: reading Parquet needs pyarrow (pip install 'p2pstore[parquet]'): {exc}") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise InputError(f"{name}: cannot read as {kind}: {first}") from None


def _check_header(path: Path, sep: str) -> list[str]:
    """The CSV header; duplicate column names are refused (pandas would rename them silently)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(f"line 1: column {name!r} appears twice")
        seen.add(name)
    return header


def _estimate_csv_rows(path: Path) -> int:
    """Data rows of a CSV file, estimated from its size and the length of its first lines."""
    size = path.stat().st_size
    if size < ESTIMATE_ABOVE_BYTES:
        return 0
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    lines = head.count(b"\n")
    return size * max(lines - 1, 1) // max(len(head), 1) if lines > 1 else 1


def _check_parquet_memory(path: Path, name: str) -> None:
    if path.stat().st_size < ESTIMATE_ABOVE_BYTES:
        return
    import pyarrow.parquet as pq  # only for a large Parquet file

    meta = pq.ParquetFile(path).metadata
    check_import_memory(name, meta.num_columns, meta.num_rows, PARQUET_BYTES_PER_CELL, path)


def _smaller(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _address_space_left() -> int | None:
    """Bytes this process may still map under ``ulimit -v`` (RLIMIT_AS), or None without a limit."""
    try:
        import resource  # POSIX only: no address-space limit elsewhere

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", encoding="ascii") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
        return max(0, limit - mapped)
    except (ImportError, OSError, ValueError):
        return None


def check_import_memory(name: str, columns: int, rows: int, bytes_per_cell: int, path: Path | None = None,
                        available: int | None = None) -> None:
    """:class:`InputError` naming the need when reading ``rows`` x ``columns`` cells would take
    more memory than this machine has available (``available`` bytes; default: measured now,
    see :func:`p2pstore.limits.available_memory_bytes`, and what ``ulimit -v`` leaves;
    ``P2PSTORE_IMPORT_MEMORY`` bytes caps it)."""
    needed = rows * columns * bytes_per_cell
    if needed == 0:
        return
    if available is None:
        available = _smaller(available_memory_bytes(), _address_space_left())
        cap = os.environ.get("P2PSTORE_IMPORT_MEMORY")
        if cap:
            try:
                available = min(available or int(cap), int(cap))
            except ValueError:
                raise InputError(f"P2PSTORE_IMPORT_MEMORY must be a number of bytes, got {cap!r}") from None
    if available is not None and needed > available:
        raise InputError(f"{name}: importing it needs about {format_bytes(needed)} of memory ({columns:,} columns x "
                         f"about {rows:,} rows); this machine has {format_bytes(available)} available: "
                         "import fewer households per set")
