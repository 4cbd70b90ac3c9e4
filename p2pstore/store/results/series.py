"""The ``household_series`` formula, defined once: each derived column of the view as an
expression over a household's inputs per slot and its mechanism's per-slot factors.

Inputs (:data:`INPUTS`): ``load_kw`` and ``pv_kw`` (kW, ``household_slots``), ``buy`` and
``sell`` (currency per kWh: the slot's own tariff, else the household's flat one in
``households``). Factors (:data:`FACTORS`): the columns of ``mechanism_slots``, hours that turn
import/export kW into grid and P2P kWh and the coefficients of the cost's affine form in the
household's tariffs. With ``import = max(load - pv, 0)`` and ``export = max(pv - load, 0)`` (as
the settlement computes them, bit for bit):

- ``grid_import_kwh = import * grid_import_h``, ``grid_export_kwh = export * grid_export_h``,
  ``p2p_import_kwh = import * p2p_import_h``, ``p2p_export_kwh = export * p2p_export_h``;
- ``cost = import * (buy * import_tariff_h + import_price_h)
  - export * (sell * export_tariff_h + export_price_h)``.

From :data:`DERIVED` come the view's SQL (:func:`derived_select`; migration 0006 ships its text,
and a test checks that it equals what this module generates), the numpy path (:func:`derive`,
the same IEEE double operations in the same order, so the view's values bit for bit: the writer
checks a mechanism's declared cost form with it and the export stream builds derived rows with
it) and the statements that read a household's inputs (:func:`input_sql`, used in process and by
the helper of :mod:`p2pstore.store.results.profile_reader`).

To change the formula (a new input, a new flow): edit :data:`INPUTS` / :data:`DERIVED`, add a
migration whose view is :func:`view_sql` of the new definition, and the drift tests follow it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np


# -- expressions --------------------------------------------------------------------------------
class Expr:
    """A node of a formula; ``+``, ``-`` and ``*`` build bigger ones."""

    def __add__(self, other: Expr) -> Expr:
        return Binary("+", self, other)

    def __sub__(self, other: Expr) -> Expr:
        return Binary("-", self, other)

    def __mul__(self, other: Expr) -> Expr:
        return Binary("*", self, other)


@dataclasses.dataclass(frozen=True, eq=True)
class Input(Expr):
    """A household's input per slot (a key of :data:`INPUTS`)."""

    name: str


@dataclasses.dataclass(frozen=True, eq=True)
class Factor(Expr):
    """A mechanism's per-slot factor: a column of ``mechanism_slots``."""

    name: str


@dataclasses.dataclass(frozen=True, eq=True)
class PositivePart(Expr):
    """``max(a - b, 0)``: SQL ``CASE WHEN a > b THEN a - b ELSE 0 END`` (``a - b`` is never -0.0)."""

    a: Expr
    b: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Abs(Expr):
    """``|a|`` (numpy only: the cost form's check, never a view column)."""

    a: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Binary(Expr):
    op: str
    a: Expr
    b: Expr


@dataclasses.dataclass(frozen=True)
class SlotInput:
    """Where an input comes from: ``household_slots.<column>``, or when that is NULL (a slot
    without a tariff of its own) ``households.<fallback>``, which the helper binds as ``:<param>``."""

    column: str
    fallback: str | None = None
    param: str | None = None


# -- the definition ----------------------------------------------------------------------------
#: A household's inputs per slot.
INPUTS: dict[str, SlotInput] = {
    "load_kw": SlotInput("load_kw"),
    "pv_kw": SlotInput("pv_kw"),
    "buy": SlotInput("lambda_buy", "lambda_buy", "b"),
    "sell": SlotInput("lambda_sell", "lambda_sell", "s"),
}

LOAD, PV, BUY, SELL = (Input(name) for name in INPUTS)
#: Power drawn from and fed to the community, kW.
IMPORT = PositivePart(LOAD, PV)
EXPORT = PositivePart(PV, LOAD)

