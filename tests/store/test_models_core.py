"""The models are Core tables declared by typed classes: a class stands for its table in
statements, its attributes are the table's columns, ``Mapped[... | None]`` makes a column
nullable (the ORM's rule), and the ORM itself is never imported."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from p2pstore.store.schema import Run, ScenarioRow


def test_a_model_stands_for_its_table():
    table = Run.__table__
    assert Run.id is table.c.id and Run.scenario_id is table.c.scenario_id
    assert str(sa.select(Run).where(Run.id == 1)) == str(sa.select(table).where(table.c.id == 1))
    joined = sa.select(ScenarioRow.spec_json).join(Run, Run.scenario_id == ScenarioRow.id)
    assert "JOIN runs ON runs.scenario_id = scenarios.id" in str(joined)
    assert str(sa.insert(Run)).startswith("INSERT INTO runs ")


def test_nullability_follows_the_annotations():
    c = Run.__table__.c
    assert not c.status.nullable and not c.scenario_id.nullable and not c.id.nullable
    assert c.batch.nullable and c.error.nullable and c.finished_at.nullable


def test_models_import_no_orm():
    code = "import sys, p2pstore.store.schema; print('sqlalchemy.orm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
