"""The print style every figure shares: journal sizes, embedded TrueType fonts, legends below the
axes, one colour per mechanism, and the options a user sets (title, size, mechanisms, labels).

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``: no GUI backend is touched and a notebook's own pyplot state is left alone. The style
is applied per figure with :func:`matplotlib.rc_context` (when the figure is built and when it
is saved), never globally: importing p2pstore changes no one's matplotlib settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from p2pstore import display, registry
from p2pstore.errors import P2PStoreError
from p2pstore.reports.numbers import format_value

#: Widths of a journal page (inches): one column, and the full text width (the widest allowed).
COLUMN_WIDTH = 3.5
PAGE_WIDTH = 7.2
#: Smallest figure side a user may ask for (inches).
MIN_SIDE = 1.5
MAX_HEIGHT = 9.5
#: Matplotlib settings of every figure. Type 42 (TrueType) fonts in PDF and PostScript, text as
#: ``<text>`` in SVG: journal checkers (IEEE PDF eXpress) refuse Type 3 fonts, and editors
#: change SVG text only when it is text. Sizes in points, for a figure printed at 100 %.
PRINT_RC = {
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
    "font.family": "DejaVu Sans", "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7, "legend.title_fontsize": 7,
    "figure.titlesize": 9, "lines.linewidth": 1.2, "axes.linewidth": 0.6, "grid.linewidth": 0.4,
    "legend.frameon": False, "savefig.dpi": 300,
}
#: Colours in registry order: the notebook's three keep matplotlib's default colour cycle (blue,
#: orange, green), so one mechanism has one colour in every figure.
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "tab:olive", "tab:cyan", "tab:gray")
#: Formats figures are written in, and their default resolution for raster output (dots per inch).
FIGURE_FORMATS = ("png", "svg", "pdf")
PRINT_DPI = 300
#: Marks the legend entry of a line that stands for several mechanisms with equal values.
SAME_MARK = "*"


@dataclasses.dataclass(frozen=True)
class FigureOptions:
    """What a user sets on every figure of a report.

    ``title``: draw the title above the axes (off for a paper, whose caption says it);
    ``width`` / ``height``: the figure's size in inches (None: the figure's own, 3.5 in or
    7.2 in wide); ``mechanisms``: draw only these (None: all); ``labels``: axis labels by KPI or
    parameter name (``{"prosumer_share": "Share of prosumers"}``) replacing the default ones.
    """

    title: bool = True
    width: float | None = None
    height: float | None = None
    mechanisms: tuple[str, ...] | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value, top in (("width", self.width, PAGE_WIDTH), ("height", self.height, MAX_HEIGHT)):
            if value is not None and not MIN_SIDE <= value <= top:
                raise P2PStoreError(f"figure {name} must be between {MIN_SIDE} and {top} inches, got {value:g}")

    def size(self, width: float, height: float) -> tuple[float, float]:
        """The figure's size: the user's, else ``(width, height)`` capped at the page width."""
        return (self.width or min(width, PAGE_WIDTH), self.height or min(height, MAX_HEIGHT))

    def label(self, key: str, default: str) -> str:
        """The axis label of ``key`` (a KPI or parameter name): the user's, else ``default``."""
        return self.labels.get(key, default)

    def keep(self, names: Iterable[str]) -> list[str]:
        """``names`` in report order, only the chosen mechanisms."""
        ordered = registry.ordered(names)
        return ordered if self.mechanisms is None else [m for m in ordered if m in self.mechanisms]


DEFAULT_OPTIONS = FigureOptions()


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    """``["prosumer_share=Share of prosumers"]`` -> ``{"prosumer_share": "Share of prosumers"}``."""
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise P2PStoreError(f"bad axis label {pair!r}: expected NAME=TEXT, e.g. prosumer_share=Share of prosumers")
        out[key.strip()] = text
    return out


@contextlib.contextmanager
def print_style() -> Iterator[None]:
    """:data:`PRINT_RC` for the figures built and saved inside."""
    with mpl.rc_context(PRINT_RC):
        yield


def new_figure(width: float = PAGE_WIDTH, height: float = 3.0) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout, on the Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure rendered as ``fmt`` (png, svg or pdf; ``dpi`` matters for png only), in the
    print style (TrueType fonts in PDF, text as text in SVG) and without dates (the same figure
    gives the same bytes)."""
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None} if fmt == "svg" else \
        {"Creator": None, "Producer": None, "CreationDate": None}
    with print_style():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure rendered as PNG."""
    return figure_bytes(fig, "png", dpi)