#: The view's derived columns, in the view's order (after ``load_kw`` and ``pv_kw``).
DERIVED: dict[str, Expr] = {
    "grid_import_kwh": IMPORT * Factor("grid_import_h"),
    "grid_export_kwh": EXPORT * Factor("grid_export_h"),
    "p2p_import_kwh": IMPORT * Factor("p2p_import_h"),
    "p2p_export_kwh": EXPORT * Factor("p2p_export_h"),
    "cost": IMPORT * (BUY * Factor("import_tariff_h") + Factor("import_price_h"))
    - EXPORT * (SELL * Factor("export_tariff_h") + Factor("export_price_h")),
}
#: The energy flows (every derived column but the cost).
FLOW_COLUMNS = tuple(c for c in DERIVED if c != "cost")

#: The size of the cost form's terms, ``import·(|buy·a_im| + |b_im|) + export·(|sell·a_ex| +
#: |b_ex|)``: the tolerance scale when a form is checked against a settlement's costs.
SCALE = (IMPORT * (Abs(BUY * Factor("import_tariff_h")) + Abs(Factor("import_price_h")))
         + EXPORT * (Abs(SELL * Factor("export_tariff_h")) + Abs(Factor("export_price_h"))))


def _walk(expr: Expr):
    yield expr
    for child in (getattr(expr, f.name) for f in dataclasses.fields(expr)):
        if isinstance(child, Expr):
            yield from _walk(child)


def _factors(*exprs: Expr) -> tuple[str, ...]:
    return tuple(dict.fromkeys(e.name for x in exprs for e in _walk(x) if isinstance(e, Factor)))


#: Per-slot factors of ``mechanism_slots``, in table order.
FACTORS = _factors(*DERIVED.values())
#: The factors of the flows; the rest are the cost's.
FLOW_FACTORS = _factors(*(DERIVED[c] for c in FLOW_COLUMNS))


# -- SQL -----------------------------------------------------------------------------------------
_PRECEDENCE = {"+": 1, "-": 1, "*": 2}


def _sql(expr: Expr, names: dict, zero: str) -> str:
    if isinstance(expr, (Input, Factor)):
        return names[expr]
    if isinstance(expr, PositivePart):
        a, b = _sql(expr.a, names, zero), _sql(expr.b, names, zero)
        return f"(CASE WHEN {a} > {b} THEN {a} - {b} ELSE {zero} END)"
    if isinstance(expr, Binary):
        return f"{_operand(expr, expr.a, names, zero, False)} {expr.op} {_operand(expr, expr.b, names, zero, True)}"
    raise TypeError(f"{type(expr).__name__} has no SQL form")


def _operand(parent: Binary, child: Expr, names: dict, zero: str, right: bool) -> str:
    text = _sql(child, names, zero)
    if isinstance(child, Binary):
        p, c = _PRECEDENCE[parent.op], _PRECEDENCE[child.op]
        if c < p or (right and c == p and parent.op == "-"):
            return f"({text})"
    return text


def _column_sql(expr: Expr, names: dict, zero: str) -> str:
    """A view column's expression; a long sum or difference breaks before its last operator."""
    text = _sql(expr, names, zero)
    if isinstance(expr, Binary) and expr.op in "+-" and len(text) > 120:
        head, tail = _operand(expr, expr.a, names, zero, False), _operand(expr, expr.b, names, zero, True)
        text = f"{head}\n         {expr.op} {tail}"
    return text


def _view_input(name: str) -> str:
    source = INPUTS[name]
    column = f"s.{source.column}"
    return column if source.fallback is None else f"COALESCE({column}, h.{source.fallback})"


def derived_select(dialect: str) -> str:
    """The view's derived rows (``household_slots`` x ``households`` x ``mechanism_slots``) in the
    columns of ``household_series``, for ``dialect`` (``sqlite`` | ``postgresql``)."""
    zero = "CAST(0 AS DOUBLE PRECISION)" if dialect == "postgresql" else "0.0"
    names = {**{Input(n): _view_input(n) for n in INPUTS}, **{Factor(f): f"m.{f}" for f in FACTORS}}
    columns = ["s.run_id AS run_id, m.mechanism AS mechanism, h.household AS household, s.slot AS slot",
               "s.load_kw AS load_kw, s.pv_kw AS pv_kw",
               *(f"{_column_sql(expr, names, zero)} AS {column}" for column, expr in DERIVED.items())]
    return ("SELECT " + ",\n       ".join(columns) + "\nFROM household_slots s\n"
            "JOIN households h ON h.run_id = s.run_id AND h.position = s.position\n"
            "JOIN mechanism_slots m ON m.run_id = s.run_id AND m.slot = s.slot")


