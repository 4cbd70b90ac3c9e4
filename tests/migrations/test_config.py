"""The repository's alembic.ini and the installed package see the same migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from p2pstore.store.schema.migrate import alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[2]


def test_installed_script_location_is_a_package_resource():
    location = Path(alembic_config().get_main_option("script_location"))
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()


def test_alembic_cli_from_repo_root_sees_the_same_head(tmp_path):
    alembic = Path(sys.executable).with_name("alembic")
    out = subprocess.run(
        [str(alembic), "-c", str(ROOT / "alembic.ini"), "heads"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout
    assert out.split()[0] == head_revision()


def test_alembic_cli_upgrades_the_url_given_with_x_db(tmp_path, db_url):
    from sqlalchemy import inspect

    from p2pstore.store.engine import create_engine

    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([str(alembic), "-c", str(ROOT / "alembic.ini"), "-x", f"db={db_url}", "upgrade", "head"],
                   capture_output=True, text=True, cwd=tmp_path, check=True)
    engine = create_engine(db_url)
    try:
        assert "household_slots" in inspect(engine).get_table_names()
        assert "household_series" in inspect(engine).get_view_names()
    finally:
        engine.dispose()
