"""docker-compose.yml parses, has the deployment's parts, and only runs commands p2pstore has."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _rest(ctx) -> list[str]:
    import warnings

    with warnings.catch_warnings():  # click 8.2 deprecates protected_args (merged into args in 9)
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(getattr(ctx, "protected_args", [])) + list(ctx.args)


def _parse(args: list[str]) -> list[str]:
    """Parse ``p2pstore ARGS`` down to the leaf command (options checked, nothing invoked);
    return the command path."""
    from p2pstore.cli import cli

    path: list[str] = []
    ctx = cli.make_context("p2pstore", list(args))
    cmd, rest = cli, _rest(ctx)
    while isinstance(cmd, click.Group) and rest:
        name = rest[0]
        sub = cmd.get_command(ctx, name)
        assert sub is not None, f"p2pstore has no command {' '.join(path + [name])!r}"
        path.append(name)
        ctx = sub.make_context(name, rest[1:], parent=ctx)
        cmd, rest = sub, (_rest(ctx) if isinstance(sub, click.Group) else [])
    return path


def test_services(compose):
    services = compose["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert any(v.startswith("pgdata:") for v in db["volumes"]) and "pgdata" in compose["volumes"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    worker = services["worker"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "container_name" not in worker and "ports" not in worker  # scalable
    for name in ("migrate", "worker", "cli"):
        assert "P2PSTORE_DATABASE_URL" in services[name]["environment"]


def test_every_p2pstore_command_it_runs_exists(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["p2pstore"]' in dockerfile
    seen = []
    for name, service in compose["services"].items():
        if "build" not in service and not service.get("image", "").startswith("p2pstore"):
            continue
        command = service.get("command")
        if command == ["--help"]:
            continue
        seen.append(_parse(command))
    assert ["db", "upgrade"] in seen and ["worker"] in seen
    # and the commands the file's header tells users to run
    import re
    import shlex

    examples = re.findall(r"^#\s+docker compose run --rm cli (.+)$",
                          (ROOT / "docker-compose.yml").read_text(), re.M)
    assert examples
    for example in examples:
        _parse(shlex.split(example))