def color(mechanism: str) -> str:
    """The mechanism's colour (its place in the registry; unknown names by their letters)."""
    names = registry.names()
    index = names.index(mechanism) if mechanism in names else sum(map(ord, mechanism))
    return PALETTE[index % len(PALETTE)]


def title(ax, text: str, options: FigureOptions, community: str = "") -> None:
    """The axes title (and the community on a second line), unless titles are off."""
    if options.title:
        width = 0.9 * ax.figure.get_figwidth()
        ax.set_title(wrap_label(text, width) + (f"\n{wrap_label(community, width)}" if community else ""))


def same_values_note(groups: Sequence[Sequence[str]]) -> str:
    """``"* equal values: Bill sharing (Long 2017) = Bill sharing per slot"`` for every group of
    more than one mechanism drawn as one line ("" when none)."""
    parts = [" = ".join(display.mechanisms(g)) for g in groups if len(g) > 1]
    return f"{SAME_MARK} equal values: " + "; ".join(parts) if parts else ""


def group_label(group: Sequence[str]) -> str:
    """The legend entry of a line that stands for ``group``: its first mechanism's name, marked
    when others share it (:func:`same_values_note` names them)."""
    return display.mechanism(group[0]) + (SAME_MARK if len(group) > 1 else "")


def legend_below(fig: Figure, handles: list, labels: list[str], note: str = "", *, grow: bool = True) -> None:
    """One legend for the whole figure, below its axes, in as many columns as fit the figure's
    width; ``note`` (e.g. :func:`same_values_note`) is its first line. With ``grow`` the figure
    grows by the legend's height, so the axes keep the height the figure was made with."""
    if not handles and not note:
        return
    width_px = fig.get_figwidth() * fig.dpi
    chars = max(12, int(fig.get_figwidth() * 13))  # ~13 characters of 7-pt text per inch
    wrapped = [textwrap.fill(lab, chars) for lab in labels]
    note = textwrap.fill(note, int(chars * 1.3)) if note else None
    renderer = fig.canvas.get_renderer()
    for ncols in range(min(len(handles), 4) or 1, 0, -1):
        legend = fig.legend(handles, wrapped, loc="outside lower center", ncols=ncols, title=note,
                            alignment="left", columnspacing=1.2, handlelength=1.8)
        if ncols == 1 or legend.get_window_extent(renderer).width <= 0.96 * width_px:
            break
        legend.remove()
    if grow:
        extra = legend.get_window_extent(renderer).height / fig.dpi + 0.1
        fig.set_figheight(min(fig.get_figheight() + extra, MAX_HEIGHT))


def wrap_label(text: str, inches: float) -> str:
    """``text`` on as many lines as a label of ``inches`` needs (8- or 9-pt text)."""
    return textwrap.fill(text, max(12, int(inches * 11.5)))


def tick_text(value, limit: int = 16) -> str:
    """A tick label of at most ``limit`` characters (longer text ends in an ellipsis)."""
    text = format_value(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def styled(build):
    """Decorator: build the figure in :func:`print_style` (fonts and sizes are fixed when the
    text is made)."""
    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        with print_style():
            return build(*args, **kwargs)

    wrapper.is_figure = True  # the figure-layout test finds every figure kind by this mark
    return wrapper


def equal_groups(lines: Mapping[str, tuple]) -> list[tuple[list[str], tuple]]:
    """``{mechanism: (x, y, ...)}`` -> ``[(mechanisms, (x, y, ...))]``: mechanisms whose x and y
    are equal (to 1e-9 relative) share one entry, in the order given; lines without a finite y
    are left out."""
    out: list[tuple[list[str], tuple]] = []
    for mech, arrays in lines.items():
        x, y = np.asarray(arrays[0]), np.asarray(arrays[1], dtype=float)
        if not np.isfinite(y).any():
            continue
        for mechs, other in out:
            if len(other[0]) == len(x) and np.array_equal(np.asarray(other[0]), x) and np.allclose(
                    np.asarray(other[1], dtype=float), y, rtol=1e-9, atol=1e-12, equal_nan=True):
                mechs.append(mech)
                break
        else:
            out.append(([mech], arrays))
    return out