#: The columns of ``household_series`` (the view and ``household_series_explicit``).
SERIES_COLUMNS = ("run_id", "mechanism", "household", "slot", "load_kw", "pv_kw", *DERIVED)


def view_sql(dialect: str) -> str:
    """``CREATE VIEW household_series``: the derived rows UNION ALL the explicit ones."""
    return (f"CREATE VIEW household_series AS\n{derived_select(dialect)}\n"
            f"UNION ALL\nSELECT {', '.join(SERIES_COLUMNS)} FROM household_series_explicit")


def input_sql(name: str) -> str:
    """SQL of input ``name`` over ``household_slots`` alone: its column, or ``COALESCE(column,
    :param)`` with the household's flat value bound as ``:param``."""
    source = INPUTS[name]
    return source.column if source.fallback is None else f"COALESCE({source.column}, :{source.param})"


#: The ``household_slots`` columns that override a household's flat value in some slots.
OVERRIDES = tuple(s.column for s in INPUTS.values() if s.fallback is not None)


# -- numpy ---------------------------------------------------------------------------------------
@functools.cache
def _plan(columns: tuple[str, ...], scale: bool) -> tuple[list, dict[str, int]]:
    """The steps computing ``columns`` (and :data:`SCALE`): each distinct sub-expression once,
    children first; and the step of each output."""
    steps: list = []
    index: dict[Expr, int] = {}

    def visit(expr: Expr) -> int:
        if expr not in index:
            children = [visit(getattr(expr, f.name)) for f in dataclasses.fields(expr)
                        if isinstance(getattr(expr, f.name), Expr)]
            steps.append((expr, children))
            index[expr] = len(steps) - 1
        return index[expr]

    outputs = {column: visit(DERIVED[column]) for column in columns}
    if scale:
        outputs["scale"] = visit(SCALE)
    return steps, outputs


_NUMPY = {"+": np.add, "-": np.subtract, "*": np.multiply}


def evaluate(values: dict[str, Any], factors: dict[str, np.ndarray], columns: tuple[str, ...] = tuple(DERIVED),
             *, scale: bool = False) -> dict[str, np.ndarray]:
    """``columns`` of :data:`DERIVED` (and ``scale``: :data:`SCALE`) from the inputs ``values``
    (``{input: array or float}``) and ``factors`` (``{factor: array}``), broadcast together."""
    steps, outputs = _plan(tuple(columns), scale)
    out: list = []
    for expr, children in steps:
        args = [out[k] for k in children]
        if isinstance(expr, Input):
            out.append(values[expr.name])
        elif isinstance(expr, Factor):
            out.append(factors[expr.name])
        elif isinstance(expr, PositivePart):
            out.append(np.maximum(np.subtract(*args), 0.0))  # the view's CASE; a - b is never -0.0
        elif isinstance(expr, Abs):
            out.append(np.abs(args[0]))
        else:
            out.append(_NUMPY[expr.op](*args))
    return {name: out[k] for name, k in outputs.items()}


def derive(load_kw: np.ndarray, pv_kw: np.ndarray, buy: np.ndarray, sell: np.ndarray,
           factors: dict[str, np.ndarray], *, flows: bool = True, scale: bool = True) -> dict[str, np.ndarray]:
    """The view's derived columns: the flows (unless ``flows`` is False) and ``cost``, as arrays of
    the broadcast shape of the arguments (``[H]`` for one household, ``[N, H]`` for a run); also
    ``scale`` (:data:`SCALE`) unless ``scale`` is False."""
    columns = tuple(DERIVED) if flows else ("cost",)
    return evaluate({"load_kw": load_kw, "pv_kw": pv_kw, "buy": buy, "sell": sell}, factors, columns, scale=scale)
