"""The HTML page of a report: sections of tables and figures (embedded as base64 PNG, so the file
opens offline), and the figures as files in png, svg or pdf for a paper."""

from __future__ import annotations

import base64
import dataclasses
import html
from pathlib import Path
from typing import Any

import pandas as pd

from p2pstore.reports import figure_style as S
from p2pstore.reports.tables import text_columns

#: Resolution of the PNGs embedded in the HTML page (dots per inch; 7.2 in wide = 792 px).
HTML_DPI = 110


@dataclasses.dataclass
class Report:
    """An assembled report: title, HTML body sections and the figures.

    ``figures`` holds ``(slug, title, png)`` (the PNG embedded in the page) and, with
    ``figure_format``, the same figures rendered as png, svg or pdf at ``dpi`` in ``files``
    (``(slug, bytes)``) for :meth:`write`. ``bar`` advances by one per figure."""

    title: str
    subtitle: str = ""
    sections: list[str] = dataclasses.field(default_factory=list)
    figures: list[tuple[str, str, bytes]] = dataclasses.field(default_factory=list)
    figure_format: str | None = None
    dpi: int = S.PRINT_DPI
    files: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    bar: Any = None

    def heading(self, text: str, note: str = "") -> None:
        self.sections.append(f"<h2>{html.escape(text)}</h2>")
        if note:
            self.sections.append(f'<p class="note">{html.escape(note)}</p>')

    def table(self, df: pd.DataFrame, *, digits=2, caption: str = "") -> None:
        """``df`` as an HTML table; ``digits``: decimals of its float columns (see
        :func:`p2pstore.reports.tables.text_columns`)."""
        self.sections.append(_table_html(df, digits=digits, caption=caption))

    def paragraph(self, text: str) -> None:
        self.sections.append(f"<p>{html.escape(text)}</p>")

    def figure(self, slug: str, fig, *, title: str | None = None) -> None:
        png = S.png_bytes(fig, HTML_DPI)
        title = title or _figure_title(fig) or slug
        self.figures.append((slug, title, png))
        if self.figure_format is not None:
            self.files.append((slug, png if (self.figure_format, self.dpi) == ("png", HTML_DPI)
                               else S.figure_bytes(fig, self.figure_format, self.dpi)))
        if self.bar is not None:
            self.bar.update(1)
        data = base64.b64encode(png).decode("ascii")
        self.sections.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(title)}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )

    def to_html(self) -> str:
        body = "\n".join(self.sections)
        return _PAGE.format(title=html.escape(self.title), subtitle=html.escape(self.subtitle), body=body)

    def write(self, path: str | Path, figures_dir: str | Path | None = None) -> list[Path]:
        """Write the HTML file (and, with ``figures_dir``, every figure as
        ``NN-slug.<figure_format>``); return the paths, the HTML first."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        written = [path]
        if figures_dir is not None:
            figures_dir = Path(figures_dir)
            figures_dir.mkdir(parents=True, exist_ok=True)
            for k, (slug, data) in enumerate(self.files, start=1):
                target = figures_dir / f"{k:02d}-{slug}.{self.figure_format}"
                target.write_bytes(data)
                written.append(target)
        return written


def _figure_title(fig) -> str:
    """The figure's title (its suptitle, else its first axes' title) on one line."""
    found = fig.get_suptitle() or (fig.axes[0].get_title() if fig.axes else "")
    return found.replace("\n", " ")


def _table_html(df: pd.DataFrame, *, digits=2, caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    text = text_columns(df, {} if digits is None else digits)
    rows = []
    for cells_of_row in zip(*(text[str(c)] for c in df.columns)):
        cells = "".join(
            f'<td class="num">{html.escape(v)}</td>' if num else f"<td>{html.escape(v)}</td>"
            for v, num in zip(cells_of_row, numeric)
        )
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }}
h1 {{ margin-bottom: 0.1em; }}
.subtitle, .note {{ color: #555; }}
h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0 1em; }}
th, td {{ border: 1px solid #ddd; padding: 0.25em 0.6em; }}
th {{ background: #f3f3f3; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
tbody tr:nth-child(even) {{ background: #fafafa; }}
.scroll {{ overflow-x: auto; max-height: 36em; overflow-y: auto; }}
figure {{ margin: 1em 0; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
figcaption {{ color: #555; font-size: 0.9em; }}
details {{ margin: 0.5em 0; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 0 1.5em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="subtitle">{subtitle}</p>
{body}
<footer><p class="note">Generated by p2pstore. Figures are embedded; this file opens offline.</p></footer>
</body>
</html>
"""
