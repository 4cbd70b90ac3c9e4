"""Every SQL example in docs/schema.md runs on both backends against stored runs.

The examples are read from the ```sql fenced blocks of the document (one statement per block;
several ``;``-separated statements are run one by one) and executed through the same read-only
path as ``p2pstore query``, so the documentation cannot drift from the schema. A block meant for
one backend only says so in its info string (```sql postgresql) or in a leading comment
(``-- PostgreSQL only``). Placeholders ``:run_id`` / ``<run_id>`` / ``{run_id}`` (and ``batch``)
are filled with a stored run and batch. A block whose introducing sentence says it prints "no rows"
(an invariant check) must return none.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from p2pstore import Scenario, Store
from p2pstore.jobs.build_profiles import import_profiles
from p2pstore.simulate import simulate
from p2pstore.store.querygate.query import run_readonly_query

SCHEMA_MD = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
FENCE = re.compile(r"^```[ \t]*sql\b([^\n]*)\n(.*?)^```", re.S | re.M | re.I)
BACKEND_WORDS = {"postgresql": ("postgresql", "postgres"), "sqlite": ("sqlite",)}


def sql_examples() -> list[tuple[str, str, str, bool]]:
    """``(id, info, statement, expects_no_rows)`` for every statement of every ```sql block in
    docs/schema.md. A block whose introducing prose says it prints "no rows" must return none."""
    if not SCHEMA_MD.exists():
        return []
    text = SCHEMA_MD.read_text(encoding="utf-8")
    examples = []
    previous_end = 0
    for k, match in enumerate(FENCE.finditer(text), start=1):
        info, body = match.group(1).strip().lower(), match.group(2)
        prose = text[previous_end: match.start()].lower()
        previous_end = match.end()
        no_rows = bool(re.search(r"\bno rows\b", prose))
        line = text[: match.start()].count("\n") + 1
        statements = [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if _code(s)]
        for j, statement in enumerate(statements, start=1):
            name = f"line{line}" + (f"-{j}" if len(statements) > 1 else "")
            examples.append((name, info, statement, no_rows))
    return examples


def _code(statement: str) -> str:
    return "\n".join(ln for ln in statement.splitlines() if ln.strip() and not ln.strip().startswith("--")).strip()


def only_for(info: str, statement: str) -> str | None:
    """The backend a block is restricted to, or None."""
    comments = " ".join(ln.strip().lower() for ln in statement.splitlines() if ln.strip().startswith("--"))
    for backend, words in BACKEND_WORDS.items():
        if any(w in info.split() for w in words):
            return backend
        if any(re.search(rf"\b{w}\b[^.]*\bonly\b", comments) for w in words):
            return backend
    return None


def fill(statement: str, run_id: int, batch: str) -> str:
    for name, value in (("run_id", str(run_id)), ("batch", f"'{batch}'")):
        statement = re.sub(rf"(?<![:\w]):{name}\b|<{name}>|\{{{name}\}}", value, statement, flags=re.I)
    return statement


EXAMPLES = sql_examples()


def test_schema_md_has_sql_examples():
    assert SCHEMA_MD.exists(), "docs/schema.md is missing"
    assert len(EXAMPLES) >= 3, "docs/schema.md should give example queries in ```sql blocks"


EXAMPLE_SET = Path(__file__).resolve().parents[1] / "examples" / "profiles"


@pytest.fixture
def docs_store(db_url):
    """Two finished runs of batch "docs" (2 and 4 prosumers), full series; and the example profile
    set as 'demo' with a run on 4 of its households."""
    from p2pstore.jobs.execute import run_scenario

    store = Store(db_url)
    ids = []
    for seed, prosumers in ((3, 2), (4, 4)):
        scenario = Scenario(seed=seed, consumers=2, prosumers=prosumers, days=2)
        run_id = store.create_run(scenario, batch="docs")
        assert store.write_results(run_id, simulate(scenario), "full")
        ids.append(run_id)
    import_profiles(store, "demo", **{k: EXAMPLE_SET / f"{k}.csv" for k in ("load", "pv", "tariffs", "p2p_allowed")})
    run_scenario(Scenario(profiles="demo", households=4, days=1), store, series="community")
    try:
        yield store, ids
    finally:
        store.engine.dispose()


def test_every_schema_example_runs(docs_store, backend):
    store, ids = docs_store
    ran, with_rows, failures = 0, 0, []
    for name, info, statement, no_rows in EXAMPLES:
        target = only_for(info, statement)
        if target is not None and target != backend:
            continue
        try:
            columns, rows = run_readonly_query(store.engine, fill(statement, ids[0], "docs"))
        except Exception as exc:  # noqa: BLE001 - collect every broken example, then fail once
            failures.append(f"{name}: {str(exc).splitlines()[0]}\n{statement}")
            continue
        assert columns, name
        if no_rows:
            if rows:
                failures.append(f"{name}: the docs say it prints no rows, it printed {len(rows)}: {rows[:3]}\n{statement}")
            continue
        ran += 1
        with_rows += bool(rows)
    assert not failures, "docs/schema.md examples that fail on " + backend + ":\n\n" + "\n\n".join(failures)
    assert ran >= 1
    # examples are meant to show data: most of them return rows on two stored runs
    assert with_rows >= ran / 2, f"only {with_rows} of {ran} examples returned rows"
