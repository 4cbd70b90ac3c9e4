"""Enqueueing: a scenario, or the cartesian product of sweeps over it, as queued runs.

Every scenario of a sweep is built and validated before anything is written; the runs are then
inserted in one transaction (:meth:`Store.create_runs`), however many there are.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import secrets
from collections.abc import Sequence
from typing import Any

from p2pstore.errors import InputError
from p2pstore.jobs.options import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY
from p2pstore.limits import check_name
from p2pstore.scenario import Scenario, from_mapping, parse_value
from p2pstore.simulate import check_memory, estimate_peak_bytes

#: Upper bound on runs one enqueue may create. Runs are queued in one transaction and each
#: scenario is built and validated first (about 0.7 ms and 5 KB per run measured on a 2-core
#: host), so this bound keeps one enqueue under about 70 s and 500 MB; the count is known from
#: the sweep's values alone, so a larger sweep is refused at once, before any scenario is built.
#: Queue larger studies as several enqueues into one ``--batch``.
MAX_RUNS = 100_000


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``"prosumers=3,5,7"`` -> ``("prosumers", ["3", "5", "7"])`` (values parsed per field).

    Ranges use ``:`` (``consumer_buy_tariff=6:7,5:6``), several mechanisms ``+``
    (``mechanisms=mmr+bill_sharing,conventional``).
    """
    key, sep, values = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key or not values.strip():
        raise InputError(f"--sweep expects KEY=V1,V2,... (got {text!r})")
    if key == "mechanism":
        key = "mechanisms"
    items = [v.strip() for v in values.split(",")]
    if any(not v for v in items):
        raise InputError(f"--sweep {key}: empty value in {values!r}")
    return key, [parse_value(key, v) for v in items]


def parse_seeds(text: str) -> range:
    """``"1..20"`` (inclusive) or ``"7"`` -> the seeds, as a ``range`` (its length is known
    without a value in memory)."""
    lo, sep, hi = text.partition("..")
    try:
        a = int(lo)
        b = int(hi) if sep else a
    except ValueError:
        raise InputError(f"--seeds expects A..B with integers, e.g. 1..20 (got {text!r})") from None
    if b < a:
        raise InputError(f"--seeds {text}: the range is empty (B < A)")
    return range(a, b + 1)


def expand(base, sweeps: Sequence[tuple[str, Sequence[Any]]] = (), seeds: Sequence[int] | None = None) -> list:
    """Scenarios of the cartesian product of ``sweeps`` (and ``seeds``) applied to ``base``.

    ``base``: a :class:`~p2pstore.scenario.Scenario`, or the plain values of one (not yet
    validated: ``--sweep profiles=a,b --households 3`` is complete only with the swept value).
    Order: the first sweep varies slowest, seeds fastest. Each scenario is validated (a bad
    value raises :class:`ScenarioError` naming the field). A sweep over ``prosumer_share`` keeps
    the community's ``households`` and sizes each run anew (:meth:`Scenario.replace`).
    """
    axes: list[tuple[str, Sequence[Any]]] = list(sweeps)
    if seeds is not None:
        axes.append(("seed", seeds))  # not listed: counted first
    keys = [k for k, _ in axes]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise InputError(f"swept twice: {', '.join(sorted(dupes))} (--seeds sweeps 'seed')")
    total = math.prod(len(values) for _, values in axes)
    if total > MAX_RUNS:
        raise InputError(f"the sweep makes {total:,} runs, more than the limit of {MAX_RUNS:,} runs per enqueue "
                         "(queue it in parts with one --batch name)")
    if isinstance(base, Scenario):  # a share-sized base is sized anew per combination
        return [base.replace(**dict(zip(keys, combo))) for combo in itertools.product(*(values for _, values in axes))]
    return [from_mapping({**dict(base), **dict(zip(keys, combo))})
            for combo in itertools.product(*(values for _, values in axes))]


def default_batch_name() -> str:
    return dt.datetime.now(dt.UTC).strftime("batch-%Y%m%dT%H%M%SZ-") + secrets.token_hex(2)


def parse_at(text: str | None) -> dt.datetime | None:
    """ISO-8601 start time; naive means UTC."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--at expects an ISO-8601 time like 2026-01-31T18:00:00+01:00 (got {text!r})") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def check_max_attempts(max_attempts: int) -> None:
    """:class:`InputError` unless a run may be attempted at least once."""
    if max_attempts < 1:
        raise InputError(f"--max-attempts must be >= 1, got {max_attempts}")


def check_batch(batch: str | None) -> None:
    """:class:`InputError` unless ``batch`` is None or a name of 1 to 200 printable characters."""
    if batch is not None:
        check_name("--batch", batch)


def check_runs(scenarios: Sequence, *, series: str = "full", batch: str | None = None,
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, memory_limit: int | None = None) -> None:
    """Everything about runs to queue that can be checked before the database is opened: the
    batch name, the attempts, and each scenario's memory against ``memory_limit`` bytes (default:
    this machine's; :func:`p2pstore.simulate.check_memory`); raises a one-line :class:`P2PStoreError`."""
    check_max_attempts(max_attempts)
    check_batch(batch)
    if scenarios:
        check_memory(max(scenarios, key=lambda s: estimate_peak_bytes(s, series)), series, memory_limit)


def enqueue(
    store,
    scenarios: Sequence,
    *,
    series: str = "full",
    batch: str | None = None,
    priority: int = DEFAULT_PRIORITY,
    not_before: dt.datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    memory_limit: int | None = None,
) -> list[int]:
    """Queue one run per scenario, in one transaction; return their ids in order (after
    :func:`check_runs`)."""
    from p2pstore.store import RunRequest  # SQLAlchemy: loaded once runs are written

    check_runs(scenarios, series=series, batch=batch, max_attempts=max_attempts, memory_limit=memory_limit)
    return store.create_runs([
        RunRequest(scenario=s, series=series, batch=batch, priority=priority,
                   not_before=not_before, max_attempts=max_attempts)
        for s in scenarios
    ])


def plan_sweep(base, *, sweeps: Sequence[str] = (), seeds: str | None = None, batch: str | None = None,
               series: str = "full", max_attempts: int = DEFAULT_MAX_ATTEMPTS, memory_limit: int | None = None) -> tuple[str, list]:
    """Parse ``--sweep``/``--seeds`` texts and expand them over ``base``: ``(batch, scenarios)``,
    every one checked (:func:`check_runs`), nothing opened or written."""
    parsed = [parse_sweep(s) for s in sweeps]
    scenarios = expand(base, parsed, parse_seeds(seeds) if seeds else None)
    batch = batch or default_batch_name()
    check_runs(scenarios, series=series, batch=batch, max_attempts=max_attempts, memory_limit=memory_limit)
    return batch, scenarios


def enqueue_sweep(store, base, *, sweeps: Sequence[str] = (), seeds: str | None = None, batch: str | None = None,
                  series: str = "full", max_attempts: int = DEFAULT_MAX_ATTEMPTS, **options: Any) -> tuple[str, list[int]]:
    """:func:`plan_sweep`, then :func:`enqueue` (``options``: priority, not_before); ``(batch, ids)``."""
    batch, scenarios = plan_sweep(base, sweeps=sweeps, seeds=seeds, batch=batch, series=series,
                                  max_attempts=max_attempts)
    return batch, enqueue(store, scenarios, batch=batch, series=series, max_attempts=max_attempts, **options)
